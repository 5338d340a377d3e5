import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createVtdDomain, IommuError, IOMMU_READ, IOMMU_WRITE, VtdPageTable } from "../../src/iommu/index.js";
import { LeafModel, splitPgsize } from "./model.js";

const RW = IOMMU_READ | IOMMU_WRITE;
const M2 = 2 ** 21;
const G1 = 2 ** 30;

/** Entry words of the leaf (or last entry) on the walk for iova, with its level. */
function entryOf(pt: VtdPageTable, iova: number): { lo: number; hi: number; level: number } {
  let t = pt.root;
  for (let L: number = pt.levels; L >= 1; L--) {
    const idx = Math.floor(iova / 2 ** (12 + 9 * (L - 1))) % 512;
    const e = pt.entry(t, idx);
    if ((e.lo & 3) === 0 || L === 1 || e.lo & 0x80) return { ...e, level: L };
    t = VtdPageTable.childOf(e.lo, e.hi);
  }
  throw new Error("unreachable");
}

function errno(f: () => void): string {
  try {
    f();
  } catch (e) {
    if (e instanceof IommuError) return e.errno;
    throw e;
  }
  return "ok";
}

describe("VT-d second-level entries (io-pagetables.md §2)", () => {
  it("encodes a 4 KiB read-only leaf: R=bit0, W clear, PS clear, address bits 51:12", () => {
    const d = createVtdDomain({ levels: 4 });
    d.map(0x12345000, 0xabcdef123000, 4096, IOMMU_READ);
    const e = entryOf(d.pt, 0x12345000);
    assert.equal(e.level, 1);
    assert.equal(e.lo & 0xfff, 0x001);
    assert.equal(e.lo >>> 12, 0xef123);
    assert.equal(e.hi, 0xabcd);
    assert.equal(d.iovaToPhys(0x12345abc), 0xabcdef123abc);
  });

  it("encodes a write-only leaf as W only (generic_pt, not classic's forced R)", () => {
    const d = createVtdDomain();
    d.map(0x1000, 0x2000, 4096, IOMMU_WRITE);
    assert.equal(entryOf(d.pt, 0x1000).lo & 3, 2);
  });

  it("links tables as PA|R|W with the table's address", () => {
    const d = createVtdDomain({ levels: 3 });
    d.map(0, 0, 4096, RW);
    const top = d.pt.entry(d.pt.root, 0);
    assert.equal(top.lo & 0xfff, 3);
    const child = VtdPageTable.childOf(top.lo, top.hi);
    assert.equal(top.hi * 2 ** 32 + (top.lo & ~0xfff) + 0, d.pt.tableAddress(child) + (top.lo < 0 ? 2 ** 32 : 0));
  });

  it("uses a 2 MiB leaf (PS=bit7 at level 2) when IOVA and PA are 2 MiB aligned and 2 MiB remain", () => {
    const d = createVtdDomain({ levels: 4 });
    d.map(M2 * 5, M2 * 9, M2, RW);
    const e = entryOf(d.pt, M2 * 5);
    assert.equal(e.level, 2);
    assert.equal(e.lo & 0xff, 0x83);
    assert.equal(d.iovaToPhys(M2 * 5 + 0x12345), M2 * 9 + 0x12345);
    assert.equal(d.stats.tablePages, 3); // root, level 3, level 2
  });

  it("uses a 1 GiB leaf at level 3, and falls back to small pages for an unaligned PA", () => {
    const d = createVtdDomain({ levels: 3 });
    d.map(G1, 3 * G1, G1, RW);
    assert.equal(entryOf(d.pt, G1).level, 3);
    d.map(2 * G1, 4 * G1 + 4096, M2, RW);
    assert.equal(entryOf(d.pt, 2 * G1).level, 1);
    assert.equal(d.iovaToPhys(2 * G1 + M2 - 1), 4 * G1 + 4096 + M2 - 1);
  });

  it("4K-only domains (SLLPS=0) never write PS", () => {
    const d = createVtdDomain({ levels: 4, superpages: 0 });
    assert.deepEqual(d.pageSizes, [4096]);
    d.map(0, 0, G1, RW);
    assert.equal(entryOf(d.pt, 0).level, 1);
    assert.equal(d.stats.tablePages, 512 + 1 + 1 + 1);
  });

  it("reports the QEMU intel-iommu default: 39-bit, pgsize bitmap 0x40201000, MSI window reserved", () => {
    const d = createVtdDomain();
    assert.equal(d.pgsizeBitmap, 0x40201000);
    assert.deepEqual(d.apertures, [{ start: 0, last: 2 ** 39 - 1 }]);
    assert.deepEqual(d.reserved[0], { start: 0xfee00000, last: 0xfeefffff });
  });
});

