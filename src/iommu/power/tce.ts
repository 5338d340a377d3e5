// TCE tables (power-pe-tce-eeh.md §3.1-§3.3): 8-byte entries, bit 0 read, bit 1 write, bits
// 63:page_shift the real address; 1..5 levels sized as `pnv_pci_ioda2_table_alloc_pages` does, lower
// levels allocated on first write (`pnv_tce(..., alloc)`) and freed only with the table. The walk is
// the kernel's: every level table holds it_level_size = 2^(level_shift-3) entries and each level
// consumes log2(it_level_size) index bits, the top digit masked (`pnv_tce`). Entries live in
// Int32Array pairs (lo = bits 31:0, hi = bits 63:32); the hardware stores them big-endian, which
// `entryBytes` shows.

import { IommuError } from "../domain.js";

export const TCE_PCI_READ = 0x1;
export const TCE_PCI_WRITE = 0x2;
export const POWERNV_IOMMU_MAX_LEVELS = 5;
export const POWERNV_IOMMU_DEFAULT_LEVELS = 2;
/** Largest block `alloc_pages_node` hands out (ppc64, 64 KiB pages: order 8 = 16 MiB) [unverified]. */
export const TCE_LEVEL_MAX_BYTES = 2 ** 24;
const TWO32 = 4294967296;

export interface TceTableOptions {
  pageShift: number;
  /** Window size in bytes, a power of two. */
  windowSize: number;
  levels?: number;
  /** Host PAGE_SIZE shift (64 KiB on POWER): minimum table allocation. */
  hostPageShift?: number;
}

/**
 * `pnv_pci_ioda2_get_table_size`: bytes VFIO charges to locked memory for a table, every level fully
 * populated, counted twice (hardware table + "userspace view"); 0 = refused (levels, not a power of
 * two). A window smaller than one TCE page underflows the kernel's unsigned arithmetic; 0 here.
 */
export function tceTableSize(pageShift: number, windowSize: number, levels: number, hostPageShift = 16): number {
  if (!levels || levels > POWERNV_IOMMU_MAX_LEVELS) return 0;
  if (!(windowSize > 0) || 2 ** Math.round(Math.log2(windowSize)) !== windowSize) return 0;
  const entriesShift = Math.log2(windowSize) - pageShift;
  if (entriesShift < 0) return 0;
  let tceTableSize = Math.max(0x1000, 2 ** (entriesShift + 3));
  const direct = 2 ** Math.max(Math.ceil(entriesShift / levels) + 3, hostPageShift);
  let bytes = 0;
  for (; levels; --levels) {
    bytes += Math.ceil(tceTableSize / direct) * direct;
    tceTableSize = Math.max(Math.floor(tceTableSize / direct) * 8, direct);
  }
  return bytes + bytes;
}

export class TceTable {
  readonly pageShift: number;
  readonly entries: number;
  readonly levels: number;
  /** Index bits per level asked for (`s` = ceil(entries_shift / levels)). */
  readonly levelBits: number;
  /** Entries per allocated table (it_level_size; one level: it_size). */
  readonly tableEntries: number;
  /** it_size: max(entries, host page / 8); VFIO's find_table range, larger than the window when the table is rounded up. */
  readonly itSize: number;
  /** Index bits each level consumes in the walk: log2(it_level_size) (`pnv_tce`'s shift). */
  private readonly digitBits: number;
  /** 2^(digitBits * l) for l = 0..levels-1. */
  private readonly digitDiv: number[] = [];
  /** Level tables by id; 0 is the top. Each entry of a non-last level holds (child id + 1) in lo. */
  private readonly tables: Int32Array[] = [];
  private tableBytes = 0;

  constructor(o: TceTableOptions) {
    const levels = o.levels ?? POWERNV_IOMMU_DEFAULT_LEVELS;
    const ws = o.windowSize;
    const hps = o.hostPageShift ?? 16;
    if (levels < 1 || levels > POWERNV_IOMMU_MAX_LEVELS) throw new IommuError("window", "EINVAL", `TCE levels ${levels} not in 1..5`);
    if (!(ws > 0) || 2 ** Math.round(Math.log2(ws)) !== ws) throw new IommuError("window", "EINVAL", `window size ${ws} is not a power of two`);
    if (o.pageShift < 12 || 2 ** o.pageShift > ws) throw new IommuError("window", "EINVAL", `page shift ${o.pageShift} does not fit the window`);
    const entriesShift = Math.log2(ws) - o.pageShift;
    const s = Math.ceil(entriesShift / levels);
    const levelShift = Math.max(s + 3, hps);
    // pnv_pci_ioda2_table_alloc_pages: 55, not 60 (the spec's figure), since the file's first version.
    if ((levelShift - 3) * levels + o.pageShift >= 55) throw new IommuError("window", "EINVAL", `TCE table of ${levels} levels x 2^${levelShift} bytes is too large`);
    this.pageShift = o.pageShift;
    this.entries = 2 ** entriesShift;
    this.levels = levels;
    this.levelBits = s;
    this.itSize = Math.max(this.entries, 2 ** (hps - 3));
    // A one-level table is it_size entries (`tce_table_size`); lower levels are it_level_size each.
    this.tableEntries = levels === 1 ? this.itSize : 2 ** (levelShift - 3);
    this.digitBits = Math.log2(this.tableEntries);
    for (let l = 0; l < levels; l++) this.digitDiv.push(2 ** (this.digitBits * l));
    if (this.tableEntries * 8 > TCE_LEVEL_MAX_BYTES) throw new IommuError("window", "ENOMEM", `TCE level of ${this.tableEntries * 8} bytes exceeds the largest page allocation`);
    this.newTable();
  }

