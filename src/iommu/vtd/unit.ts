// One VT-d remapping unit: root/context tables, domain IDs, context cache, IOTLB and the fault
// recording registers. A DMA goes requester ID → context entry → DID + page table → IOTLB or walk
// (io-pagetables.md §3.2, §4); a blocked DMA is recorded, never completed (§10).

import { IommuError } from "../domain.js";
import { FaultReason, FaultRecorder } from "../faults.js";
import { Iotlb } from "../iotlb.js";
import { CONTEXT_TT_DEV_IOTLB, CONTEXT_TT_MULTI_LEVEL, CONTEXT_TT_PASS_THROUGH, DomainIdSpace, RootContextTables } from "./context.js";
import type { InvalidationSink, VtdDomain } from "./domain.js";
import { calculatePsiAlignedAddress } from "./invalidation.js";
import { tableSpaces } from "./pagetable.js";

export interface VtdUnitOptions {
  /** cap ND: 2^(4+2*ND) domain IDs (default 6 = 65536). */
  nd?: number;
  /** SAGAW bitmap (bit n = AGAW n): default 0b0110 = 3 and 4 levels (QEMU aw-bits 39/48). */
  sagaw?: number;
  /** cap CM: caching mode (emulated IOMMU): maps are invalidated too (§5.5, §8.5). */
  cachingMode?: boolean;
  /** cap PSI and MAMV (QEMU: PSI, MAMV 18). */
  psi?: boolean;
  mamv?: number;
  /** ecap PT. */
  passThrough?: boolean;
  /** ecap DT (device IOTLB / ATS): TT=1 allowed. */
  deviceTlb?: boolean;
  iotlbEntries?: number;
  iotlbWays?: number;
  /** Number of fault recording registers (NFR). */
  faultRecords?: number;
}

export interface InvalidationEvent {
  kind: "global" | "domain" | "page" | "context";
  did: number;
  addr?: number;
  am?: number;
  ih?: boolean;
}

const PT_DID = 0x10000; // context-cache marker for pass-through

export class VtdUnit implements InvalidationSink {
  readonly tables = new RootContextTables();
  readonly dids: DomainIdSpace;
  readonly iotlb: Iotlb;
  readonly faults: FaultRecorder;
  readonly sagaw: number;
  readonly cachingMode: boolean;
  readonly psi: boolean;
  readonly mamv: number;
  readonly passThrough: boolean;
  readonly deviceTlb: boolean;
  /** Context cache: source ID → DID (+PT_DID for pass-through), 0 = not cached. */
  private readonly ctxCache = new Int32Array(65536);
  private readonly domainOfDid: (VtdDomain | undefined)[] = [];
  /** Per domain: DID on this unit and how many requester IDs use it (`struct iommu_domain_info`). */
  private readonly info = new Map<VtdDomain, { did: number; refs: number }>();
  /** Last invalidations issued (bounded), for tests and tracing. */
  readonly invalidations: InvalidationEvent[] = [];

  constructor(opts: VtdUnitOptions = {}) {
    this.dids = new DomainIdSpace(opts.nd ?? 6);
    this.iotlb = new Iotlb(opts.iotlbEntries ?? 512, opts.iotlbWays ?? 8);
    this.faults = new FaultRecorder(opts.faultRecords ?? 8);
    this.sagaw = opts.sagaw ?? 0b0110;
    this.cachingMode = opts.cachingMode ?? false;
    this.psi = opts.psi ?? true;
    this.mamv = opts.mamv ?? 18;
    this.passThrough = opts.passThrough ?? true;
    this.deviceTlb = opts.deviceTlb ?? false;
  }

  didOf(domain: VtdDomain): number {
    return this.info.get(domain)?.did ?? -1;
  }

