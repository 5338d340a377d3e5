// AMD-Vi v1 I/O page table (io-pagetables.md §11; generic_pt fmt/amdv1.h): 4 KiB tables of 512
// entries; PR bit 0, NextLevel 11:9, address 51:12, IR bit 61, IW bit 62. A table entry names the
// next lower mode; NextLevel 0 is a leaf of the entry's full span; NextLevel 7 encodes a smaller
// power-of-two size in the address (low address bits 1s up to one 0) and is replicated in every
// slot the page covers (`amdv1pt_install_leaf_entry`). The tree starts at mode 3 and grows its top
// on demand (PT_FEAT_DYNAMIC_TOP). Any power of two ≥ 4 KiB except 512 GiB may be a page.
// Not a hot path: clarity over speed here; the VT-d table is the benchmarked one.

import { IommuError, type DomainStats, type IommuDomain, type IovaRange } from "../domain.js";
import { TablePool, TABLE_WORDS } from "../table-pool.js";
import { X86_MSI_WINDOW } from "../vtd/domain.js";

export const AMD_PTE_PR = 0x1;
export const AMD_PTE_NL_SHIFT = 9;
export const AMD_PTE_NL_SIZE = 7;
/** IR / IW are bits 61 / 62: bits 29 / 30 of the high word. */
export const AMD_PTE_IR_HI = 1 << 29;
export const AMD_PTE_IW_HI = 1 << 30;
const TWO32 = 4294967296;

/** Pages covered by one entry at level L. */
const span = (L: number): number => 512 ** (L - 1);

export interface AmdV1Options {
  /** Highest mode the tree may grow to (default 6 = 64-bit). */
  maxLevel?: number;
  /** Starting mode (default 3, as io_pgtable). */
  startLevel?: number;
  reserved?: IovaRange[];
}

class AmdStats implements DomainStats {
  mapCalls = 0;
  unmapCalls = 0;
  constructor(private readonly pool: TablePool) {}
  get tablePages(): number {
    return this.pool.inUse;
  }
}

export class AmdV1Domain implements IommuDomain {
  readonly format = "amd-v1" as const;
  readonly pool = new TablePool(8);
  /** Current mode (levels) and top table. */
  level: number;
  root: number;
  readonly maxLevel: number;
  readonly pageSizes: readonly number[];
  readonly pgsizeBitmap: number;
  readonly apertures: readonly IovaRange[];
  readonly reserved: readonly IovaRange[];
  readonly stats: AmdStats;

  constructor(o: AmdV1Options = {}) {
    this.maxLevel = o.maxLevel ?? 6;
    this.level = o.startLevel ?? 3;
    if (this.level < 1 || this.level > this.maxLevel || this.maxLevel > 6) throw new IommuError("alloc", "EINVAL", "AMD v1 modes are 1..6");
    this.root = this.pool.alloc();
    const sizes: number[] = [];
    for (let k = 12; k <= 51; k++) if (k !== 39) sizes.push(2 ** k); // no 512 GiB (amdv1pt_possible_sizes)
    this.pageSizes = sizes;
    this.pgsizeBitmap = sizes.reduce((a, b) => a + b, 0);
    this.apertures = [{ start: 0, last: 2 ** Math.min(64, 12 + 9 * this.maxLevel) - 1 }];
    this.reserved = [X86_MSI_WINDOW, ...(o.reserved ?? [])];
    this.stats = new AmdStats(this.pool);
  }

  private word(t: number, i: number): number {
    return t * TABLE_WORDS + i * 2;
  }