describe("VT-d map/unmap rules (io-pagetables.md §5, §6)", () => {
  it("rejects no-permission and unaligned maps with EINVAL, past-the-aperture with EFAULT", () => {
    const d = createVtdDomain({ levels: 3 });
    assert.equal(errno(() => d.map(0, 0, 4096, 0)), "EINVAL");
    assert.equal(errno(() => d.map(0x800, 0, 4096, RW)), "EINVAL");
    assert.equal(errno(() => d.map(0, 0x800, 4096, RW)), "EINVAL");
    assert.equal(errno(() => d.map(0, 0, 100, RW)), "EINVAL");
    assert.equal(errno(() => d.map(2 ** 39 - 4096, 0, 8192, RW)), "EFAULT");
    assert.equal(errno(() => d.map(2 ** 39 - 4096, 0, 4096, RW)), "ok");
  });

  it("EADDRINUSE over an existing leaf, and the failed map is undone", () => {
    const d = createVtdDomain();
    d.map(0x5000, 0, 4096, RW);
    assert.equal(errno(() => d.map(0x3000, 0x100000, 0x4000, RW)), "EADDRINUSE");
    assert.equal(d.iovaToPhys(0x3000), -1);
    assert.equal(d.iovaToPhys(0x4000), -1);
    assert.equal(d.iovaToPhys(0x5000), 0);
  });

  it("EADDRINUSE for a superpage over a table that still maps pages; an empty table is replaced and freed", () => {
    const d = createVtdDomain({ levels: 4 });
    d.map(M2 + 4096, 0, 4096, RW);
    assert.equal(errno(() => d.map(M2, M2, M2, RW)), "EADDRINUSE");
    assert.equal(d.unmap(M2 + 4096, 4096), 4096);
    const before = d.stats.tablePages;
    d.map(M2, M2, M2, RW);
    assert.equal(entryOf(d.pt, M2).level, 2);
    assert.equal(d.stats.tablePages, before - 1);
  });

  it("EADDRINUSE for a small page under a superpage", () => {
    const d = createVtdDomain();
    d.map(0, 0, M2, RW);
    assert.equal(errno(() => d.map(4096, 4096, 4096, RW)), "EADDRINUSE");
  });

  it("unmap(X, 4K) of a 2 MiB leaf removes and reports 2 MiB", () => {
    const d = createVtdDomain();
    d.map(M2, 0, M2, RW);
    assert.equal(d.unmap(M2, 4096), M2);
    assert.equal(d.iovaToPhys(M2), -1);
  });

  it("unmap(X, 3M) removes the leaf and the 256 small pages after it", () => {
    const d = createVtdDomain();
    d.map(M2, 0, M2, RW);
    d.map(2 * M2, M2 + 4096, 2 ** 20, RW); // PA misaligned: 256 x 4K
    assert.equal(d.unmap(M2, 3 * 2 ** 20), 3 * 2 ** 20);
    assert.equal(d.iovaToPhys(2 * M2), -1);
  });

  it("unmap starting inside a superpage returns 0 and removes nothing", () => {
    const d = createVtdDomain();
    d.map(M2, 0, M2, RW);
    assert.equal(d.unmap(M2 + 4096, 4096), 0);
    assert.equal(d.iovaToPhys(M2), 0);
  });

  it("unmap at a hole returns 0; a hole part-way stops the unmap", () => {
    const d = createVtdDomain();
    assert.equal(d.unmap(0x40000000, 4096), 0);
    d.map(0, 0, 0x2000, RW);
    d.map(0x3000, 0x3000, 0x1000, RW);
    assert.equal(d.unmap(0, 0x4000), 0x2000);
    assert.equal(d.iovaToPhys(0x3000), 0x3000);
  });

  it("frees a table only when the unmap covers its whole span; the root only with the domain", () => {
    const d = createVtdDomain({ levels: 4, superpages: 0 });
    d.map(0, 0, M2, RW);
    assert.equal(d.stats.tablePages, 4);
    d.unmap(0, 4096);
    d.unmap(4096, M2 - 4096);
    assert.equal(d.stats.tablePages, 4, "emptied by partial unmaps: stays allocated");
    d.map(0, 0, M2, RW);
    assert.equal(d.unmap(0, M2), M2);
    assert.equal(d.stats.tablePages, 3, "whole span covered: level-1 table freed");
    d.destroy();
    assert.equal(d.pt.pool.inUse, 0);
  });

  it("pin worked size: 16 GiB of 4 KiB pages in 4 levels = 8210 tables (checked at 1/16 scale)", () => {
    const d = createVtdDomain({ levels: 4, superpages: 0 });
    d.map(0, 0, G1, RW);
    assert.equal(d.stats.tablePages, 512 + 1 + 1 + 1);
  });

  it("walk lists leaves in IOVA order", () => {
    const d = createVtdDomain();
    d.map(M2, 0, M2 + 4096, RW);
    const seen: number[][] = [];
    d.pt.walk((iova, pa, size) => seen.push([iova, pa, size]));
    assert.deepEqual(seen, [[M2, 0, M2], [2 * M2, M2, 4096]]);
  });
});

