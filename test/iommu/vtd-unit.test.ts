import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  calculatePsiAlignedAddress, createVtdDomain, createVtdUnit, FaultReason, FaultRecorder, formatFault, iotlbDescriptor, Iotlb, IommuError,
} from "../../src/iommu/index.js";

const RW = 3;
const SID = 0x0310; // 03:02.0

describe("root/context tables and domain IDs (io-pagetables.md §3)", () => {
  it("context entry fields: P, TT, SLPTPTR, AW, DID at bits 87:72", () => {
    const u = createVtdUnit();
    const d = createVtdDomain({ levels: 4 });
    const did = u.attach(d, [SID]);
    assert.equal(did, 2, "DIDs 0 and 1 are reserved; lowest free first");
    const [w0, w1, w2, w3] = u.tables.contextWords(0x03, 0x10);
    assert.equal(w0 & 1, 1);
    assert.equal((w0 >>> 2) & 3, 0);
    assert.equal(w1 * 2 ** 32 + ((w0 & 0xfffff000) >>> 0), d.pt.tableAddress(d.pt.root));
    assert.equal(w2 & 7, 2, "AW = AGAW 2 for 4 levels");
    assert.equal((w2 >>> 8) & 0xffff, 2);
    assert.equal(w3, 0);
    const [r0] = u.tables.rootEntry(0x03);
    assert.equal(r0 & 1, 1);
    assert.equal(u.tables.rootEntry(0x04)[0], 0);
  });

  it("DMA aliases share the DID and table; the DID is freed with the last detach", () => {
    const u = createVtdUnit();
    const d = createVtdDomain();
    d.map(0x1000, 0x5000, 4096, RW);
    const did = u.attach(d, [SID, 0x0300]);
    assert.equal(u.tables.context(0x03, 0x00).did, did);
    assert.equal(u.dmaTranslate(0x0300, 0x1000, false), 0x5000);
    u.detach(d, [SID, 0x0300]);
    assert.equal(u.didOf(d), -1);
    assert.equal(u.dmaTranslate(SID, 0x1000, false), -1);
    assert.equal(u.faults.log.at(-1)?.reason, FaultReason.CONTEXT_NOT_PRESENT);
    const d2 = createVtdDomain();
    assert.equal(u.attach(d2, [SID]), did, "freed DID reused");
  });

  it("a present context entry is not overwritten; ND bounds the DIDs (ENOSPC)", () => {
    const u = createVtdUnit({ nd: 0 }); // 16 IDs, 14 usable
    const d = createVtdDomain();
    u.attach(d, [SID]);
    assert.throws(() => u.attach(createVtdDomain(), [SID]), (e: IommuError) => e.errno === "EBUSY");
    for (let i = 1; i < 14; i++) u.attach(createVtdDomain(), [0x0400 + i]);
    assert.throws(() => u.attach(createVtdDomain(), [0x0500]), (e: IommuError) => e.errno === "ENOSPC");
  });

  it("pass-through context (TT=2) translates 1:1", () => {
    const u = createVtdUnit();
    u.attachPassThrough([SID]);
    assert.equal(u.dmaTranslate(SID, 0x123456789, true), 0x123456789);
  });
});

