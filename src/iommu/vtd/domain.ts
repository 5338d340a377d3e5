// A VT-d paging domain behind IommuDomain: the core's page-size splitting (`iommu_map` /
// `iommu_pgsize`, `__iommu_unmap`) over VtdPageTable, plus the invalidation that follows an unmap:
// strict (PSI per unmap, then free tables: `intel_iommu_tlb_sync`) or lazy (flush queue, §9).

import { IommuError, type DomainStats, type IommuDomain, type IovaRange } from "../domain.js";
import { FlushQueue } from "../flush-queue.js";
import { DMA_PTE_SNP, SPAN_PAGES, VtdPageTable } from "./pagetable.js";

const PAGE_INV = 1 / 4096;

export const X86_MSI_WINDOW: IovaRange = { start: 0xfee00000, last: 0xfeefffff };
/** QEMU intel-iommu default: 4K | 2M | 1G. */
export const VTD_DEFAULT_PGSIZE_BITMAP = 0x40201000;

/** Where a domain sends its invalidations: each IOMMU unit it is attached to (vtd/unit.ts). */
export interface InvalidationSink {
  /** Page-selective flush of [iova, iova+size) for this domain's DID on that unit; ih = only leaves changed. */
  flushRange(domain: VtdDomain, iova: number, size: number, ih: boolean): void;
  /** Domain-selective flush (flush queue, flush_iotlb_all). */
  flushDomain(domain: VtdDomain): void;
  /** After map: Caching-Mode units must invalidate not-present→present changes (§5.5). */
  mapped?(domain: VtdDomain, iova: number, size: number): void;
}

export interface VtdDomainOptions {
  /** 3, 4 or 5 levels = 39, 48, 57-bit IOVA. Default 3 (QEMU intel-iommu aw-bits=39). */
  levels?: 3 | 4 | 5;
  /** fls(SLLPS): 0 = 4K only (or intel_iommu=sp_off), 1 = +2M, 2 = +1G (default). */
  superpages?: 0 | 1 | 2;
  /** Set SNP on leaves (`set_pte_snp` when coherency is enforced). */
  snoop?: boolean;
  /** "strict" (DMA, VFIO/iommufd domains) or "lazy" (DMA-FQ). */
  policy?: "strict" | "lazy";
  /** Model clock in ms for the flush-queue timer. */
  now?: () => number;
  /** Extra reserved ranges besides the MSI window. */
  reserved?: IovaRange[];
  initialTablePages?: number;
  maxTablePages?: number;
}

class VtdStats implements DomainStats {
  mapCalls = 0;
  unmapCalls = 0;
  constructor(private readonly pt: VtdPageTable) {}
  get tablePages(): number {
    return this.pt.pool.inUse;
  }
}

export class VtdDomain implements IommuDomain {
  readonly format = "vtd-sl" as const;
  readonly pt: VtdPageTable;
  readonly pageSizes: readonly number[];
  readonly pgsizeBitmap: number;
  readonly apertures: readonly IovaRange[];
  readonly reserved: readonly IovaRange[];
  readonly stats: VtdStats;
  readonly policy: "strict" | "lazy";
  readonly flushQueue: FlushQueue | null;
  /** Units this domain is attached to (filled by VtdUnit.attach). */
  readonly sinks: InvalidationSink[] = [];
  private readonly snp: number;
  private readonly maxLeaf: number;
  private readonly endPfn: number;
  /** 2^width: first IOVA beyond the aperture. */
  private readonly limit: number;
  private readonly now: () => number;

  constructor(opts: VtdDomainOptions = {}) {
    const levels = opts.levels ?? 3;
    if (levels !== 3 && levels !== 4 && levels !== 5) throw new IommuError("alloc", "EINVAL", `VT-d levels must be 3, 4 or 5, not ${levels}`);
    const sp = opts.superpages ?? 2;
    this.maxLeaf = sp + 1;
    this.pt = new VtdPageTable(levels, this.maxLeaf, opts.initialTablePages ?? 16, opts.maxTablePages);
    this.pageSizes = [4096, 2 ** 21, 2 ** 30].slice(0, this.maxLeaf);
    this.pgsizeBitmap = this.pageSizes.reduce((a, b) => a + b, 0);
    this.endPfn = 2 ** (9 * levels);
    this.limit = this.endPfn * 4096;
    this.apertures = [{ start: 0, last: 2 ** (12 + 9 * levels) - 1 }];
    this.reserved = [X86_MSI_WINDOW, ...(opts.reserved ?? [])];
    this.stats = new VtdStats(this.pt);
    this.snp = opts.snoop ? DMA_PTE_SNP : 0;
    this.policy = opts.policy ?? "strict";
    this.now = opts.now ?? (() => performance.now());
    this.flushQueue = this.policy === "lazy" ? new FlushQueue((tables) => this.flushQueued(tables)) : null;
  }

  get levels(): 3 | 4 | 5 {
    return this.pt.levels;
  }

  /** IOVA width in bits (39/48/57). */
  get width(): number {
    return this.pt.width;
  }

  /**
   * `iommu_map`: size split into the largest fitting pages (`iommu_pgsize`); undone on error.
   * Kept tiny so the JIT inlines it: a call that is not inlined boxes its 64-bit arguments.
   */
  map(iova: number, paddr: number, size: number, prot: number): void {
    if (size === 4096 && this.sinks.length === 0) {
      const ipfn = iova * PAGE_INV;
      const ppfn = paddr * PAGE_INV;
      if (ipfn >= 0 && ppfn >= 0 && ipfn < this.endPfn && (prot & 3) !== 0 && Math.floor(ipfn) === ipfn && Math.floor(ppfn) === ppfn && this.pt.map4k(ipfn, ppfn, (prot & 3) | this.snp)) {
        this.stats.mapCalls++;
        return;
      }
    }
    this.mapSlow(iova, paddr, size, prot);
  }

