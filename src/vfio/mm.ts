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

  /** Anonymous private memory of `bytes` (rounded up to pages); returns its address. */
  mmap(bytes: number): number {
    const len = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    const start = this.nextVaddr;
    // a guard gap of one page between mappings, like the kernel's separate VMAs
    this.nextVaddr += len + 0x10000;
    const vma = { start, end: start + len, phys: this.nextPhys };
    this.nextPhys += len + 0x200000;
    this.vmas.push(vma);
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

  /** Physical address of the page at vaddr (must be backed). */
  phys(vaddr: number): number {
    const v = this.find(vaddr);
    return v ? v.phys + (vaddr - v.start) : -1;
  }
}
