// struct iopt_pages (drivers/iommu/iommufd/pages.c): the user memory behind one IOAS_MAP, shared
// by every area made from it (IOAS_COPY). A page is pinned once however many domains, areas and
// accesses use it: `holders` counts the users per page, the 0→1 step pins and charges, the 1→0
// step unpins and uncharges (iommufd.md §7). Pinning is all or nothing per call, like the
// kernel's unwinding of a failed pfn_reader fill.

import { PAGE_SIZE, type ProcessMm } from "../mm.js";
import { EFAULT, ENOMEM } from "./errno.js";
import { allocFails } from "../iommu.js";

/** Accounting mode of a pages object (iopt_alloc_pages, iommufd.md §7). */
export const enum AccountMode {
  NONE = 0,
  USER = 1,
  MM = 2,
}

export class IoptPages {
  /** Holders per CPU page (domains' areas, access pins). */
  readonly holders: Uint32Array;
  /** Pages currently pinned (holders > 0). */
  pinned = 0;
  /** Pages charged (pinned pages of charged mappings). */
  charged = 0;
  /** Areas using this object (the kernel's kref on iopt_pages). */
  users = 0;

  /**
   * @param firstVa ALIGN_DOWN(uptr, PAGE_SIZE)
   * @param npages pages up to ALIGN_UP(uptr + length)
   */
  constructor(
    readonly mm: ProcessMm,
    readonly firstVa: number,
    readonly npages: number,
    readonly writable: boolean,
    readonly mode: AccountMode,
  ) {
    this.holders = new Uint32Array(npages);
    mm.pinners.add(this);
  }

  static forRange(mm: ProcessMm, uptr: number, length: number, writable: boolean, mode: AccountMode): IoptPages {
    const first = Math.floor(uptr / PAGE_SIZE) * PAGE_SIZE;
    const end = Math.ceil((uptr + length) / PAGE_SIZE) * PAGE_SIZE;
    return new IoptPages(mm, first, (end - first) / PAGE_SIZE, writable, mode);
  }

  /**
   * Adds a holder to pages [first, last] (indexes into this object). Pages going 0→1 are pinned
   * (pin_user_pages: EFAULT if unmapped, or read-only for a writable object) and charged
   * (ENOMEM past RLIMIT_MEMLOCK); on failure nothing changes.
   */
  hold(first: number, last: number, mayFail = true): number {
    if (mayFail && allocFails()) return -ENOMEM; // the pfn batch or pin-count charge fails (fail_nth)
    let fresh = 0;
    for (let i = first; i <= last; i++) {
      if (this.holders[i] !== 0) continue;
      const va = this.firstVa + i * PAGE_SIZE;
      const v = this.mm.find(va);
      if (!v || (this.writable && (v.readOnly || v.readOnlyUncharged))) return -EFAULT;
      if (!v.readOnlyUncharged) fresh++;
    }
    if (fresh > 0) {
      const r = this.charge(fresh);
      if (r < 0) return r;
    }
    for (let i = first; i <= last; i++) {
      if (this.holders[i]++ === 0) {
        this.pinned++;
        this.mm.pinnedVm++;
      }
    }
    this.charged += fresh;
    return 0;
  }

  /** Drops a holder from pages [first, last]; pages going 1→0 are unpinned and uncharged. */
  release(first: number, last: number): void {
    let freed = 0;
    for (let i = first; i <= last; i++) {
      if (this.holders[i] === 0) throw new Error(`iopt_pages: release of an unheld page ${i}`);
      if (--this.holders[i] === 0) {
        this.pinned--;
        this.mm.pinnedVm--;
        const v = this.mm.find(this.firstVa + i * PAGE_SIZE);
        if (!v || !v.readOnlyUncharged) freed++;
      }
    }
    if (freed > 0) this.uncharge(Math.min(freed, this.charged));
  }

  /** incr_user_locked_vm / __account_locked_vm, or nothing in NONE mode (CAP_IPC_LOCK). */
  private charge(n: number): number {
    const mm = this.mm;
    if (this.mode === AccountMode.USER) {
      if (mm.userLockedVm + n > mm.limitPages) return -ENOMEM;
      mm.userLockedVm += n;
    } else if (this.mode === AccountMode.MM) {
      if (mm.lockedVm + n > mm.limitPages) return -ENOMEM;
      mm.lockedVm += n;
    }
    return 0;
  }

  private uncharge(n: number): void {
    this.charged -= n;
    if (this.mode === AccountMode.USER) this.mm.userLockedVm -= n;
    else if (this.mode === AccountMode.MM) this.mm.lockedVm -= n;
  }

  /** Index of the page holding the user address va. */
  index(va: number): number {
    return Math.floor((va - this.firstVa) / PAGE_SIZE);
  }

  pinsAt(vaddr: number): number {
    const i = Math.floor((vaddr - this.firstVa) / PAGE_SIZE);
    return i >= 0 && i < this.npages && this.holders[i]! > 0 ? 1 : 0;
  }

  /** The last area using it is gone. */
  free(): void {
    if (this.pinned !== 0) throw new Error("iopt_pages freed while pinned");
    this.mm.pinners.delete(this);
  }
}
