// VFIO sPAPR TCE backend (drivers/vfio/vfio_iommu_spapr_tce.c) on the POWER model of src/iommu/power,
// as vfio-uapi.md §7 gives it: v2 containers on PowerNV (v1 refused at attach: the platform has DDW
// ownership ops). Each group is a PE (./pe.ts); attaching takes the PE from the host and programs
// the container's windows into it. A window is one TCE table (./window.ts) shared by every PE of the
// container; MAP/UNMAP exchange its entries one at a time as tce_iommu_build_v2 / tce_iommu_clear do
// (with the kernel's "+1 instead of an errno" for a misaligned IOVA). Memory is preregistered
// (./prereg.ts); EEH_PE_OP drives the EEH state of each group's PE (./eeh.ts). Host pages are 64 KiB
// (ppc64); locked memory is charged to the process mm.

import type { IoctlArg } from "../arg.js";
import type { ProcessMm } from "../mm.js";
import type { BackendGroup } from "../type1/type1.js";
import { makeTce } from "../../iommu/power/tce.js";
import { eehPeOp } from "./eeh.js";
import { PE_TCE32_SIZE, spaprPeOf } from "./pe.js";
import { PreregList, SPAPR_PAGE } from "./prereg.js";
import { createSpaprWindow, type SpaprWindow } from "./window.js";
import {
  EBUSY, EINVAL, ENODEV, ENOSPC, ENOTTY, ENXIO, EPERM, VFIO_CHECK_EXTENSION, VFIO_EEH, VFIO_EEH_PE_OP,
  VFIO_IOMMU_DISABLE, VFIO_IOMMU_ENABLE, VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_SPAPR_REGISTER_MEMORY,
  VFIO_IOMMU_SPAPR_TCE_CREATE, VFIO_IOMMU_SPAPR_TCE_REMOVE, VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, VFIO_IOMMU_UNMAP_DMA,
  VFIO_SPAPR_TCE_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU,
} from "../uapi.js";

export { SPAPR_PAGE };
/** PowerNV platform facts (vfio-uapi.md §10.4: platform values, unverified). */
export const TCE32_START = 0;
export const TCE32_SIZE = PE_TCE32_SIZE;
export const DDW_START = 2 ** 59;
export const DDW_PGSIZES = 0x1000 + 0x10000 + 0x1000000;
export const DDW_MAX_WINDOWS = 1;
export const DDW_MAX_LEVELS = 5;

export function spaprCheckExtensionNull(arg: number): number {
  switch (arg) {
    case VFIO_SPAPR_TCE_IOMMU:
    case VFIO_SPAPR_TCE_v2_IOMMU:
      return 1;
    case VFIO_EEH:
      return 1; // EEH enabled on PowerNV
    default:
      return 0;
  }
}

export class Spapr {
  /** tce_iommu_group list: list_add, so newest first (EEH_PE_OP walks it in this order). */
  readonly groups: BackendGroup[] = [];
  enabled = false;
  private defWindowPending = false;
  /** container->tables[IOMMU_TABLE_GROUP_MAX_TABLES]. */
  readonly windows: [SpaprWindow | null, SpaprWindow | null] = [null, null];
  readonly prereg: PreregList;
  private v1Accounted = 0;

  static open(arg: number, mm: ProcessMm): Spapr | number {
    if (arg !== VFIO_SPAPR_TCE_IOMMU && arg !== VFIO_SPAPR_TCE_v2_IOMMU) return -EINVAL;
    return new Spapr(arg === VFIO_SPAPR_TCE_v2_IOMMU, mm);
  }

  private constructor(readonly v2: boolean, readonly mm: ProcessMm) {
    this.prereg = new PreregList(mm);
  }

  checkExtension(arg: number): number {
    return spaprCheckExtensionNull(arg);
  }

  /** tce_iommu_attach_group on PowerNV (DDW ownership ops present) + tce_iommu_take_ownership_ddw. */
  attachGroup(g: BackendGroup): number {
    if (this.groups.includes(g)) return -EBUSY;
    if (!this.v2) return -EPERM;
    const pe = spaprPeOf(g);
    pe.takeOwnership();
    for (const num of [0, 1] as const) {
      const w = this.windows[num];
      if (w) pe.setWindow(num, w.hw);
    }
    if (this.groups.length === 0 && !this.windows[0]) this.defWindowPending = true;
    this.groups.unshift(g);
    return 0;
  }

  /**
   * tce_iommu_detach_group as 6.4+ does it (tce_iommu_release_ownership): every window's entries are
   * cleared, for the groups that stay too, the windows are unset from this PE and the host gets it back.
   */
  detachGroup(g: BackendGroup): void {
    const i = this.groups.indexOf(g);
    if (i < 0) return;
    this.groups.splice(i, 1);
    const pe = spaprPeOf(g);
    for (const num of [0, 1] as const) {
      const w = this.windows[num];
      if (!w) continue;
      this.clear(w, 0, w.itSize);
      pe.unsetWindow(num);
    }
    pe.releaseOwnership();
  }

