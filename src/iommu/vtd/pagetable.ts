// VT-d second-level page table, legacy format (io-pagetables.md §1-§7): 3/4/5 levels of 4 KiB
// tables, 512 eight-byte entries; bit 0 R, bit 1 W, bit 7 PS (levels 2/3 only), bits 51:12 address.
// An IOVA is split into two int32 halves (lo32 = bits 31:0, hi32 = bits 63:32) or handled as a page
// number (pfn = iova / 4096, an exact double) whose level index is a multiply + int32 truncation:
// no 64-bit shifts and no BigInt on the hot path.
// Table i of this table's pool lives at "physical" address space * 2^40 + i * 4096; the space id
// lets a context entry's SLPTPTR name this table (see vtd/context.ts).

import { TablePool, TABLE_WORDS } from "../table-pool.js";

export const DMA_PTE_READ = 0x1;
export const DMA_PTE_WRITE = 0x2;
export const DMA_PTE_LARGE_PAGE = 0x80;
export const DMA_PTE_SNP = 0x800;
/** Bits 6:2 are reserved in legacy mode (fault 0xC when set). */
export const DMA_PTE_RSVD_LO = 0x7c;

const TWO32 = 4294967296;
/** 2^-(9(L-1)): pfn * INV[L] truncated gives the index bits of level L and above. */
const INV = [0, 1, 2 ** -9, 2 ** -18, 2 ** -27, 2 ** -36];
/** Pages covered by one entry at level L. */
export const SPAN_PAGES = [0, 1, 512, 262144, 134217728, 68719476736];
/** Byte offset mask inside a leaf at level L (leaves exist at levels 1..3 only). */
const OFF_MASK = [0, 0xfff, 0x1fffff, 0x3fffffff];

let nextSpace = 1;
/** Table spaces by id, so a unit can resolve an SLPTPTR to the page table it names. */
export const tableSpaces = new Map<number, VtdPageTable>();

export class VtdPageTable {
  readonly pool: TablePool;
  /** pool.words, refreshed after every allocation (saves a dependent load on every walk). */
  private words: Int32Array;
  readonly root: number;
  readonly space: number;
  /** High word of every table-pointer entry: the space id in bits 51:40. */
  private readonly hiTag: number;
  /** Highest leaf level allowed: 1 (4K only), 2 (+2M), 3 (+1G). */
  readonly maxLeaf: number;
  /** Tables unlinked by the last map/unmap, to be freed after the IOTLB flush (the gather's freelist). */
  readonly pendingFree: number[] = [];
  /** Walk cache: the level-1 table covering pfns [cachedBase, cachedBase + 512). Dropped when any table is unlinked. */
  private cachedBase = -1;
  private cachedTable = -1;
  /** Leaf level reached by the last dmaWalk (for the IOTLB tag). */
  walkLevel = 0;
  /** R/W bits ANDed over the last dmaWalk (what the IOTLB caches). */
  walkPerm = 0;

  constructor(
    readonly levels: 3 | 4 | 5,
    maxLeaf = 3,
    initialTables = 16,
    maxTables?: number,
  ) {
    this.maxLeaf = maxLeaf;
    this.pool = new TablePool(initialTables, maxTables);
    this.space = nextSpace;
    nextSpace = (nextSpace % 4095) + 1;
    this.hiTag = this.space << 8;
    this.root = this.pool.alloc(); // paging_domain_alloc allocates the pgd up front
    this.words = this.pool.words;
    tableSpaces.set(this.space, this);
  }

  get width(): number {
    return 12 + 9 * this.levels;
  }

  /** Physical address of table t (what a parent entry or a context entry's SLPTPTR holds). */
  tableAddress(t: number): number {
    return this.space * 2 ** 40 + t * 4096;
  }

  /** Grows the pool ahead of a large map. */
  reserve(n: number): void {
    this.pool.reserve(n);
    this.words = this.pool.words;
  }

  /** Table index from a table entry (pool indices < 2^20 sit in address bits 31:12). */
  static childOf(lo: number, _hi = 0): number {
    return lo >>> 12;
  }

  /** Raw entry words of table t, slot i (tests, dumps). */
  entry(t: number, i: number): { lo: number; hi: number } {
    const w = t * TABLE_WORDS + i * 2;
    return { lo: this.pool.words[w] >>> 0, hi: this.pool.words[w + 1] >>> 0 };
  }

  /** Writes one raw entry (tests inject malformed entries with it). */
  setEntry(t: number, i: number, lo: number, hi: number): void {
    const w = t * TABLE_WORDS + i * 2;
    this.pool.words[w] = lo;
    this.pool.words[w + 1] = hi;
    this.cachedBase = -1;
  }