  /**
   * `domain_context_mapping`: one context entry per requester ID (the device and its DMA aliases),
   * all naming the same DID and table. A present entry is left untouched (EBUSY here so the caller
   * knows it must detach first). Returns the DID.
   */
  attach(domain: VtdDomain, sids: readonly number[], opts: { deviceTlb?: boolean } = {}): number {
    const aw = domain.levels - 2;
    if (!(this.sagaw & (1 << aw))) throw new IommuError("attach", "EINVAL", `unit does not support AGAW ${aw} (${domain.levels} levels)`);
    for (const sid of sids) {
      if (this.tables.context(sid >> 8, sid & 0xff).present) throw new IommuError("attach", "EBUSY", `context entry for ${sid.toString(16)} already present`);
    }
    let inf = this.info.get(domain);
    if (!inf) {
      inf = { did: this.dids.alloc(), refs: 0 };
      this.info.set(domain, inf);
      this.domainOfDid[inf.did] = domain;
      domain.sinks.push(this);
    }
    const tt = opts.deviceTlb && this.deviceTlb ? CONTEXT_TT_DEV_IOTLB : CONTEXT_TT_MULTI_LEVEL;
    for (const sid of sids) {
      this.tables.setContext(sid >> 8, sid & 0xff, { fpd: false, tt, slptptr: domain.pt.tableAddress(domain.pt.root), aw, did: inf.did });
      inf.refs++;
      if (this.cachingMode) {
        this.note({ kind: "context", did: 0 });
        this.invalidateDomain(inf.did);
      }
    }
    return inf.did;
  }

  /** Identity (TT=2) context entries, if the unit supports pass-through. */
  attachPassThrough(sids: readonly number[]): void {
    if (!this.passThrough) throw new IommuError("attach", "ENODEV", "unit has no pass-through (ecap PT)");
    for (const sid of sids) this.tables.setContext(sid >> 8, sid & 0xff, { fpd: false, tt: CONTEXT_TT_PASS_THROUGH, slptptr: 0, aw: 1, did: 1 });
  }

  /** `domain_context_clear`: clears every alias entry, flushes context cache and IOTLB for the DID; frees the DID with the last user. */
  detach(domain: VtdDomain | null, sids: readonly number[]): void {
    for (const sid of sids) {
      this.tables.clearContext(sid >> 8, sid & 0xff);
      this.ctxCache[sid] = 0;
      this.note({ kind: "context", did: 0 });
    }
    if (!domain) return;
    const inf = this.info.get(domain);
    if (!inf) throw new IommuError("detach", "ENODEV", "domain not attached to this unit");
    this.invalidateDomain(inf.did);
    inf.refs -= sids.length;
    if (inf.refs <= 0) {
      this.info.delete(domain);
      this.domainOfDid[inf.did] = undefined;
      this.dids.free(inf.did);
      const i = domain.sinks.indexOf(this);
      if (i >= 0) domain.sinks.splice(i, 1);
    }
  }

  /** Context-cache global invalidation (drops every cached source ID). */
  invalidateContextCache(): void {
    this.ctxCache.fill(0);
    this.note({ kind: "context", did: 0 });
  }

  /** Context walk for sid: DID (or PT_DID) or the negated fault reason. */
  private lookupContext(sid: number): number {
    const bus = sid >> 8;
    if (!this.tables.rootPresent(bus)) return -FaultReason.ROOT_NOT_PRESENT;
    const ctx = this.tables.context(bus, sid & 0xff);
    if (!ctx.present) return -FaultReason.CONTEXT_NOT_PRESENT;
    if (ctx.tt === 3 || (ctx.tt === CONTEXT_TT_DEV_IOTLB && !this.deviceTlb) || (ctx.tt === CONTEXT_TT_PASS_THROUGH && !this.passThrough)) return -FaultReason.CONTEXT_INVALID;
    if (ctx.tt === CONTEXT_TT_PASS_THROUGH) return PT_DID;
    if (!(this.sagaw & (1 << ctx.aw))) return -FaultReason.CONTEXT_INVALID;
    const pt = tableSpaces.get(Math.floor(ctx.slptptr / 2 ** 40));
    if (!pt || pt.tableAddress(pt.root) !== ctx.slptptr) return -FaultReason.NEXT_TABLE_INVALID;
    return ctx.did;
  }

