// An IOAS (struct io_pagetable, drivers/iommu/iommufd/io_pagetable.c) per iommufd.md §3-§6:
// areas (never merged, never cut by IOAS_UNMAP), reserved and allowed intervals, the IOVA
// alignment, large-page control, and the cutting that only the VFIO type1 emulation does.

import { allocIova, gaps, PAGE, U64_MAX, type Span } from "./iova-alloc.js";

export const EPERM = 1, ENOENT = 2, EBUSY = 16, EEXIST = 17, EINVAL = 22, ENOSPC = 28, EOVERFLOW = 75, EADDRINUSE = 98;
export const IOMMU_IOAS_MAP_FIXED_IOVA = 1, IOMMU_IOAS_MAP_WRITEABLE = 2, IOMMU_IOAS_MAP_READABLE = 4;

export interface Area {
  iova: bigint;
  last: bigint;
  /** User address (or source address for copies) of the first byte. */
  uptr: bigint;
  writeable: boolean;
  readable: boolean;
}

export interface Reserved extends Span {
  owner: string;
}

export class Ioas {
  /** Sorted by iova. */
  readonly areas: Area[] = [];
  reserved: Reserved[] = [];
  allowed: Span[] = [];
  largePages = true;
  /** Objects holding this IOAS (HWPTs, accesses) besides the table entry. */
  holders = 0;
  /** Pinning accesses attached (raise the alignment to PAGE_SIZE). */
  pinningAccesses = 0;
  /** Smallest page size of attached domains (0 = none). */
  domainMinPage = 0n;

  get alignment(): bigint {
    let a = 1n;
    if (!this.largePages && a < PAGE) a = PAGE;
    if (this.domainMinPage > a) a = this.domainMinPage;
    if (this.pinningAccesses > 0 && a < PAGE) a = PAGE;
    return a;
  }

  private intersectsArea(start: bigint, last: bigint): boolean {
    return this.areas.some((x) => x.iova <= last && start <= x.last);
  }
  private intersectsReserved(start: bigint, last: bigint): boolean {
    return this.reserved.some((x) => x.start <= last && start <= x.last);
  }

  /** iopt_reserve_iova. */
  reserve(start: bigint, last: bigint, owner: string): number {
    if (this.intersectsArea(start, last) || this.allowed.some((x) => x.start <= last && start <= x.last)) return -EADDRINUSE;
    this.reserved.push({ start, last, owner });
    this.reserved.sort((p, q) => (p.start < q.start ? -1 : p.start > q.start ? 1 : 0));
    return 0;
  }

  unreserve(owner: string): void {
    this.reserved = this.reserved.filter((r) => r.owner !== owner);
  }

  /** IOMMU_IOAS_IOVA_RANGES: the gaps of the reserved tree. */
  ranges(): Span[] {
    return gaps(this.reserved, 0n, U64_MAX);
  }

  /** iopt_set_allow_iova (ranges already validated for order and overlap). */
  setAllowed(list: Span[]): number {
    for (const r of list) if (this.intersectsReserved(r.start, r.last)) return -EADDRINUSE;
    this.allowed = [...list].sort((p, q) => (p.start < q.start ? -1 : 1));
    return 0;
  }

  private used(): Span[] {
    const u: Span[] = [...this.reserved.map((r) => ({ start: r.start, last: r.last })), ...this.areas.map((a) => ({ start: a.iova, last: a.last }))];
    u.sort((p, q) => (p.start < q.start ? -1 : p.start > q.start ? 1 : 0));
    // merge
    const m: Span[] = [];
    for (const s of u) {
      const t = m[m.length - 1];
      if (t && s.start <= t.last + 1n) {
        if (s.last > t.last) t.last = s.last;
      } else m.push({ ...s });
    }
    return m;
  }

  /** Checks and placement of a new area (MAP steps 5-8); returns the IOVA or -errno. */
  place(flags: number, addr: bigint, length: bigint, iova: bigint): bigint | number {
    if (addr + length - 1n > U64_MAX) return -EOVERFLOW;
    if (length === 0n || length > U64_MAX - PAGE) return -EINVAL;
    const al = this.alignment;
    if (length % al !== 0n) return -EINVAL;
    let at: bigint;
    if (!(flags & IOMMU_IOAS_MAP_FIXED_IOVA)) {
      const r = allocIova(addr, length, al, this.allowed, this.used());
      if (typeof r === "number") return r;
      at = r;
    } else {
      if (iova % al !== 0n) return -EINVAL;
      if (iova + length - 1n > U64_MAX) return -EOVERFLOW;
      const last = iova + length - 1n;
      if (this.intersectsReserved(iova, last)) return -EINVAL;
      if (this.intersectsArea(iova, last)) return -EEXIST;
      at = iova;
    }
    if ((addr % PAGE) % al !== 0n) return -EINVAL;
    return at;
  }

  insert(a: Area): void {
    this.areas.push(a);
    this.areas.sort((p, q) => (p.iova < q.iova ? -1 : p.iova > q.iova ? 1 : 0));
  }

  /** IOAS_UNMAP of [iova, last]: whole areas only; returns bytes or -errno (partial effect kept). */
  unmapRange(iova: bigint, last: bigint): bigint | number {
    let total = 0n;
    for (;;) {
      const a = this.areas.find((x) => x.iova <= last && iova <= x.last);
      if (!a) break;
      if (a.iova < iova || a.last > last) return total > 0n ? -ENOENT : -ENOENT;
      this.areas.splice(this.areas.indexOf(a), 1);
      total += a.last - a.iova + 1n;
    }
    if (total === 0n) return -ENOENT;
    return total;
  }

  unmapAll(): bigint {
    let total = 0n;
    for (const a of this.areas) total += a.last - a.iova + 1n;
    this.areas.length = 0;
    return total;
  }

  /** iopt_cut_iova for the type1 emulation: cut areas at `at` (the new boundary is after at-1). */
  cut(at: bigint): number {
    const a = this.areas.find((x) => x.iova < at && at <= x.last);
    if (!a) return 0;
    if (at % this.alignment !== 0n) return -EINVAL;
    const b: Area = { ...a, iova: at, uptr: a.uptr + (at - a.iova) };
    a.last = at - 1n;
    this.insert(b);
    return 0;
  }

  /** Areas covering [start, last] adjacently, the first containing start; null if not covered. */
  covering(start: bigint, last: bigint): Area[] | null {
    const out: Area[] = [];
    let cur = start;
    for (;;) {
      const a = this.areas.find((x) => x.iova <= cur && cur <= x.last);
      if (!a) return null;
      out.push(a);
      if (a.last >= last) return out;
      cur = a.last + 1n;
    }
  }
}