  /**
   * Table at level lv+1 above the leaf slot for ipfn, allocating missing tables (`pfn_to_dma_pte`,
   * linked as PA|R|W). Returns -1 when a leaf sits where a table is needed (EADDRINUSE).
   */
  private walkAlloc(ipfn: number, lv: number): number {
    let t = this.root;
    for (let L: number = this.levels; L > lv; L--) {
      const w = t * TABLE_WORDS + (((ipfn * INV[L]) & 511) << 1);
      const lo = this.pool.words[w];
      if ((lo & 3) === 0) {
        const c = this.pool.alloc();
        const words = (this.words = this.pool.words); // alloc may have grown the pool
        words[w] = (c << 12) | 3;
        words[w + 1] = this.hiTag;
        t = c;
      } else if (lo & DMA_PTE_LARGE_PAGE) {
        return -1;
      } else {
        t = lo >>> 12;
      }
    }
    return t;
  }

  /** One 4 KiB leaf (the per-page map path); false when the slot is taken (EADDRINUSE). */
  map4k(ipfn: number, ppfn: number, prot: number): boolean {
    const base = ipfn - (ipfn & 511);
    let t = this.cachedTable;
    if (base !== this.cachedBase) {
      t = this.walkAlloc(ipfn, 1);
      if (t < 0) return false;
      this.cachedBase = base;
      this.cachedTable = t;
    }
    const words = this.words;
    const w = (t << 10) | ((ipfn & 511) << 1);
    if ((words[w] & 3) !== 0) return false;
    words[w] = ((ppfn & 0xfffff) << 12) | prot;
    words[w + 1] = (ppfn * 2 ** -20) & 0xfffff;
    return true;
  }

  /**
   * Writes `count` leaves at level lv (1: 4K, 2: 2M, 3: 1G) for consecutive pages; prot = R/W (+SNP).
   * Returns how many were written; fewer means EADDRINUSE at the next one (generic_pt rule, §5.4).
   */
  mapLeaves(ipfn: number, ppfn: number, lv: number, count: number, prot: number): number {
    const ps = lv > 1 ? DMA_PTE_LARGE_PAGE : 0;
    const step = SPAN_PAGES[lv];
    let done = 0;
    while (done < count) {
      let t: number;
      const base = ipfn - (ipfn & 511);
      if (lv === 1 && base === this.cachedBase) {
        t = this.cachedTable;
      } else {
        t = this.walkAlloc(ipfn, lv);
        if (t < 0) return done;
        if (lv === 1) {
          this.cachedBase = base;
          this.cachedTable = t;
        }
      }
      const words = this.pool.words;
      let w = t * TABLE_WORDS + (((ipfn * INV[lv]) & 511) << 1);
      const n = Math.min(count - done, (t * TABLE_WORDS + TABLE_WORDS - w) >> 1);
      // Entry words advance with int32 arithmetic: lo by step pages, carrying into hi.
      const inc = lv === 1 ? 4096 : lv === 2 ? 0x200000 : 0x40000000;
      let lo = (((ppfn & 0xfffff) << 12) | prot | ps) >>> 0;
      let hi = (ppfn * 2 ** -20) & 0xfffff;
      for (let k = 0; k < n; k++, w += 2) {
        if ((words[w] & 3) !== 0 && !this.replaceEmptyTable(words, w, lv)) return done + k;
        words[w] = lo;
        words[w + 1] = hi;
        lo += inc;
        if (lo >= 4294967296) {
          lo -= 4294967296;
          hi++;
        }
      }
      done += n;
      ipfn += n * step;
      ppfn += n * step;
    }
    return done;
  }

  /**
   * A superpage is wanted where a table is linked: allowed only when nothing below is mapped; the
   * tables are then unlinked into pendingFree (§5.4 "replace; free after the IOTLB flush").
   */
  private replaceEmptyTable(words: Int32Array, w: number, lv: number): boolean {
    const lo = words[w];
    if (lv === 1 || lo & DMA_PTE_LARGE_PAGE) return false;
    const child = VtdPageTable.childOf(lo, words[w + 1]);
    if (this.subtreeMaps(child, lv - 1)) return false;
    this.unlinkSubtree(child, lv - 1);
    words[w] = 0;
    words[w + 1] = 0;
    return true;
  }

  private subtreeMaps(t: number, L: number): boolean {
    const words = this.pool.words;
    for (let i = 0; i < 512; i++) {
      const lo = words[t * TABLE_WORDS + 2 * i];
      if ((lo & 3) === 0) continue;
      if (L === 1 || lo & DMA_PTE_LARGE_PAGE) return true;
      if (this.subtreeMaps(VtdPageTable.childOf(lo, words[t * TABLE_WORDS + 2 * i + 1]), L - 1)) return true;
    }
    return false;
  }

