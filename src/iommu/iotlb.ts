// IOTLB model (io-pagetables.md §8): a set-associative cache of leaf translations tagged by domain
// ID, page number and leaf level, with LRU replacement. Typed arrays only; one entry per way slot.
// Invalidation kinds as the hardware has them: global, domain-selective (DSI), page-selective (PSI:
// 2^AM pages at an address aligned to that block). Entries overlapping the block are dropped.

const INV = [0, 1, 2 ** -9, 2 ** -18];
const SPAN_PAGES = [0, 1, 512, 262144];

export interface IotlbCounters {
  hits: number;
  misses: number;
  /** Page walks done to fill the cache (counted by the unit on a miss). */
  walks: number;
  fills: number;
  evictions: number;
  globalInvalidations: number;
  domainInvalidations: number;
  pageInvalidations: number;
  /** Entries dropped by any invalidation. */
  entriesInvalidated: number;
}

export class Iotlb {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  /** Tag: page number in units of the leaf size (iova / (4K << 9(level-1))). */
  private readonly tagKey: Float64Array;
  /** Domain ID, -1 = invalid slot. */
  private readonly tagDid: Int32Array;
  private readonly tagLevel: Uint8Array;
  /** Physical 4K page number of the leaf's first byte. */
  private readonly paPfn: Float64Array;
  private readonly perm: Uint8Array;
  private readonly stamp: Float64Array;
  private clock = 0;
  /** Valid entries per leaf level, so a lookup skips levels holding nothing. */
  private readonly perLevel = new Int32Array(4);
  /** Permission bits (R=1, W=2) of the last hit. */
  lastPerm = 0;
  readonly counters: IotlbCounters = {
    hits: 0, misses: 0, walks: 0, fills: 0, evictions: 0,
    globalInvalidations: 0, domainInvalidations: 0, pageInvalidations: 0, entriesInvalidated: 0,
  };

  constructor(entries = 512, ways = 8) {
    if (entries <= 0 || ways <= 0 || entries % ways !== 0) throw new RangeError(`IOTLB ${entries} entries / ${ways} ways`);
    const sets = entries / ways;
    if ((sets & (sets - 1)) !== 0) throw new RangeError(`IOTLB set count ${sets} must be a power of two`);
    this.entries = entries;
    this.ways = ways;
    this.sets = sets;
    this.tagKey = new Float64Array(entries);
    this.tagDid = new Int32Array(entries).fill(-1);
    this.tagLevel = new Uint8Array(entries);
    this.paPfn = new Float64Array(entries);
    this.perm = new Uint8Array(entries);
    this.stamp = new Float64Array(entries);
  }

  private setOf(did: number, key: number, level: number): number {
    const k = key | 0;
    return ((k ^ (k >>> 13) ^ Math.imul(did, 0x9e3779b1) ^ (level << 5)) >>> 0) & (this.sets - 1);
  }

  /** Physical address for iova in domain did, or -1 on a miss. Sets lastPerm on a hit. */
  lookup(did: number, iova: number): number {
    const pfn = iova * (1 / 4096);
    for (let L = 1; L <= 3; L++) {
      if (this.perLevel[L] === 0) continue;
      const key = Math.floor(pfn * INV[L]);
      const base = this.setOf(did, key, L) * this.ways;
      for (let w = base, end = base + this.ways; w < end; w++) {
        if (this.tagKey[w] === key && this.tagDid[w] === did && this.tagLevel[w] === L) {
          this.stamp[w] = ++this.clock;
          this.lastPerm = this.perm[w];
          this.counters.hits++;
          return this.paPfn[w] * 4096 + (iova - key * SPAN_PAGES[L] * 4096);
        }
      }
    }
    this.counters.misses++;
    return -1;
  }

  /** Caches the leaf at `level` that maps iova to pa, with permission bits perm. */
  fill(did: number, iova: number, pa: number, level: number, perm: number): void {
    const span = SPAN_PAGES[level] * 4096;
    const key = Math.floor(iova / span);
    const base = this.setOf(did, key, level) * this.ways;
    let victim = base;
    for (let w = base, end = base + this.ways; w < end; w++) {
      if (this.tagDid[w] < 0) {
        victim = w;
        break;
      }
      if (this.stamp[w] < this.stamp[victim]) victim = w;
    }
    if (this.tagDid[victim] >= 0) {
      this.counters.evictions++;
      this.perLevel[this.tagLevel[victim]]--;
    }
    this.tagKey[victim] = key;
    this.tagDid[victim] = did;
    this.tagLevel[victim] = level;
    this.paPfn[victim] = (pa - (iova - key * span)) / 4096;
    this.perm[victim] = perm;
    this.stamp[victim] = ++this.clock;
    this.perLevel[level]++;
    this.counters.fills++;
  }

  private drop(w: number): void {
    this.perLevel[this.tagLevel[w]]--;
    this.tagDid[w] = -1;
    this.counters.entriesInvalidated++;
  }

  /** Global invalidation (IIRG 1). */
  invalidateGlobal(): void {
    this.counters.globalInvalidations++;
    for (let w = 0; w < this.entries; w++) if (this.tagDid[w] >= 0) this.drop(w);
  }

  /** Domain-selective invalidation (IIRG 2). */
  invalidateDomain(did: number): void {
    this.counters.domainInvalidations++;
    for (let w = 0; w < this.entries; w++) if (this.tagDid[w] === did) this.drop(w);
  }

  /**
   * Page-selective invalidation (IIRG 3): entries of did overlapping the 2^am pages at addr
   * (addr must be aligned to 4 KiB << am; the caller checks AM against MAMV).
   */
  invalidatePages(did: number, addr: number, am: number): void {
    this.counters.pageInvalidations++;
    const first = addr / 4096;
    const last = first + 2 ** am - 1;
    let probes = 0;
    for (let L = 1; L <= 3; L++) if (this.perLevel[L] > 0) probes += Math.floor(last * INV[L]) - Math.floor(first * INV[L]) + 1;
    if (probes * this.ways >= this.entries) {
      for (let w = 0; w < this.entries; w++) {
        if (this.tagDid[w] !== did) continue;
        const L = this.tagLevel[w];
        const lo = this.tagKey[w] * SPAN_PAGES[L];
        if (lo <= last && lo + SPAN_PAGES[L] - 1 >= first) this.drop(w);
      }
      return;
    }
    for (let L = 1; L <= 3; L++) {
      if (this.perLevel[L] === 0) continue;
      const kEnd = Math.floor(last * INV[L]);
      for (let key = Math.floor(first * INV[L]); key <= kEnd; key++) {
        const base = this.setOf(did, key, L) * this.ways;
        for (let w = base; w < base + this.ways; w++) {
          if (this.tagKey[w] === key && this.tagDid[w] === did && this.tagLevel[w] === L) this.drop(w);
        }
      }
    }
  }

  /** Valid entries (tests). */
  get size(): number {
    return this.perLevel[1] + this.perLevel[2] + this.perLevel[3];
  }
}