describe("faults (io-pagetables.md §10)", () => {
  it("reason codes: 0x1 root, 0x2 context, 0x4 beyond MGAW, 0x5 write, 0x6 read, 0xC reserved", () => {
    const u = createVtdUnit();
    const d = createVtdDomain({ levels: 3 });
    d.map(0x1000, 0x9000, 4096, 1); // read-only
    u.attach(d, [SID]);
    assert.equal(u.dmaTranslate(0x0800, 0, false), -1);
    assert.equal(u.dmaTranslate(0x0311, 0, false), -1);
    assert.equal(u.dmaTranslate(SID, 2 ** 39, false), -1);
    assert.equal(u.dmaTranslate(SID, 0x1000, true), -1);
    assert.equal(u.dmaTranslate(SID, 0x2000, false), -1);
    assert.equal(u.dmaTranslate(SID, 0x1000, false), 0x9000);
    d.pt.setEntry(d.pt.root, 1, 0x3 | 0x4, 0); // reserved bit 2 in a table entry
    assert.equal(u.dmaTranslate(SID, 2 ** 30, false), -1);
    assert.deepEqual(u.faults.log.map((f) => f.reason), [0x1, 0x2, 0x4, 0x5, 0x6, 0xc]);
    const w = u.faults.log[3];
    assert.deepEqual(w, { sid: SID, iovaPage: 0x1000, isRead: false, reason: 5 });
    assert.equal(formatFault(w), "[DMA Write NO_PASID] Request device [03:02.0] fault addr 0x1000 [fault reason 0x05] PTE Write access is not set");
  });

  it("fault recording registers: NFR slots, PFO on overflow, drain from FRI", () => {
    const r = new FaultRecorder(2);
    assert.equal(r.record({ sid: 1, iovaPage: 0x1000, isRead: true, reason: 6 }), true);
    assert.equal(r.record({ sid: 2, iovaPage: 0x2000, isRead: false, reason: 5 }), true);
    assert.equal(r.record({ sid: 3, iovaPage: 0x3000, isRead: true, reason: 6 }), false);
    assert.equal(r.fsts & 3, 3, "PFO and PPF");
    assert.equal((r.fsts >> 8) & 0xff, 0, "FRI");
    const [lo, hi, w2, w3] = r.recordWords(1);
    assert.equal(lo, 0x2000);
    assert.equal(hi, 0);
    assert.equal(w2 & 0xffff, 2);
    assert.equal(w3 & 0xff, 5, "FR bits 103:96");
    assert.equal((w3 >>> 30) & 1, 0, "T=0 write");
    assert.equal(w3 >>> 31, 1, "F valid");
    assert.deepEqual(r.drain().map((f) => f.sid), [1, 2]);
    assert.equal(r.fsts, 0);
    assert.equal(r.log.length, 3);
  });
});