  /** tce_iommu_release: groups detached, tables freed (un-charged), preregistered memory released. */
  release(): void {
    while (this.groups.length) this.detachGroup(this.groups[0]);
    for (const num of [0, 1] as const) this.removeWindow(num);
    this.prereg.releaseAll();
    this.mm.lockedVm -= this.v1Accounted;
    this.v1Accounted = 0;
  }

  // ------------------------------------------------------------------ windows

  /** tce_iommu_create_window: a table in the first free slot, set into every group's PE; its start or -errno. */
  private createWindow(pageShift: number, windowSize: number, levels: number): number {
    const num = this.windows[0] === null ? 0 : this.windows[1] === null ? 1 : -1;
    if (num === -1) return -ENOSPC;
    if (pageShift > 52 || !((DDW_PGSIZES / 2 ** pageShift) % 2 >= 1)) return -EINVAL; // table_group->pgsizes
    const w = createSpaprWindow(this.mm, num, pageShift, windowSize, levels);
    if (typeof w === "number") return w;
    for (const g of this.groups) spaprPeOf(g).setWindow(num, w.hw);
    this.windows[num] = w;
    return w.start;
  }

  /** tce_iommu_remove_window's work once the table is found: cleared, unset from every PE, freed. */
  private removeWindow(num: 0 | 1): void {
    const w = this.windows[num];
    if (!w) return;
    this.clear(w, 0, w.itSize);
    for (const g of this.groups) spaprPeOf(g).unsetWindow(num);
    w.free(this.mm);
    this.windows[num] = null;
  }

  /** tce_iommu_create_default_window: created by the first MAP, UNMAP or TCE_CREATE (4 KiB TCEs, tce32_size, 1 level). */
  private createPending(): number {
    if (!this.defWindowPending) return 0;
    if (this.groups.length === 0) return -ENODEV;
    const r = this.createWindow(12, TCE32_SIZE, 1);
    if (r < 0) return r;
    this.defWindowPending = false;
    return 0;
  }

  /** tce_iommu_find_table: slot whose [it_offset, it_offset + it_size) holds iova >> page_shift, or -1. */
  private findNum(iova: number): number {
    if (this.windows[0]?.contains(iova)) return 0;
    if (this.windows[1]?.contains(iova)) return 1;
    return -1;
  }

  // ------------------------------------------------------------------ TCEs

  /**
   * tce_iommu_build_v2: per IOMMU page, the preregistered region holding it (else EINVAL), the
   * host-page containment check (EPERM), then the TCE exchanged in; a TCE it replaces lets go of its
   * region. On error the entries this call wrote are cleared (not restored).
   */
  private buildV2(w: SpaprWindow, entry: number, ua: number, pages: number, perm: number): number {
    const ps = w.pageSize;
    for (let i = 0; i < pages; i++) {
      const va = ua + i * ps;
      w.ua.ensure(entry + i); // IOMMU_TABLE_USERSPACE_ENTRY allocates the view's level first
      const region = this.prereg.lookup(va, ps); // tce_iommu_prereg_ua_to_hpa
      // mm_iommu_ua_to_hpa refuses an IOMMU page larger than the region's pages (EINVAL) before
      // tce_page_is_contained is reached (spec §7.3 says EPERM; the kernel wins)
      const ret = !region ? -EINVAL : ps > SPAPR_PAGE ? -EINVAL : 0;
      if (ret || !region) {
        this.clear(w, entry, i);
        return ret;
      }
      region.mapped++; // mm_iommu_mapped_inc
      const old = w.hw.table.set(entry + i, makeTce(this.mm.phys(va), perm)); // pnv_tce_xchg (W implies R)
      if (old % 4 !== 0) this.unuseV2(w, entry + i);
      w.ua.set(entry + i, va);
    }
    return 0;
  }

  /** tce_iommu_unuse_page_v2: the region entry idx's user address lies in drops one mapping. */
  private unuseV2(w: SpaprWindow, idx: number): void {
    const region = this.prereg.lookup(w.ua.getValue(idx), w.pageSize);
    if (region) region.mapped--;
    w.ua.set(idx, 0);
  }

  /**
   * tce_iommu_clear: entries [entry, entry + pages) exchanged with 0 (never allocating); in a
   * multi-level table a missing level of the userspace view skips the rest of that level.
   */
  private clear(w: SpaprWindow, entry: number, pages: number): void {
    const last = entry + pages;
    for (let e = entry; e < last; e++) {
      if (w.levelSize && !w.ua.has(e)) {
        e += w.levelSize - 1 - (e % w.levelSize);
        continue;
      }
      if (w.hw.table.set(e, 0) % 4 !== 0) this.unuseV2(w, e);
    }
  }

  // ------------------------------------------------------------------ ioctl