describe("VT-d property: random map/unmap/translate against a map of pages", () => {
  for (const levels of [3, 4, 5] as const) {
    it(`${levels} levels`, () => {
      const op = fc.oneof(
        fc.record({ kind: fc.constant("map" as const), ipfn: fc.integer({ min: 0, max: 4095 }), ppfnDelta: fc.constantFrom(0, 1, 512, 1024 * 7), n: fc.constantFrom(1, 2, 511, 512, 513, 1024), prot: fc.constantFrom(1, 2, 3) }),
        fc.record({ kind: fc.constant("map1g" as const), k: fc.integer({ min: 1, max: 3 }) }),
        fc.record({ kind: fc.constant("unmap" as const), ipfn: fc.integer({ min: 0, max: 4095 }), n: fc.constantFrom(1, 3, 512, 4096) }),
        fc.record({ kind: fc.constant("translate" as const), iova: fc.integer({ min: 0, max: 2 ** 24 }) }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          const d = createVtdDomain({ levels });
          const m = new LeafModel();
          const sizes = [1, 512, 262144];
          for (const o of ops) {
            if (o.kind === "map" || o.kind === "map1g") {
              const ipfn = o.kind === "map" ? o.ipfn : o.k * 262144;
              const n = o.kind === "map" ? o.n : 262144;
              const ppfn = o.kind === "map" ? (ipfn + o.ppfnDelta) % 65536 : 262144 * 4;
              const prot = o.kind === "map" ? o.prot : 3;
              const ok = m.map(splitPgsize(ipfn, ppfn, n, sizes, prot));
              assert.equal(errno(() => d.map(ipfn * 4096, ppfn * 4096, n * 4096, prot)), ok ? "ok" : "EADDRINUSE");
            } else if (o.kind === "unmap") {
              assert.equal(d.unmap(o.ipfn * 4096, o.n * 4096), m.unmap(o.ipfn, o.n) * 4096);
            } else {
              assert.equal(d.iovaToPhys(o.iova), m.translate(o.iova));
            }
          }
          for (const l of [...m.leaves.values()]) assert.equal(d.unmap(l.start * 4096, 4096), l.pages * 4096);
          for (let i = 0; i < 64; i++) assert.equal(d.iovaToPhys(i * 65536 * 4), -1);
          d.destroy();
          assert.equal(d.pt.pool.inUse, 0);
        }),
        { numRuns: 60 },
      );
    });
  }
});
