// The calling process's memory as VFIO sees it: anonymous mappings (`mem`), each page backed by
// a physical page of its own, and the mm's locked_vm counter against RLIMIT_MEMLOCK. Pages are
// 4 KiB; addresses are JS numbers (page-aligned values are exact).

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

export interface Vma {
  start: number;
  end: number;
  /** Physical address of the first page; pages are physically contiguous within a VMA. */
  phys: number;
  /**
   * A read-only mapping the runner did not make with `mem` whose pages are not charged when
   * pinned (reserved pfns): read pins succeed uncharged, write pins fault (EFAULT).
   */
  readOnlyUncharged?: boolean;
}

export class ProcessMm {
  /** Sorted, non-overlapping. */
  readonly vmas: Vma[] = [];
  /** Pages charged to the mm (mm->locked_vm). */
  lockedVm = 0;
  /** RLIMIT_MEMLOCK in bytes (8 MiB: the kernel's default). */
  memlockLimit = 8 * 1024 * 1024;
  /** Pinning counts against the limit (false = CAP_IPC_LOCK). */
  chargeLocked = true;
  private nextVaddr = 0x7f0000000000;
  private nextPhys = 0x100000000;
  /**
   * Size of a read-only, uncharged mapping directly above the process's first `mem` mapping
   * (0 = a hole there). The runner's address-space layout differs by kernel: on 6.1 a hole, on
   * 6.12 read pins just past the first `mem` succeed without a charge and write pins fault
   * (recorded: map-checks, memlock-limit-zero, memlock-2); its size is unknown, 1 MiB modelled.
   */
  untouchedAboveFirst = 0;

  /** Anonymous private memory of `bytes` (rounded up to pages); returns its address. */
  mmap(bytes: number): number {
    const len = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    const start = this.nextVaddr;
    // a guard gap of one page between mappings, like the kernel's separate VMAs
    this.nextVaddr += len + 0x10000;
    const vma: Vma = { start, end: start + len, phys: this.nextPhys };
    this.nextPhys += len + 0x200000;
    this.vmas.push(vma);
    if (this.vmas.length === 1 && this.untouchedAboveFirst > 0) {
      const above: Vma = { start: start + len, end: start + len + this.untouchedAboveFirst, phys: this.nextPhys, readOnlyUncharged: true };
      this.nextPhys += this.untouchedAboveFirst + 0x200000;
      this.vmas.push(above);
      this.nextVaddr = above.end + 0x10000;
    }
    return start;
  }

  get limitPages(): number {
    return Math.floor(this.memlockLimit / PAGE_SIZE);
  }

  /** The VMA holding vaddr, or null. */
  find(vaddr: number): Vma | null {
    for (const v of this.vmas) if (vaddr >= v.start && vaddr < v.end) return v;
    return null;
  }

  /** Number of pages from vaddr on that are backed, up to `pages` (stops at the first hole). */
  backedPages(vaddr: number, pages: number): number {
    let n = 0;
    let va = vaddr;
    while (n < pages) {
      const v = this.find(va);
      if (!v) break;
      const k = Math.min(pages - n, (v.end - va) / PAGE_SIZE);
      n += k;
      va += k * PAGE_SIZE;
    }
    return n;
  }

  /**
   * Pages from vaddr on that a pin would charge, page by page, until `pages` or the first hole:
   * returns [backed pages, index of the first page past the limit or -1]. `allowed` = pages that
   * may still be charged; `write` pins fault on read-only mappings.
   */
  pinScan(vaddr: number, pages: number, allowed: number, write: boolean): { backed: number; overAt: number } {
    let n = 0, charged = 0;
    let va = vaddr;
    while (n < pages) {
      const v = this.find(va);
      if (!v || (v.readOnlyUncharged && write)) break;
      const k = Math.min(pages - n, (v.end - va) / PAGE_SIZE);
      if (!v.readOnlyUncharged) {
        if (charged + k > allowed) return { backed: n + k, overAt: n + Math.max(0, allowed - charged) };
        charged += k;
      }
      n += k;
      va += k * PAGE_SIZE;
    }
    return { backed: n, overAt: -1 };
  }

  /** Charged pages of a successful pin (same rule as pinScan). */
  chargeOf(vaddr: number, pages: number): number {
    let c = 0, n = 0, va = vaddr;
    while (n < pages) {
      const v = this.find(va);
      if (!v) break;
      const k = Math.min(pages - n, (v.end - va) / PAGE_SIZE);
      if (!v.readOnlyUncharged) c += k;
      n += k;
      va += k * PAGE_SIZE;
    }
    return c;
  }

  /** Physical address of the page at vaddr (must be backed). */
  phys(vaddr: number): number {
    const v = this.find(vaddr);
    return v ? v.phys + (vaddr - v.start) : -1;
  }
}