  ioctl(nr: number, a: IoctlArg): number {
    if (nr === VFIO_CHECK_EXTENSION) return this.checkExtension(a.value);
    switch (nr) {
      case VFIO_IOMMU_GET_INFO: {
        if (this.groups.length === 0) return -ENXIO;
        const argsz = a.u32(0);
        if (argsz < 16) return -EINVAL;
        a.setU32(8, TCE32_START);
        a.setU32(12, TCE32_SIZE >>> 0);
        a.setU32(4, this.v2 ? 1 : 0);
        if (argsz >= 32) {
          a.setU64(16, this.v2 ? DDW_PGSIZES : 0);
          a.setU32(24, this.v2 ? DDW_MAX_WINDOWS : 0);
          a.setU32(28, this.v2 ? DDW_MAX_LEVELS : 0);
        }
        return 0;
      }
      case VFIO_IOMMU_ENABLE:
      case VFIO_IOMMU_DISABLE:
        return this.v2 ? -ENOTTY : nr === VFIO_IOMMU_DISABLE ? 0 : -EPERM;
      case VFIO_IOMMU_MAP_DMA:
        return this.map(a);
      case VFIO_IOMMU_UNMAP_DMA:
        return this.unmap(a);
      case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
        return this.v2 ? this.register(a) : -ENOTTY;
      case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
        return this.v2 ? this.unregister(a) : -ENOTTY;
      case VFIO_IOMMU_SPAPR_TCE_CREATE:
        return this.v2 ? this.tceCreate(a) : -ENOTTY;
      case VFIO_IOMMU_SPAPR_TCE_REMOVE:
        return this.v2 ? this.tceRemove(a) : -ENOTTY;
      case VFIO_EEH_PE_OP:
        return this.eeh(a);
      default:
        return -ENOTTY;
    }
  }

  private map(a: IoctlArg): number {
    if (!this.enabled) return -EPERM;
    if (a.u32(0) < 32) return -EINVAL;
    const flags = a.u32(4);
    if (flags & ~3) return -EINVAL;
    const pend = this.createPending();
    if (pend) return pend;
    const vaddr = a.u64(8), iova = a.u64(16), size = a.u64(24);
    const num = this.findNum(iova);
    if (num < 0) return -ENXIO;
    const w = this.windows[num]!;
    const ps = w.pageSize;
    if (size % ps || vaddr % ps) return -EINVAL;
    if (!(flags & 3)) return -EINVAL;
    if (iova % ps) return 1; // iommu_tce_put_param_check yields a boolean
    return this.buildV2(w, Math.floor(iova / ps) - w.start / ps, vaddr, size / ps, flags & 3);
  }

  private unmap(a: IoctlArg): number {
    if (!this.enabled) return -EPERM;
    if (a.u32(0) < 24) return -EINVAL;
    if (a.u32(4)) return -EINVAL;
    const pend = this.createPending();
    if (pend) return pend;
    const iova = a.u64(8), size = a.u64(16);
    const num = this.findNum(iova);
    if (num < 0) return -ENXIO;
    const w = this.windows[num]!;
    const ps = w.pageSize;
    if (size % ps) return -EINVAL;
    if (iova % ps) return 1; // iommu_tce_clear_param_check, the same boolean
    this.clear(w, Math.floor(iova / ps) - w.start / ps, size / ps);
    return 0;
  }

  private register(a: IoctlArg): number {
    if (a.u32(0) < 24) return -EINVAL;
    if (a.u32(4)) return -EINVAL;
    const r = this.prereg.register(a.u64(8), a.u64(16));
    if (r === 0) this.enabled = true;
    return r;
  }

  private unregister(a: IoctlArg): number {
    if (a.u32(0) < 24) return -EINVAL;
    if (a.u32(4)) return -EINVAL;
    return this.prereg.unregister(a.u64(8), a.u64(16));
  }

  private tceCreate(a: IoctlArg): number {
    if (this.groups.length === 0) return -ENXIO;
    if (a.u32(0) < 40) return -EINVAL;
    if (a.u32(4)) return -EINVAL;
    const pend = this.createPending();
    if (pend) return pend;
    const start = this.createWindow(a.u32(8), a.u64(16), a.u32(24));
    if (start < 0) return start;
    a.setU64(32, start);
    return 0;
  }

  /** TCE_REMOVE: the window containing start_addr (tce_iommu_find_table), not only one starting there. */
  private tceRemove(a: IoctlArg): number {
    if (this.groups.length === 0) return -ENXIO;
    if (a.u32(0) < 16) return -EINVAL;
    if (a.u32(4)) return -EINVAL;
    const start = a.u64(8);
    if (this.defWindowPending && start === 0) {
      this.defWindowPending = false;
      return 0;
    }
    const num = this.findNum(start);
    if (num < 0) return -EINVAL;
    this.removeWindow(num as 0 | 1);
    return 0;
  }

  /** Each group's PE in list order; the first non-zero result (GET_STATE: a state) is the ioctl's. */
  private eeh(a: IoctlArg): number {
    let ret = 0;
    for (const g of this.groups) {
      ret = eehPeOp(spaprPeOf(g).eeh, a);
      if (ret) return ret;
    }
    return ret;
  }
}
