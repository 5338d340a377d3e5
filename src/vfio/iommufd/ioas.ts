// An IOAS (struct io_pagetable, drivers/iommu/iommufd/io_pagetable.c) per iommufd.md §3-§7:
// areas (never merged, never cut by IOAS_UNMAP) over shared pages objects, reserved and allowed
// intervals, the IOVA alignment, the paging domains every area is mapped into (pages pinned while
// at least one domain exists), accesses and their pins, and the cutting only the VFIO type1
// emulation does.

import type { ProcessMm } from "../mm.js";
import { IOMMU_READ, IOMMU_WRITE, type PagingDomain } from "./driver.js";
import {
  EADDRINUSE, EDEADLOCK, EEXIST, EINVAL, ENOENT, EOVERFLOW,
} from "./errno.js";
import { allocIova, gaps, PAGE, U64_MAX, type Span } from "./iova-alloc.js";
import { IoptPages } from "./pages.js";

export const IOMMU_IOAS_MAP_FIXED_IOVA = 1, IOMMU_IOAS_MAP_WRITEABLE = 2, IOMMU_IOAS_MAP_READABLE = 4;

export interface Area {
  iova: bigint;
  last: bigint;
  /** User address of the first byte. */
  uptr: bigint;
  pages: IoptPages | null;
  writeable: boolean;
  readable: boolean;
  /** Access pins inside this area (iopt_area.num_accesses). */
  accessPins: number;
}

export interface Reserved extends Span {
  owner: unknown;
}

/** What an IOAS needs of an attached access (struct iommufd_access). */
export interface IoasAccess {
  readonly needsPin: boolean;
  /** The access's unmap callback (iommufd_access_ops.unmap): it must drop its pins in range. */
  unmapCallback(iova: bigint, length: bigint): void;
}

export class Ioas {
  /** Sorted by iova. */
  readonly areas: Area[] = [];
  reserved: Reserved[] = [];
  allowed: Span[] = [];
  largePages = true;
  /** Paging domains of HWPTs on this IOAS (iopt->domains), in creation order. */
  readonly domains: PagingDomain[] = [];
  readonly accesses: IoasAccess[] = [];

  constructor(readonly mm: ProcessMm, readonly accountMode: () => number) {}

  /** iopt_calculate_iova_alignment. */
  get alignment(): bigint {
    return this.alignmentWith(null, null);
  }

  private alignmentWith(extraDomain: PagingDomain | null, extraAccess: IoasAccess | null): bigint {
    let a = this.largePages ? 1n : PAGE;
    for (const d of this.domains) if (BigInt(d.minPage) > a) a = BigInt(d.minPage);
    if (extraDomain && BigInt(extraDomain.minPage) > a) a = BigInt(extraDomain.minPage);
    const pinning = this.accesses.some((x) => x.needsPin) || (extraAccess?.needsPin ?? false);
    if (pinning && a < PAGE) a = PAGE;
    return a;
  }

  /** Smallest page of the attached domains (0 = none). */
  get domainMinPage(): bigint {
    let m = 0n;
    for (const d of this.domains) if (BigInt(d.minPage) > m) m = BigInt(d.minPage);
    return m;
  }

  private intersectsArea(start: bigint, last: bigint): boolean {
    return this.areas.some((x) => x.iova <= last && start <= x.last);
  }
  private intersectsReserved(start: bigint, last: bigint): boolean {
    return this.reserved.some((x) => x.start <= last && start <= x.last);
  }

  /** iopt_reserve_iova. */
  reserve(start: bigint, last: bigint, owner: unknown): number {
    if (this.intersectsArea(start, last) || this.allowed.some((x) => x.start <= last && start <= x.last)) return -EADDRINUSE;
    this.reserved.push({ start, last, owner });
    this.reserved.sort((p, q) => (p.start < q.start ? -1 : p.start > q.start ? 1 : 0));
    return 0;
  }

  unreserve(owner: unknown): void {
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
    const m: Span[] = [];
    for (const s of u) {
      const t = m[m.length - 1];
      if (t && s.start <= t.last + 1n) {
        if (s.last > t.last) t.last = s.last;
      } else m.push({ ...s });
    }
    return m;
  }