  private mapSlow(iova: number, paddr: number, size: number, prot: number): void {
    this.stats.mapCalls++;
    const rw = prot & 3;
    let ipfn = iova * PAGE_INV; // exact: multiplying by a power of two
    let ppfn = paddr * PAGE_INV;
    let left = size * PAGE_INV;
    // Integral page numbers <=> 4 KiB-aligned integers; NaN fails every comparison.
    if (rw === 0 || !(ipfn >= 0 && ppfn >= 0 && left > 0) || Math.floor(ipfn) !== ipfn || Math.floor(ppfn) !== ppfn || Math.floor(left) !== left) {
      throw new IommuError("map", "EINVAL", rw === 0 ? "map without IOMMU_READ or IOMMU_WRITE" : `map iova=0x${iova.toString(16)} pa=0x${paddr.toString(16)} size=0x${size.toString(16)}: not 4 KiB aligned`);
    }
    if (ipfn + left > this.endPfn) {
      throw new IommuError("map", "EFAULT", `map end 0x${(iova + size).toString(16)} beyond the ${this.width}-bit aperture`);
    }
    const flags = rw | this.snp;
    // One pool growth for a large map instead of many: an upper bound of the level-1 tables needed.
    if (left >= 1024) {
      let lv0 = this.maxLeaf;
      while (lv0 > 1 && (((ipfn | ppfn) & (SPAN_PAGES[lv0] - 1)) !== 0 || left < SPAN_PAGES[lv0])) lv0--;
      this.pt.reserve(Math.ceil(left / (512 * SPAN_PAGES[lv0])) + 2 * this.levels);
    }
    while (left > 0) {
      let lv = this.maxLeaf;
      const low = (ipfn | ppfn) & 0x3ffff;
      while (lv > 1 && ((low & (SPAN_PAGES[lv] - 1)) !== 0 || left < SPAN_PAGES[lv])) lv--;
      const span = SPAN_PAGES[lv];
      const room = 512 - (Math.floor(ipfn / span) & 511);
      const want = Math.min(Math.floor(left / span), room);
      let got: number;
      try {
        got = this.pt.mapLeaves(ipfn, ppfn, lv, want, flags);
      } catch (e) {
        const mapped = size - left * 4096;
        if (mapped > 0) this.unmapRaw(iova, mapped);
        this.releaseAfterFlush(iova, mapped);
        throw e;
      }
      ipfn += got * span;
      ppfn += got * span;
      left -= got * span;
      if (got < want) {
        const mapped = size - left * 4096;
        if (mapped > 0) this.unmapRaw(iova, mapped);
        this.releaseAfterFlush(iova, mapped);
        throw new IommuError("map", "EADDRINUSE", `map 0x${(ipfn * 4096).toString(16)}: already mapped`);
      }
    }
    this.afterMap(iova, size);
  }

  private afterMap(iova: number, size: number): void {
    if (this.pt.pendingFree.length > 0) this.releaseAfterFlush(iova, size); // superpage replaced empty tables
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i].mapped?.(this, iova, size);
  }

  private unmapRaw(iova: number, size: number): number {
    return this.pt.unmapPages(iova / 4096, size / 4096) * 4096;
  }

  /** `iommu_unmap`: bytes actually unmapped (whole leaves; stops at a hole or inside a superpage). */
  unmap(iova: number, size: number): number {
    if (size === 4096 && this.sinks.length === 0) {
      const ipfn = iova * PAGE_INV;
      if (ipfn >= 0 && Math.floor(ipfn) === ipfn) {
        const n = this.pt.unmap4k(ipfn);
        if (n >= 0) {
          this.stats.unmapCalls++;
          return n;
        }
      }
    }
    return this.unmapSlow(iova, size);
  }

  private unmapSlow(iova: number, size: number): number {
    this.stats.unmapCalls++;
    const ipfn = iova * PAGE_INV;
    const n = size * PAGE_INV;
    if (!(ipfn >= 0 && n > 0) || Math.floor(ipfn) !== ipfn || Math.floor(n) !== n) return 0;
    const done = this.pt.unmapPages(ipfn, n) * 4096;
    if (done > 0 && (this.sinks.length > 0 || this.pt.pendingFree.length > 0)) this.releaseAfterFlush(iova, done);
    return done;
  }

  /** Strict: PSI (IH=1 when no table was freed) on every unit, then free. Lazy: queue. */
  private releaseAfterFlush(iova: number, size: number): void {
    const freed = this.pt.pendingFree;
    if (this.flushQueue) {
      this.flushQueue.enqueue(freed, this.now());
      freed.length = 0;
      return;
    }
    const ih = freed.length === 0;
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i].flushRange(this, iova, size, ih);
    this.pt.releasePending();
  }

  private flushQueued(tables: number[]): void {
    for (let i = 0; i < this.sinks.length; i++) this.sinks[i].flushDomain(this);
    for (const t of tables) this.pt.pool.free(t);
  }

  /** Runs the flush-queue timer against the model clock. */
  pollFlushQueue(): boolean {
    return this.flushQueue ? this.flushQueue.poll(this.now()) : false;
  }

  iovaToPhys(iova: number): number {
    return iova >= 0 && iova < this.limit ? this.pt.iovaToPhys(iova) : -1;
  }

  destroy(): void {
    this.flushQueue?.flush();
    this.pt.destroy();
  }
}

export function createVtdDomain(opts: VtdDomainOptions = {}): VtdDomain {
  return new VtdDomain(opts);
}