  private static addrOf(lo: number, hi: number): number {
    return (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
  }

  /** Entry (t, i) as [lo, hi] (tests). */
  entry(t: number, i: number): [number, number] {
    const w = this.word(t, i);
    return [this.pool.words[w] >>> 0, this.pool.words[w + 1] >>> 0];
  }

  private setEntry(t: number, i: number, addr: number, nl: number, prot: number): void {
    const w = this.word(t, i);
    this.pool.words[w] = (addr % TWO32) | (nl << AMD_PTE_NL_SHIFT) | AMD_PTE_PR;
    this.pool.words[w + 1] = Math.floor(addr / TWO32) | (prot & 1 ? AMD_PTE_IR_HI : 0) | (prot & 2 ? AMD_PTE_IW_HI : 0);
  }

  /** PT_FEAT_DYNAMIC_TOP: add levels above the root until pfn end fits. */
  private growTo(endPfn: number): void {
    while (endPfn > 512 ** this.level && this.level < this.maxLevel) {
      const top = this.pool.alloc();
      this.setEntry(top, 0, this.root * 4096, this.level, 3);
      this.root = top;
      this.level++;
    }
  }

  /** Size in pages of the leaf entry (lo, hi) at level L. */
  private static leafPages(lo: number, hi: number, L: number): number {
    const nl = (lo >>> AMD_PTE_NL_SHIFT) & 7;
    if (nl !== AMD_PTE_NL_SIZE) return span(L);
    const pfn = AmdV1Domain.addrOf(lo, hi) / 4096;
    let k = 0;
    while (Math.floor(pfn / 2 ** k) % 2 === 1) k++;
    return 2 ** (k + 1);
  }

  /** Installs one page of `pages` (power of two) at ipfn → ppfn. */
  private mapOne(ipfn: number, ppfn: number, pages: number, prot: number): boolean {
    let L = 1;
    while (L < this.level && span(L + 1) <= pages) L++;
    let t = this.root;
    for (let cur = this.level; cur > L; cur--) {
      const i = Math.floor(ipfn / span(cur)) % 512;
      const [lo] = this.entry(t, i);
      if ((lo & AMD_PTE_PR) === 0) {
        const c = this.pool.alloc();
        this.setEntry(t, i, c * 4096, cur - 1, 3);
        t = c;
      } else if (((lo >>> AMD_PTE_NL_SHIFT) & 7) === 0 || ((lo >>> AMD_PTE_NL_SHIFT) & 7) === AMD_PTE_NL_SIZE) {
        return false; // leaf where a table is needed
      } else t = (lo >>> 12) & 0xfffff;
    }
    const slots = pages / span(L);
    const first = Math.floor(ipfn / span(L)) % 512;
    for (let s = 0; s < slots; s++) {
      const [lo] = this.entry(t, first + s);
      if (lo & AMD_PTE_PR) return false;
    }
    // NextLevel 7 with the size in the address: bits below the page's top filled with 1s up to one 0.
    const nl = slots === 1 ? 0 : AMD_PTE_NL_SIZE;
    const addr = ppfn * 4096 + (nl === AMD_PTE_NL_SIZE ? (pages / 2 - 1) * 4096 : 0);
    for (let s = 0; s < slots; s++) this.setEntry(t, first + s, addr, nl, prot);
    return true;
  }

  map(iova: number, paddr: number, size: number, prot: number): void {
    this.stats.mapCalls++;
    if ((prot & 3) === 0) throw new IommuError("map", "EINVAL", "map without IOMMU_READ or IOMMU_WRITE");
    if (!(size > 0) || iova % 4096 !== 0 || paddr % 4096 !== 0 || size % 4096 !== 0) throw new IommuError("map", "EINVAL", "map not 4 KiB aligned");
    if (iova + size - 1 > this.apertures[0].last) throw new IommuError("map", "EFAULT", "map beyond the aperture");
    let ipfn = iova / 4096;
    let ppfn = paddr / 4096;
    let left = size / 4096;
    this.growTo(ipfn + left);
    while (left > 0) {
      let pages = 1;
      while (pages * 2 <= left && ipfn % (pages * 2) === 0 && ppfn % (pages * 2) === 0 && pages * 2 * 4096 <= 2 ** 51) pages *= 2;
      if (pages === 2 ** 27) pages = 2 ** 26; // 512 GiB is not offered
      if (!this.mapOne(ipfn, ppfn, pages, prot)) {
        const done = size - left * 4096;
        if (done > 0) this.unmap(iova, done);
        throw new IommuError("map", "EADDRINUSE", `map 0x${(ipfn * 4096).toString(16)}: already mapped`);
      }
      ipfn += pages;
      ppfn += pages;
      left -= pages;
    }
  }

  /** generic_pt rule as for VT-d: whole leaves from the start; stop at a hole or inside a leaf. */
  unmap(iova: number, size: number): number {
    this.stats.unmapCalls++;
    if (!(size > 0) || iova % 4096 !== 0 || size % 4096 !== 0) return 0;
    const start = iova / 4096;
    const r = this.unmapLevel(this.root, this.level, start, start + size / 4096, 0);
    return r.removed * 4096;
  }

  private unmapLevel(t: number, L: number, pfn: number, end: number, tableBase: number): { removed: number; stopped: boolean } {
    let removed = 0;
    while (pfn < end && pfn < tableBase + span(L) * 512) {
      const i = Math.floor((pfn - tableBase) / span(L));
      const [lo, hi] = this.entry(t, i);
      if ((lo & AMD_PTE_PR) === 0) return { removed, stopped: true };
      const nl = (lo >>> AMD_PTE_NL_SHIFT) & 7;
      if (nl === 0 || nl === AMD_PTE_NL_SIZE || L === 1) {
        const pages = AmdV1Domain.leafPages(lo, hi, L);
        if (pfn % pages !== 0) return { removed, stopped: true };
        const slots = Math.max(1, pages / span(L));
        for (let s = 0; s < slots; s++) this.pool.words.fill(0, this.word(t, i + s), this.word(t, i + s) + 2);
        removed += pages;
        pfn += pages;
      } else {
        const base = tableBase + i * span(L);
        const covered = base === pfn && end - pfn >= span(L);
        const child = (lo >>> 12) & 0xfffff;
        const r = this.unmapLevel(child, L - 1, pfn, Math.min(end, base + span(L)), base);
        removed += r.removed;
        if (r.stopped) return { removed, stopped: true };
        if (covered) {
          this.pool.free(child);
          this.pool.words.fill(0, this.word(t, i), this.word(t, i) + 2);
        }
        pfn = base + span(L);
      }
    }
    return { removed, stopped: false };
  }

  /** PA or -1; IR/IW are ANDed along the walk by hardware, Linux sets both on tables. */
  iovaToPhys(iova: number): number {
    if (!(iova >= 0)) return -1;
    const pfn = Math.floor(iova / 4096);
    if (pfn >= span(this.level) * 512) return -1;
    let t = this.root;
    for (let L = this.level; L >= 1; L--) {
      const [lo, hi] = this.entry(t, Math.floor(pfn / span(L)) % 512);
      if ((lo & AMD_PTE_PR) === 0) return -1;
      const nl = (lo >>> AMD_PTE_NL_SHIFT) & 7;
      if (nl === 0 || nl === AMD_PTE_NL_SIZE || L === 1) {
        const bytes = AmdV1Domain.leafPages(lo, hi, L) * 4096;
        const addr = AmdV1Domain.addrOf(lo, hi);
        return addr - (addr % bytes) + (iova % bytes);
      }
      t = (lo >>> 12) & 0xfffff;
    }
    return -1;
  }

  destroy(): void {
    const rec = (t: number, L: number): void => {
      for (let i = 0; L > 1 && i < 512; i++) {
        const [lo] = this.entry(t, i);
        const nl = (lo >>> AMD_PTE_NL_SHIFT) & 7;
        if (lo & AMD_PTE_PR && nl !== 0 && nl !== AMD_PTE_NL_SIZE) rec((lo >>> 12) & 0xfffff, L - 1);
      }
      this.pool.free(t);
    };
    if (this.pool.inUse > 0) rec(this.root, this.level);
  }
}

export function createAmdV1Domain(o: AmdV1Options = {}): AmdV1Domain {
  return new AmdV1Domain(o);
}