  /** Queues table t and every table below it for freeing. */
  private unlinkSubtree(t: number, L: number): void {
    if (L > 1) {
      const words = this.pool.words;
      for (let i = 0; i < 512; i++) {
        const lo = words[t * TABLE_WORDS + 2 * i];
        if ((lo & 3) !== 0 && !(lo & DMA_PTE_LARGE_PAGE)) {
          this.unlinkSubtree(VtdPageTable.childOf(lo, words[t * TABLE_WORDS + 2 * i + 1]), L - 1);
        }
      }
    }
    this.pendingFree.push(t);
    this.cachedBase = -1;
  }

  /** Frees the tables in pendingFree (called after the IOTLB flush). */
  releasePending(): number {
    const n = this.pendingFree.length;
    for (let i = 0; i < n; i++) this.pool.free(this.pendingFree[i]);
    this.pendingFree.length = 0;
    return n;
  }

  private stopped = false;

  /** One 4 KiB page in the cached level-1 table: bytes removed (0 at a hole), or -1 = take the general path. */
  unmap4k(ipfn: number): number {
    if (ipfn - (ipfn & 511) !== this.cachedBase) return -1;
    const words = this.words;
    const w = (this.cachedTable << 10) | ((ipfn & 511) << 1);
    if ((words[w] & 3) === 0) return 0;
    words[w] = 0;
    words[w + 1] = 0;
    return 4096;
  }

  /**
   * Unmaps from ipfn for npages with the generic_pt rule (§6.2): leaves whose first page is covered
   * are removed whole; a start inside a leaf or a hole stops the walk. Tables whose whole span is
   * covered are unlinked into pendingFree. Returns pages removed.
   */
  unmapPages(ipfn: number, npages: number): number {
    const base = ipfn - (ipfn & 511);
    if (base === this.cachedBase && ((ipfn & 511) !== 0 || npages < 512)) {
      // Fast path inside the cached level-1 table, which this range cannot cover whole.
      const words = this.pool.words;
      let w = this.cachedTable * TABLE_WORDS + ((ipfn & 511) << 1);
      const room = 512 - (ipfn & 511);
      const n = npages < room ? npages : room;
      for (let i = 0; i < n; i++, w += 2) {
        if ((words[w] & 3) === 0) return i;
        words[w] = 0;
        words[w + 1] = 0;
      }
      if (n === npages) return n;
      this.stopped = false;
      return n + this.unmapLevel(this.root, this.levels, ipfn + n, ipfn + npages);
    }
    this.stopped = false;
    return this.unmapLevel(this.root, this.levels, ipfn, ipfn + npages);
  }

  private unmapLevel(t: number, L: number, pfn: number, end: number): number {
    let removed = 0;
    const span = SPAN_PAGES[L];
    let idx = (pfn * INV[L]) & 511;
    while (pfn < end && idx < 512) {
      const w = t * TABLE_WORDS + (idx << 1);
      const words = this.pool.words;
      const lo = words[w];
      if ((lo & 3) === 0) {
        this.stopped = true;
        return removed;
      }
      if (L === 1 || lo & DMA_PTE_LARGE_PAGE) {
        if (L > 1 && (pfn & (span - 1)) !== 0) {
          this.stopped = true; // start inside a superpage: refuse (generic_pt -EINVAL)
          return removed;
        }
        words[w] = 0;
        words[w + 1] = 0;
        removed += span;
        pfn += span;
      } else {
        const entryBase = Math.floor(pfn / span) * span;
        const covered = entryBase === pfn && end - pfn >= span;
        const child = VtdPageTable.childOf(lo, words[w + 1]);
        if (L === 2) {
          this.cachedBase = entryBase;
          this.cachedTable = child;
        }
        removed += this.unmapLevel(child, L - 1, pfn, Math.min(end, entryBase + span));
        if (this.stopped) return removed;
        if (covered) {
          this.pendingFree.push(child);
          this.cachedBase = -1;
          this.pool.words[w] = 0;
          this.pool.words[w + 1] = 0;
        }
        pfn = entryBase + span;
      }
      idx++;
    }
    return removed;
  }

  /**
   * Software lookup (`intel_iommu_iova_to_phys`): physical address or -1 when not mapped. The walk
   * returns a word index (a small integer) so that, inlined or not, no 64-bit value gets boxed.
   */
  iovaToPhys(iova: number): number {
    const lo32 = iova >>> 0;
    const w = this.leafWord(lo32, (iova * 2.3283064365386963e-10) | 0);
    if (w < 0) return -1;
    const words = this.words;
    const lo = words[w];
    const off = (lo & DMA_PTE_LARGE_PAGE) === 0 ? lo32 & 0xfff : this.leafLevel === 3 ? lo32 & 0x3fffffff : lo32 & 0x1fffff;
    return (words[w + 1] & 0xfffff) * TWO32 + (((lo & -4096) | off) >>> 0);
  }