  /**
   * One DMA access by requester sid: physical address, or -1 when blocked (fault recorded).
   * IOTLB first; a miss walks the domain's table and fills the IOTLB.
   */
  dmaTranslate(sid: number, iova: number, write: boolean): number {
    let did = this.ctxCache[sid];
    if (did === 0) {
      did = this.lookupContext(sid);
      if (did < 0) return this.fault(sid, iova, write, -did);
      this.ctxCache[sid] = did;
    }
    if (did === PT_DID) return iova;
    const tlb = this.iotlb;
    const hit = tlb.lookup(did, iova);
    if (hit >= 0) {
      if ((tlb.lastPerm & (write ? 2 : 1)) !== 0) return hit;
      return this.fault(sid, iova, write, write ? FaultReason.PTE_WRITE_NOT_SET : FaultReason.PTE_READ_NOT_SET);
    }
    const domain = this.domainOfDid[did];
    if (!domain) return this.fault(sid, iova, write, FaultReason.CONTEXT_INVALID);
    if (!(iova >= 0) || iova >= 2 ** domain.width) return this.fault(sid, iova, write, FaultReason.BEYOND_MGAW);
    tlb.counters.walks++;
    const pt = domain.pt;
    const pa = pt.dmaWalk(iova, write);
    if (pa < 0) return this.fault(sid, iova, write, -pa);
    tlb.fill(did, iova, pa, pt.walkLevel, pt.walkPerm);
    return pa;
  }

  private fault(sid: number, iova: number, write: boolean, reason: number): number {
    const ctx = this.tables.context(sid >> 8, sid & 0xff);
    if (!(ctx.present && ctx.fpd)) {
      this.faults.record({ sid, iovaPage: Math.floor(Math.max(0, iova) / 4096) * 4096, isRead: !write, reason });
    }
    return -1;
  }

  private note(e: InvalidationEvent): void {
    if (this.invalidations.length >= 1024) this.invalidations.shift();
    this.invalidations.push(e);
  }

  invalidateGlobal(): void {
    this.note({ kind: "global", did: 0 });
    this.iotlb.invalidateGlobal();
  }

  invalidateDomain(did: number): void {
    this.note({ kind: "domain", did });
    this.iotlb.invalidateDomain(did);
  }

  /** PSI; addr must be aligned to 4 KiB << am, am ≤ MAMV, else EINVAL (IAIG = 0). */
  invalidatePages(did: number, addr: number, am: number, ih: boolean): void {
    if (!this.psi || am > this.mamv || addr % (4096 * 2 ** am) !== 0) {
      throw new IommuError("invalidate", "EINVAL", `PSI addr 0x${addr.toString(16)} am ${am} not valid on this unit`);
    }
    this.note({ kind: "page", did, addr, am, ih });
    this.iotlb.invalidatePages(did, addr, am);
  }

  /** `cache_tag_flush_range`: PSI for the aligned block, DSI when PSI is missing or AM > MAMV. */
  flushRange(domain: VtdDomain, iova: number, size: number, ih: boolean): void {
    const did = this.didOf(domain);
    if (did < 0) return;
    const { addr, am } = calculatePsiAlignedAddress(iova, iova + size - 1);
    if (!this.psi || am > this.mamv) this.invalidateDomain(did);
    else this.invalidatePages(did, addr, am, ih);
  }

  flushDomain(domain: VtdDomain): void {
    const did = this.didOf(domain);
    if (did >= 0) this.invalidateDomain(did);
  }

  /** Caching Mode only: not-present→present changes are invalidated too (`cache_tag_flush_range_np`). */
  mapped(domain: VtdDomain, iova: number, size: number): void {
    if (this.cachingMode) this.flushRange(domain, iova, size, true);
  }
}

export function createVtdUnit(opts: VtdUnitOptions = {}): VtdUnit {
  return new VtdUnit(opts);
}
