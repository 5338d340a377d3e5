// Preregistered memory of a v2 container (VFIO_IOMMU_SPAPR_REGISTER_MEMORY; the kernel's
// mm_iommu_* regions as vfio-uapi.md §7.3 gives them, one list per container): pinned and charged
// at REGISTER, looked up by user address when TCEs are built and cleared, and kept while any TCE
// points into it (`mapped`, UNREGISTER → EBUSY).

import type { ProcessMm } from "../mm.js";
import { EBUSY, EFAULT, EINVAL, ENOENT, ENOMEM } from "../uapi.js";

/** ppc64 kernel page size. */
export const SPAPR_PAGE = 0x10000;

export interface Prereg {
  vaddr: number;
  size: number;
  /** TCEs pointing into it (mem->mapped). */
  mapped: number;
  /** Pages charged to locked_vm (model pages of 4 KiB). */
  pages: number;
}

export class PreregList {
  readonly list: Prereg[] = [];

  constructor(private readonly mm: ProcessMm) {}

  /** `tce_iommu_register_pages` / `mm_iommu_new`. */
  register(vaddr: number, size: number): number {
    if (vaddr % SPAPR_PAGE || size % SPAPR_PAGE || vaddr + size > 2 ** 64) return -EINVAL;
    if (this.list.some((p) => p.vaddr === vaddr && p.size === size)) return -EBUSY;
    if (this.list.some((p) => p.vaddr < vaddr + size && vaddr < p.vaddr + p.size)) return -EINVAL;
    const pages = size / 0x1000;
    if (this.mm.chargeLocked && this.mm.lockedVm + pages > this.mm.limitPages) return -ENOMEM;
    if (this.mm.backedPages(vaddr, pages) < pages) return -EFAULT;
    this.mm.lockedVm += pages;
    this.list.push({ vaddr, size, mapped: 0, pages });
    return 0;
  }

  /** `tce_iommu_unregister_pages` / `mm_iommu_put`. */
  unregister(vaddr: number, size: number): number {
    if (vaddr % SPAPR_PAGE || size % SPAPR_PAGE) return -EINVAL;
    const i = this.list.findIndex((p) => p.vaddr === vaddr && p.size === size);
    if (i < 0) return -ENOENT;
    const p = this.list[i];
    if (p.mapped > 0) return -EBUSY;
    this.mm.lockedVm -= p.pages;
    this.list.splice(i, 1);
    return 0;
  }

  /** `mm_iommu_lookup`: the region holding all of [ua, ua + len), or null. */
  lookup(ua: number, len: number): Prereg | null {
    for (const p of this.list) if (ua >= p.vaddr && ua + len <= p.vaddr + p.size) return p;
    return null;
  }

  releaseAll(): void {
    for (const p of this.list) this.mm.lockedVm -= p.pages;
    this.list.length = 0;
  }
}