  /** Level of the superpage leaf found by the last leafWord. */
  private leafLevel = 1;

  /** Word index of the leaf entry mapping the IOVA (lo32, hi32), or -1. Unrolled walk. */
  private leafWord(lo32: number, hi32: number): number {
    const words = this.words;
    let t = this.root;
    if (this.levels > 3) {
      if (this.levels === 5) {
        const lo = words[(t << 10) | (((hi32 >>> 16) & 511) << 1)];
        if ((lo & 3) === 0) return -1;
        t = lo >>> 12;
      }
      const lo = words[(t << 10) | (((hi32 >>> 7) & 511) << 1)];
      if ((lo & 3) === 0) return -1;
      t = lo >>> 12;
    }
    let w = (t << 10) | ((((lo32 >>> 30) | (hi32 << 2)) & 511) << 1);
    let lo = words[w];
    if ((lo & 3) === 0) return -1;
    if (lo & DMA_PTE_LARGE_PAGE) {
      this.leafLevel = 3;
      return w;
    }
    w = ((lo >>> 12) << 10) | (((lo32 >>> 21) & 511) << 1);
    lo = words[w];
    if ((lo & 3) === 0) return -1;
    if (lo & DMA_PTE_LARGE_PAGE) {
      this.leafLevel = 2;
      return w;
    }
    w = ((lo >>> 12) << 10) | (((lo32 >>> 12) & 511) << 1);
    return (words[w] & 3) === 0 ? -1 : w;
  }

  /**
   * Hardware walk for one DMA (§4 step 3): physical address, or the negated fault reason
   * (0x5 write / 0x6 read not permitted or not present, 0xC reserved bits). R/W are ANDed along
   * the walk as QEMU's vtd_iova_to_slpte does. Sets walkLevel to the leaf level.
   */
  dmaWalk(iova: number, write: boolean): number {
    const words = this.words;
    const pfn = iova * (1 / 4096);
    const need = write ? DMA_PTE_WRITE : DMA_PTE_READ;
    const deny = write ? -0x5 : -0x6;
    let t = this.root;
    let perm = 3;
    for (let L: number = this.levels; L > 0; L--) {
      const w = t * TABLE_WORDS + (((pfn * INV[L]) & 511) << 1);
      const lo = words[w];
      const hi = words[w + 1];
      perm &= lo;
      if ((lo & need) === 0) return deny;
      if (lo & DMA_PTE_RSVD_LO || hi & 0x60000000) return -0xc;
      const ps = (lo & DMA_PTE_LARGE_PAGE) !== 0;
      if (ps && (L === 1 || L > 3)) return -0xc;
      if (L === 1 || ps) {
        if (((lo >>> 12) & (SPAN_PAGES[L] - 1)) !== 0) return -0xc; // unaligned superpage address
        this.walkLevel = L;
        this.walkPerm = perm;
        return (hi & 0xfffff) * TWO32 + (lo >>> 12) * 4096 + (iova & OFF_MASK[L]);
      }
      t = lo >>> 12;
    }
    return deny;
  }

  /** Leaves as [iova, pa, size, prot] in IOVA order (walk for dumps and tests). */
  walk(visit: (iova: number, pa: number, size: number, prot: number) => void): void {
    const rec = (t: number, L: number, basePfn: number): void => {
      const words = this.pool.words;
      for (let i = 0; i < 512; i++) {
        const lo = words[t * TABLE_WORDS + 2 * i];
        if ((lo & 3) === 0) continue;
        const hi = words[t * TABLE_WORDS + 2 * i + 1];
        const pfn = basePfn + i * SPAN_PAGES[L];
        if (L === 1 || lo & DMA_PTE_LARGE_PAGE) {
          visit(pfn * 4096, (hi & 0xfffff) * TWO32 + (lo >>> 12) * 4096, SPAN_PAGES[L] * 4096, lo & 3);
        } else rec(VtdPageTable.childOf(lo, hi), L - 1, pfn);
      }
    };
    rec(this.root, this.levels, 0);
  }

  /** Frees every table including the root (`domain_exit`). */
  destroy(): void {
    this.releasePending();
    const rec = (t: number, L: number): void => {
      if (L > 1) {
        const words = this.pool.words;
        for (let i = 0; i < 512; i++) {
          const lo = words[t * TABLE_WORDS + 2 * i];
          if ((lo & 3) !== 0 && !(lo & DMA_PTE_LARGE_PAGE)) rec(VtdPageTable.childOf(lo, words[t * TABLE_WORDS + 2 * i + 1]), L - 1);
        }
      }
      this.pool.free(t);
    };
    if (this.pool.inUse > 0) rec(this.root, this.levels);
    this.cachedBase = -1;
    tableSpaces.delete(this.space);
  }
}
