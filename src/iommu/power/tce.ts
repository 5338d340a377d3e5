// TCE tables (power-pe-tce-eeh.md §3.1-§3.3): 8-byte entries, bit 0 read, bit 1 write, bits
// 63:page_shift the real address; 1..5 levels sized as `pnv_pci_ioda2_table_alloc_pages` does, lower
// levels allocated on first write (`pnv_tce(..., alloc)`) and freed only with the table. Entries live
// in Int32Array pairs (lo = bits 31:0, hi = bits 63:32); the hardware stores them big-endian, which
// `entryBytes` shows.

import { IommuError } from "../domain.js";

export const TCE_PCI_READ = 0x1;
export const TCE_PCI_WRITE = 0x2;
export const POWERNV_IOMMU_MAX_LEVELS = 5;
export const POWERNV_IOMMU_DEFAULT_LEVELS = 2;
const TWO32 = 4294967296;

export interface TceTableOptions {
  pageShift: number;
  /** Window size in bytes, a power of two. */
  windowSize: number;
  levels?: number;
  /** Host PAGE_SIZE shift (64 KiB on POWER): minimum table allocation. */
  hostPageShift?: number;
}

export class TceTable {
  readonly pageShift: number;
  readonly entries: number;
  readonly levels: number;
  /** Index bits per level (`s`). */
  readonly levelBits: number;
  /** Entries per allocated table: max(2^s, host page / 8). */
  readonly tableEntries: number;
  /** Level tables by id; 0 is the top. Each entry of a non-last level holds (child id + 1) in lo. */
  private readonly tables: Int32Array[] = [];
  private tableBytes = 0;

  constructor(o: TceTableOptions) {
    const levels = o.levels ?? POWERNV_IOMMU_DEFAULT_LEVELS;
    const ws = o.windowSize;
    if (levels < 1 || levels > POWERNV_IOMMU_MAX_LEVELS) throw new IommuError("window", "EINVAL", `TCE levels ${levels} not in 1..5`);
    if (!(ws > 0) || 2 ** Math.round(Math.log2(ws)) !== ws) throw new IommuError("window", "EINVAL", `window size ${ws} is not a power of two`);
    if (o.pageShift < 12 || 2 ** o.pageShift > ws) throw new IommuError("window", "EINVAL", `page shift ${o.pageShift} does not fit the window`);
    const entriesShift = Math.log2(ws) - o.pageShift;
    const s = Math.ceil(entriesShift / levels);
    const levelShift = Math.max(s + 3, o.hostPageShift ?? 16);
    if ((levelShift - 3) * levels + o.pageShift >= 60) throw new IommuError("window", "EINVAL", `TCE table of ${levels} levels x 2^${levelShift} bytes is too large`);
    this.pageShift = o.pageShift;
    this.entries = 2 ** entriesShift;
    this.levels = levels;
    this.levelBits = s;
    // A one-level table needs only as many entries as the window has (still at least a host page).
    this.tableEntries = Math.max(2 ** s, 2 ** (levelShift - 3));
    if (levels === 1) this.tableEntries = Math.max(this.entries, 2 ** ((o.hostPageShift ?? 16) - 3));
    this.newTable();
  }

  private newTable(): number {
    const t = new Int32Array(this.tableEntries * 2);
    this.tables.push(t);
    this.tableBytes += this.tableEntries * 8;
    return this.tables.length - 1;
  }

  /** Table memory in 4 KiB pages (the hardware table; the "userspace view" copy is not modelled). */
  get tablePages(): number {
    return Math.ceil(this.tableBytes / 4096);
  }

  /** Leaf table and slot for entry idx, allocating lower levels when alloc (`pnv_tce`). -1 if absent. */
  private leaf(idx: number, alloc: boolean): number {
    let t = 0;
    for (let l = this.levels - 1; l > 0; l--) {
      const digit = Math.floor(idx / 2 ** (this.levelBits * l)) % 2 ** this.levelBits;
      const tab = this.tables[t];
      const c = tab[digit * 2];
      if (c === 0) {
        if (!alloc) return -1;
        const n = this.newTable();
        // Intermediate entry = PA(next table) | R | W; the table id stands in for its address.
        this.tables[t][digit * 2] = ((n + 1) << 12) | 3;
        t = n;
      } else t = (c >>> 12) - 1;
    }
    return t * 0x100000000 + (idx % 2 ** this.levelBits);
  }

  /** TCE at idx as [lo, hi] (0,0 when the lower level does not exist). */
  get(idx: number): [number, number] {
    const p = this.leaf(idx, false);
    if (p < 0) return [0, 0];
    const tab = this.tables[Math.floor(p / 0x100000000)];
    const slot = p % 0x100000000;
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
    const tab = this.tables[Math.floor(p / 0x100000000)];
    const slot = p % 0x100000000;
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
}

/** TCE for a page: address | R | W; W implies R as the host builders do (`pnv_tce_build`). */
export function makeTce(pa: number, prot: number): number {
  const perm = prot & 2 ? TCE_PCI_READ | TCE_PCI_WRITE : prot & 1 ? TCE_PCI_READ : 0;
  return pa + perm;
}