  private newTable(): number {
    const t = new Int32Array(this.tableEntries * 2);
    this.tables.push(t);
    this.tableBytes += this.tableEntries * 8;
    return this.tables.length - 1;
  }

  /** Table memory in 4 KiB pages (this table only; VFIO's userspace view is a second TceTable). */
  get tablePages(): number {
    return Math.ceil(this.tableBytes / 4096);
  }

  /** Level tables allocated (top included); 0 once freed. */
  get levelTables(): number {
    return this.tables.length;
  }

  /**
   * Leaf table and slot for entry idx, allocating lower levels when alloc (`pnv_tce`); -1 if absent.
   * Multi-level: the top digit is masked, so an index past the table wraps as in the kernel. One
   * level: the kernel indexes past the end of the table (memory corruption); here nothing is there.
   */
  private leaf(idx: number, alloc: boolean): number {
    const n = this.tableEntries;
    if (this.levels === 1) return idx >= 0 && idx < n ? idx : -1;
    let t = 0;
    for (let l = this.levels - 1; l > 0; l--) {
      const digit = Math.floor(idx / this.digitDiv[l]) % n;
      const c = this.tables[t][digit * 2];
      if (c === 0) {
        if (!alloc) return -1;
        const id = this.newTable();
        // Intermediate entry = PA(next table) | R | W; the table id stands in for its address.
        this.tables[t][digit * 2] = ((id + 1) << 12) | 3;
        t = id;
      } else t = (c >>> 12) - 1;
    }
    return t * TWO32 + (idx % n);
  }

  /** The lower levels for idx exist (`pnv_tce(..., alloc=false)` is not NULL). */
  has(idx: number): boolean {
    return this.leaf(idx, false) >= 0;
  }

  /** Allocates the lower levels for idx without writing (`pnv_tce(..., alloc=true)`). */
  ensure(idx: number): void {
    this.leaf(idx, true);
  }

  /** TCE at idx as [lo, hi] (0,0 when the lower level does not exist). */
  get(idx: number): [number, number] {
    const p = this.leaf(idx, false);
    if (p < 0) return [0, 0];
    const tab = this.tables[Math.floor(p / TWO32)];
    const slot = p % TWO32;
    return [tab[slot * 2] >>> 0, tab[slot * 2 + 1] >>> 0];
  }

  /** TCE value as a number (exact: address bits ≤ 52 plus the low permission bits). */
  getValue(idx: number): number {
    const [lo, hi] = this.get(idx);
    return hi * TWO32 + lo;
  }

  /** Writes a TCE (value as a number); writing 0 never allocates. Returns the old value (`xchg`). */
  set(idx: number, value: number): number {
    const p = this.leaf(idx, value !== 0);
    if (p < 0) return 0;
    const tab = this.tables[Math.floor(p / TWO32)];
    const slot = p % TWO32;
    const old = (tab[slot * 2 + 1] >>> 0) * TWO32 + (tab[slot * 2] >>> 0);
    tab[slot * 2] = value % TWO32;
    tab[slot * 2 + 1] = Math.floor(value / TWO32);
    return old;
  }

  /** The 8 bytes of TCE idx as the PHB reads them (big-endian, `cpu_to_be64`). */
  entryBytes(idx: number): number[] {
    const [lo, hi] = this.get(idx);
    return [hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
  }

  /** Frees everything (`pnv_pci_ioda2_table_free_pages`). */
  free(): void {
    this.tables.length = 0;
    this.tableBytes = 0;
  }

  get freed(): boolean {
    return this.tables.length === 0;
  }
}

/** TCE for a page: address | R | W; W implies R as the host builders do (`pnv_tce_build`). */
export function makeTce(pa: number, prot: number): number {
  const perm = prot & 2 ? TCE_PCI_READ | TCE_PCI_WRITE : prot & 1 ? TCE_PCI_READ : 0;
  return pa + perm;
}
