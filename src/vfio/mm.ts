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
  /** PROT_READ only: a pin for write faults (EFAULT). */
  readOnly?: boolean;
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
  /** The user's locked_vm (user_struct, shared by every process of the uid): iommufd's USER mode. */
  userLockedVm = 0;
  /** mm->pinned_vm (VmPin): every long-term pin, charged or not. */
  pinnedVm = 0;
  /** Objects holding long-term pins on this process's pages (iommufd pages), for pin-count checks. */
  readonly pinners = new Set<{ pinsAt(vaddr: number): number }>();
  /** Contents of pages that have been written (page index → 4 KiB); unwritten pages read as zero. */
  private readonly data = new Map<number, Uint8Array>();
  private nextVaddr = 0x7f0000000000;
  private nextPhys = 0x100000000;
  /**
   * Size of a read-only, uncharged mapping directly above the process's first `mem` mapping
   * (0 = a hole there). The runner's address-space layout differs by kernel: on 6.1 a hole, on
   * 6.12 read pins just past the first `mem` succeed without a charge and write pins fault
   * (recorded: map-checks, memlock-limit-zero, memlock-2); its size is unknown, 1 MiB modelled.
   */
  untouchedAboveFirst = 0;

  /** Anonymous private memory of `bytes` (rounded up to pages); returns its address. `align`
   *  (a power of two ≥ 4 KiB) places it like an mmap of a larger range trimmed to the boundary. */
  mmap(bytes: number, align = PAGE_SIZE, opts: { readOnly?: boolean } = {}): number {
    const len = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    if (align > PAGE_SIZE) {
      this.nextVaddr = Math.ceil(this.nextVaddr / align) * align;
      this.nextPhys = Math.ceil(this.nextPhys / align) * align;
    }
    const start = this.nextVaddr;
    // a guard gap of one page between mappings, like the kernel's separate VMAs
    this.nextVaddr += len + 0x10000;
    const vma: Vma = { start, end: start + len, phys: this.nextPhys };
    if (opts.readOnly) vma.readOnly = true;
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

  /** munmap: removes [vaddr, vaddr+bytes) (page-aligned), splitting mappings at the ends. */
  munmap(vaddr: number, bytes: number): void {
    const end = vaddr + Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    const out: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= vaddr || v.start >= end) {
        out.push(v);
        continue;
      }
      if (v.start < vaddr) out.push({ ...v, end: vaddr });
      if (v.end > end) out.push({ ...v, start: end, phys: v.phys + (end - v.start) });
    }
    this.vmas.length = 0;
    this.vmas.push(...out.sort((p, q) => p.start - q.start));
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

  /** Long-term pins on the page holding vaddr (page_ref_count / GUP_PIN_COUNTING_BIAS). */
  pinsAt(vaddr: number): number {
    let n = 0;
    for (const p of this.pinners) n += p.pinsAt(vaddr);
    return n;
  }

  /** Every byte of [vaddr, vaddr+len) is backed (copy_from_user / copy_to_user would not fault). */
  accessible(vaddr: number, len: number): boolean {
    if (len === 0) return true;
    const first = Math.floor(vaddr / PAGE_SIZE), last = Math.floor((vaddr + len - 1) / PAGE_SIZE);
    return this.backedPages(first * PAGE_SIZE, last - first + 1) === last - first + 1;
  }

  /** copy_from_user: the bytes, or null when any is not backed (EFAULT). */
  read(vaddr: number, len: number): Uint8Array | null {
    if (!this.accessible(vaddr, len)) return null;
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const va = vaddr + done;
      const off = va % PAGE_SIZE;
      const n = Math.min(len - done, PAGE_SIZE - off);
      const pg = this.data.get(this.physPage(va));
      if (pg) out.set(pg.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** copy_to_user: false when any byte is not backed (EFAULT; nothing written). */
  write(vaddr: number, bytes: Uint8Array): boolean {
    if (!this.accessible(vaddr, bytes.length)) return false;
    let done = 0;
    while (done < bytes.length) {
      const va = vaddr + done;
      const off = va % PAGE_SIZE;
      const n = Math.min(bytes.length - done, PAGE_SIZE - off);
      const key = this.physPage(va);
      let pg = this.data.get(key);
      if (!pg) this.data.set(key, (pg = new Uint8Array(PAGE_SIZE)));
      pg.set(bytes.subarray(done, done + n), off);
      done += n;
    }
    return true;
  }

  /** Reads/writes go to the physical page, so DMA through any alias sees the same bytes. */
  private physPage(vaddr: number): number {
    return Math.floor(this.phys(vaddr) / PAGE_SIZE);
  }

  /** Physical address of the page at vaddr (must be backed). */
  phys(vaddr: number): number {
    const v = this.find(vaddr);
    return v ? v.phys + (vaddr - v.start) : -1;
  }
}