describe("IOTLB (io-pagetables.md §8)", () => {
  it("hits after a walk, counts, and LRU-evicts within a set", () => {
    const t = new Iotlb(4, 2); // 2 sets of 2 ways
    t.fill(5, 0x1000, 0xa000, 1, 3);
    assert.equal(t.lookup(5, 0x1234), 0xa234);
    assert.equal(t.lookup(6, 0x1234), -1, "tagged by DID");
    assert.equal(t.lastPerm, 3);
    for (let i = 0; i < 16; i++) t.fill(5, 0x100000 * (i + 2), 0, 1, 1);
    assert.ok(t.size <= 4);
    assert.ok(t.counters.evictions >= 12);
  });

  it("global, domain-selective and page-selective invalidation with address mask", () => {
    const t = new Iotlb(64, 4);
    for (let p = 0; p < 16; p++) t.fill(7, 0x1000000 + p * 4096, p * 4096, 1, 3);
    t.fill(8, 0x1000000, 0, 1, 3);
    t.fill(7, 0x40000000, 0, 2, 3); // a 2 MiB leaf
    t.invalidatePages(7, 0x1000000, 3); // 8 pages
    assert.equal(t.lookup(7, 0x1000000 + 7 * 4096), -1);
    assert.equal(t.lookup(7, 0x1000000 + 8 * 4096), 8 * 4096);
    assert.equal(t.lookup(8, 0x1000000), 0);
    t.invalidatePages(7, 0x40000000 + 0x10000, 0); // inside the 2 MiB leaf: dropped
    assert.equal(t.lookup(7, 0x40000000), -1);
    t.invalidateDomain(7);
    assert.equal(t.lookup(7, 0x1000000 + 9 * 4096), -1);
    assert.equal(t.lookup(8, 0x1000000), 0);
    t.invalidateGlobal();
    assert.equal(t.size, 0);
    assert.equal(t.counters.pageInvalidations, 2);
    assert.equal(t.counters.domainInvalidations, 1);
    assert.equal(t.counters.globalInvalidations, 1);
  });

  it("calculate_psi_aligned_address: 3 pages at PFN 0x1003 → AM 3, ADDR PFN 0x1000", () => {
    assert.deepEqual(calculatePsiAlignedAddress(0x1003000, 0x1005fff), { addr: 0x1000000, am: 3 });
    assert.deepEqual(calculatePsiAlignedAddress(0x1000000, 0x1003fff), { addr: 0x1000000, am: 2 });
    assert.deepEqual(calculatePsiAlignedAddress(0x5000, 0x5fff), { addr: 0x5000, am: 0 });
  });

  it("IOTLB descriptor bits: type 2, granularity 5:4, DID 31:16; AM 5:0, IH 6, ADDR 63:12", () => {
    const [qw0, qw1] = iotlbDescriptor(3, 0x1234, 0x1000000, 3, true);
    assert.equal(qw0, 0x2n | (3n << 4n) | (0x1234n << 16n));
    assert.equal(qw1, 3n | (1n << 6n) | 0x1000000n);
  });

  it("strict unmap issues a PSI (IH=1 without freed tables); stale entries are gone", () => {
    const u = createVtdUnit();
    const d = createVtdDomain();
    u.attach(d, [SID]);
    d.map(0x1003000, 0x7000, 0x3000, RW);
    assert.equal(u.dmaTranslate(SID, 0x1004000, false), 0x8000);
    assert.equal(u.iotlb.counters.walks, 1);
    assert.equal(u.dmaTranslate(SID, 0x1004010, false), 0x8010);
    assert.equal(u.iotlb.counters.hits, 1);
    d.unmap(0x1003000, 0x3000);
    assert.deepEqual(u.invalidations.at(-1), { kind: "page", did: u.didOf(d), addr: 0x1000000, am: 3, ih: true });
    assert.equal(u.dmaTranslate(SID, 0x1004000, false), -1);
  });

  it("lazy (flush queue): stale translation until the DSI; tables held until then", () => {
    let now = 0;
    const u = createVtdUnit();
    const d = createVtdDomain({ policy: "lazy", now: () => now });
    u.attach(d, [SID]);
    d.map(0x200000, 0x400000, 0x200000, RW);
    assert.equal(u.dmaTranslate(SID, 0x200000, true), 0x400000);
    d.unmap(0x200000, 0x200000);
    assert.equal(u.dmaTranslate(SID, 0x200000, true), 0x400000, "stale IOTLB entry still used");
    now = 5;
    assert.equal(d.pollFlushQueue(), false);
    now = 10;
    assert.equal(d.pollFlushQueue(), true);
    assert.equal(u.invalidations.at(-1)?.kind, "domain");
    assert.equal(u.dmaTranslate(SID, 0x200000, true), -1);
  });

  it("flush queue flushes when 255 of 256 slots are used", () => {
    const u = createVtdUnit();
    const d = createVtdDomain({ policy: "lazy", now: () => 0 });
    u.attach(d, [SID]);
    for (let i = 0; i < 256; i++) {
      d.map(i * 4096, 0, 4096, RW);
      d.unmap(i * 4096, 4096);
    }
    assert.equal(d.flushQueue?.flushes, 1);
  });

  it("caching mode invalidates after map too", () => {
    const u = createVtdUnit({ cachingMode: true });
    const d = createVtdDomain();
    u.attach(d, [SID]);
    const n = u.invalidations.length;
    d.map(0x10000, 0, 0x4000, RW);
    assert.equal(u.invalidations.length, n + 1);
    assert.equal(u.invalidations.at(-1)?.kind, "page");
  });
});
