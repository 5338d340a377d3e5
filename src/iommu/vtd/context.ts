// VT-d legacy-mode root and context tables (io-pagetables.md §3) in their real 16-byte layout, and
// the per-unit domain-ID space. Root table: 256 entries by bus; context table: 256 entries by devfn.
// Both are 4 KiB pages from a TablePool (1024 words = 256 entries x 4 dwords).

import { IommuError } from "../domain.js";
import { TablePool, TABLE_WORDS } from "../table-pool.js";

export const CONTEXT_TT_MULTI_LEVEL = 0;
export const CONTEXT_TT_DEV_IOTLB = 1;
export const CONTEXT_TT_PASS_THROUGH = 2;
/** Model address of context-table page i (only for the root entry's CTP field). */
const CTX_SPACE = 0x7f0000000000;

export interface ContextEntry {
  present: boolean;
  fpd: boolean;
  tt: number;
  /** SLPTPTR: physical address of the domain's top table. */
  slptptr: number;
  aw: number;
  did: number;
}

export class RootContextTables {
  private readonly pool = new TablePool(4, 257);
  readonly root: number;
  /** Context-table page per bus, -1 = none (mirrors root entry P/CTP for fast lookup). */
  private readonly ctxOfBus = new Int32Array(256).fill(-1);

  constructor() {
    this.root = this.pool.alloc();
  }

  /** Root entry for bus as [lo, hi] dwords of bits 63:0. */
  rootEntry(bus: number): [number, number] {
    const w = this.root * TABLE_WORDS + bus * 4;
    return [this.pool.words[w], this.pool.words[w + 1]];
  }

  /** Context entry for (bus, devfn) as the four dwords of its 128 bits; all zero without a root entry. */
  contextWords(bus: number, devfn: number): [number, number, number, number] {
    const t = this.ctxOfBus[bus];
    if (t < 0) return [0, 0, 0, 0];
    const w = t * TABLE_WORDS + devfn * 4;
    const m = this.pool.words;
    return [m[w], m[w + 1], m[w + 2], m[w + 3]];
  }

  rootPresent(bus: number): boolean {
    return (this.rootEntry(bus)[0] & 1) === 1;
  }

  context(bus: number, devfn: number): ContextEntry {
    const [w0, w1, w2] = this.contextWords(bus, devfn);
    return {
      present: (w0 & 1) === 1,
      fpd: (w0 & 2) === 2,
      tt: (w0 >>> 2) & 3,
      slptptr: w1 * 4294967296 + ((w0 & 0xfffff000) >>> 0),
      aw: w2 & 7,
      did: (w2 >>> 8) & 0xffff,
    };
  }

  /**
   * `domain_context_mapping_one`: writes a context entry only if not present (returns false and
   * leaves it untouched otherwise). Allocates the bus's context table on demand (root P=1).
   */
  setContext(bus: number, devfn: number, e: Omit<ContextEntry, "present">): boolean {
    let t = this.ctxOfBus[bus];
    if (t < 0) {
      t = this.pool.alloc();
      this.ctxOfBus[bus] = t;
      const rw = this.root * TABLE_WORDS + bus * 4;
      const ctp = CTX_SPACE + t * 4096;
      this.pool.words[rw] = ((ctp % 4294967296) & 0xfffff000) | 1;
      this.pool.words[rw + 1] = Math.floor(ctp / 4294967296);
    }
    const w = t * TABLE_WORDS + devfn * 4;
    const m = this.pool.words;
    if (m[w] & 1) return false;
    m[w] = ((e.slptptr % 4294967296) & 0xfffff000) | ((e.tt & 3) << 2) | (e.fpd ? 2 : 0) | 1;
    m[w + 1] = Math.floor(e.slptptr / 4294967296) >>> 0;
    m[w + 2] = (e.aw & 7) | ((e.did & 0xffff) << 8);
    m[w + 3] = 0;
    return true;
  }

  /** `domain_context_clear_one`: zero the entry. */
  clearContext(bus: number, devfn: number): void {
    const t = this.ctxOfBus[bus];
    if (t < 0) return;
    this.pool.words.fill(0, t * TABLE_WORDS + devfn * 4, t * TABLE_WORDS + devfn * 4 + 4);
  }

  get tablePages(): number {
    return this.pool.inUse;
  }
}

/**
 * Domain IDs of one unit (`iommu_init_domains`, `domain_attach_iommu`): 2^(4+2*ND) IDs, DID 0
 * reserved (Caching Mode tags invalid entries with it) and FLPT_DEFAULT_DID = 1 reserved; lowest
 * free first; exhaustion is ENOSPC.
 */
export class DomainIdSpace {
  readonly count: number;
  private readonly used: Uint8Array;

  constructor(readonly nd = 2) {
    if (nd < 0 || nd > 6) throw new IommuError("alloc", "EINVAL", `cap ND ${nd} out of 0..6`);
    this.count = 2 ** (4 + 2 * nd);
    this.used = new Uint8Array(this.count);
    this.used[0] = 1;
    this.used[1] = 1;
  }

  alloc(): number {
    const i = this.used.indexOf(0);
    if (i < 0) throw new IommuError("attach", "ENOSPC", `no free domain ID (${this.count} IDs)`);
    this.used[i] = 1;
    return i;
  }

  free(did: number): void {
    if (did > 1) this.used[did] = 0;
  }
}