  /** iopt_check_iova_alignment: every area's iova, length and in-page offset aligned. */
  private areasAligned(al: bigint): boolean {
    for (const a of this.areas) if (a.iova % al || (a.last + 1n - a.iova) % al || (a.uptr % PAGE) % al) return false;
    return true;
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

  /** A new pages object for a user range (its accounting mode from the context). */
  newPages(uptr: bigint, length: bigint, writeable: boolean): IoptPages | null {
    if (uptr + length > 2n ** 53n) return null; // never backed: any pin faults
    return IoptPages.forRange(this.mm, Number(uptr), Number(length), writeable, this.accountMode());
  }

  /**
   * Inserts a placed area and fills every domain (iopt_map_pages → iopt_fill_domains_pages):
   * pins when there is a domain; on failure the area is gone and nothing stays pinned.
   */
  insert(a: Area): number {
    if (a.pages) a.pages.users++;
    if (this.domains.length > 0) {
      const r = this.fillArea(a, this.domains);
      if (r < 0) {
        this.dropPages(a);
        return r;
      }
    }
    this.areas.push(a);
    this.areas.sort((p, q) => (p.iova < q.iova ? -1 : p.iova > q.iova ? 1 : 0));
    return 0;
  }

  private dropPages(a: Area): void {
    if (a.pages && --a.pages.users === 0) a.pages.free();
  }

  /** Page index span [first, last] of the area inside its pages object. */
  areaSpan(a: Area): [number, number] {
    const p = a.pages!;
    const u = Number(a.uptr);
    return [p.index(u), p.index(u + Number(a.last - a.iova))];
  }

  /** Pins (if no domain held it yet) and maps one area into `domains`. */
  private fillArea(a: Area, domains: readonly PagingDomain[], pinned = false): number {
    if (!a.pages) return -14; // EFAULT: the address can never be pinned
    const [f, l] = this.areaSpan(a);
    if (!pinned) {
      const r = a.pages.hold(f, l);
      if (r < 0) return r;
    }
    const done: PagingDomain[] = [];
    for (const d of domains) {
      const r = this.mapInto(a, d);
      if (r < 0) {
        for (const x of done) this.unmapFrom(a, x);
        if (!pinned) a.pages.release(f, l);
        return r;
      }
      done.push(d);
    }
    return 0;
  }

  /** Maps an area into one domain, physically contiguous run by run. */
  private mapInto(a: Area, d: PagingDomain): number {
    const prot = (a.readable ? IOMMU_READ : 0) | (a.writeable ? IOMMU_WRITE : 0);
    const len = Number(a.last - a.iova + 1n);
    const iova0 = Number(a.iova);
    let va = Number(a.uptr), done = 0;
    while (done < len) {
      const v = this.mm.find(va)!;
      const n = Math.min(len - done, v.end - va);
      const r = d.map(iova0 + done, v.phys + (va - v.start), n, prot);
      if (r < 0) {
        if (done > 0) d.unmap(iova0, done);
        return r;
      }
      done += n;
      va += n;
    }
    return 0;
  }

  private unmapFrom(a: Area, d: PagingDomain): void {
    d.unmap(Number(a.iova), Number(a.last - a.iova + 1n));
  }

  /** Removes one area: out of every domain, unpinned, its pages dropped. */
  private removeArea(a: Area): void {
    for (const d of this.domains) this.unmapFrom(a, d);
    if (this.domains.length > 0 && a.pages) {
      const [f, l] = this.areaSpan(a);
      a.pages.release(f, l);
    }
    this.areas.splice(this.areas.indexOf(a), 1);
    this.dropPages(a);
  }

  /**
   * IOAS_UNMAP of [iova, last] (iopt_unmap_iova_range): whole areas only; areas pinned by an
   * access get every access's unmap callback first. Returns bytes or -errno; areas removed
   * before an error stay removed.
   */
  unmapRange(iova: bigint, last: bigint): bigint | number {
    let total = 0n, rounds = 0;
    for (;;) {
      const a = this.areas.find((x) => x.iova <= last && iova <= x.last);
      if (!a) break;
      if (a.iova < iova || a.last > last) return -ENOENT;
      if (a.accessPins > 0) {
        if (++rounds > 100) return -EDEADLOCK;
        for (const acc of [...this.accesses]) acc.unmapCallback(a.iova, a.last - a.iova + 1n);
        continue;
      }
      this.removeArea(a);
      total += a.last - a.iova + 1n;
    }
    if (total === 0n) return -ENOENT;
    return total;
  }

  /** iopt_unmap_all (also IOAS destroy): every area; accesses are asked to unpin first. */
  unmapAll(): bigint {
    let total = 0n;
    while (this.areas.length > 0) {
      const a = this.areas[0]!;
      if (a.accessPins > 0) for (const acc of [...this.accesses]) acc.unmapCallback(a.iova, a.last - a.iova + 1n);
      if (a.accessPins > 0) throw new Error("access kept its pins through the unmap callback");
      this.removeArea(a);
      total += a.last - a.iova + 1n;
    }
    return total;
  }

  /**
   * iopt_table_add_domain: alignment (EINVAL above PAGE_SIZE, EADDRINUSE if areas are
   * misaligned), aperture reservations (EADDRINUSE), then every area mapped (pinned first
   * when this is the first domain).
   */
  addDomain(d: PagingDomain): number {
    const al = this.alignmentWith(d, null);
    if (al > PAGE) return -EINVAL;
    if (al !== this.alignment && !this.areasAligned(al)) return -EADDRINUSE;
    if (d.apertureStart !== 0n) {
      const r = this.reserve(0n, d.apertureStart - 1n, d);
      if (r < 0) return r;
    }
    if (d.apertureLast !== U64_MAX) {
      const r = this.reserve(d.apertureLast + 1n, U64_MAX, d);
      if (r < 0) {
        this.unreserve(d);
        return r;
      }
    }
    const first = this.domains.length === 0;
    const done: Area[] = [];
    for (const a of this.areas) {
      const r = this.fillArea(a, [d], !first);
      if (r < 0) {
        for (const x of done) {
          this.unmapFrom(x, d);
          if (first) x.pages!.release(...this.areaSpan(x));
        }
        this.unreserve(d);
        return r;
      }
      done.push(a);
    }
    this.domains.push(d);
    return 0;
  }

  /** iopt_table_remove_domain: unmapped from the domain; the last domain's pins dropped. */
  removeDomain(d: PagingDomain): void {
    const i = this.domains.indexOf(d);
    if (i < 0) return;
    this.domains.splice(i, 1);
    for (const a of this.areas) {
      this.unmapFrom(a, d);
      if (this.domains.length === 0 && a.pages) a.pages.release(...this.areaSpan(a));
    }
    this.unreserve(d);
  }

  /** iopt_add_access: a pinning access raises the alignment to PAGE_SIZE. */
  addAccess(acc: IoasAccess): number {
    const al = this.alignmentWith(null, acc);
    if (al !== this.alignment && !this.areasAligned(al)) return -EADDRINUSE;
    this.accesses.push(acc);
    return 0;
  }

  removeAccess(acc: IoasAccess): void {
    const i = this.accesses.indexOf(acc);
    if (i >= 0) this.accesses.splice(i, 1);
  }

  /** iopt_disable_large_pages (IOMMU_OPTION HUGE_PAGES 0, type1 emulation of v1). */
  disableLargePages(): number {
    if (!this.largePages) return 0;
    if (this.domains.length > 0 && this.areas.length > 0) return -EINVAL;
    const al = this.alignment > PAGE ? this.alignment : PAGE;
    if (!this.areasAligned(al)) return -EADDRINUSE;
    this.largePages = false;
    return 0;
  }

  /** iopt_cut_iova for the type1 emulation: cut the area holding `at` so a piece starts there. */
  cut(at: bigint): number {
    const a = this.areas.find((x) => x.iova < at && at <= x.last);
    if (!a) return 0;
    if (at % this.alignment !== 0n) return -EINVAL;
    if (a.accessPins > 0) return -EINVAL;
    const oldSpan = this.domains.length > 0 && a.pages ? this.areaSpan(a) : null;
    const b: Area = { ...a, iova: at, uptr: a.uptr + (at - a.iova), accessPins: 0 };
    a.last = at - 1n;
    if (a.pages) a.pages.users++;
    if (oldSpan) {
      // re-split the holds: every page is already pinned, so nothing is charged or can fail
      a.pages!.hold(...this.areaSpan(b), false);
      a.pages!.hold(...this.areaSpan(a), false);
      a.pages!.release(...oldSpan);
    }
    this.areas.push(b);
    this.areas.sort((p, q) => (p.iova < q.iova ? -1 : p.iova > q.iova ? 1 : 0));
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
