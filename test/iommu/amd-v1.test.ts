import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AMD_PTE_IR_HI, AMD_PTE_IW_HI, createAmdV1Domain, IommuError } from "../../src/iommu/index.js";
import { LeafModel, splitPgsize } from "./model.js";

describe("AMD-Vi v1 entries (io-pagetables.md §11)", () => {
  it("4 KiB leaf: PR, NextLevel 0, address 51:12, IR bit 61 / IW bit 62; tables name the next mode", () => {
    const d = createAmdV1Domain();
    d.map(0x1000, 0xabc000, 0x1000, 1);
    const [tlo, thi] = d.entry(d.root, 0);
    assert.equal(tlo & 1, 1);
    assert.equal((tlo >>> 9) & 7, 2, "mode-3 top points to a mode-2 table");
    assert.equal(thi & (AMD_PTE_IR_HI | AMD_PTE_IW_HI), AMD_PTE_IR_HI | AMD_PTE_IW_HI);
    assert.equal(d.iovaToPhys(0x1234), 0xabc234);
  });

  it("8 KiB page: NextLevel 7, replicated in two slots, address bit 12 = 0; 16 KiB sets bit 12", () => {
    const d = createAmdV1Domain();
    d.map(0x4000, 0x10000, 0x2000, 3);
    d.map(0x8000, 0x20000, 0x4000, 3);
    assert.equal(d.iovaToPhys(0x5fff), 0x11fff);
    assert.equal(d.iovaToPhys(0xb123), 0x23123);
    const l1 = (d.entry((d.entry(d.root, 0)[0] >>> 12) & 0xfffff, 0)[0] >>> 12) & 0xfffff;
    const a = d.entry(l1, 4);
    const b = d.entry(l1, 5);
    assert.deepEqual(a, b);
    assert.equal((a[0] >>> 9) & 7, 7);
    assert.equal((a[0] >>> 12) & 1, 0);
    const c = d.entry(l1, 8);
    assert.equal((c[0] >>> 12) & 3, 1, "16K: one 1 then a 0");
    assert.equal(d.unmap(0x4000, 0x1000), 0x2000, "whole 8K leaf removed");
    assert.equal(d.unmap(0x9000, 0x1000), 0, "start inside the 16K leaf");
  });

  it("grows the top level on demand from mode 3; no 512 GiB pages", () => {
    const d = createAmdV1Domain();
    assert.equal(d.level, 3);
    d.map(2 ** 40, 2 ** 40, 2 ** 39, 3);
    assert.equal(d.level, 4);
    assert.equal(d.iovaToPhys(2 ** 40 + 2 ** 38 + 5), 2 ** 40 + 2 ** 38 + 5);
    assert.ok(!d.pageSizes.includes(2 ** 39));
    assert.throws(() => d.map(0, 0, 4096, 0), (e: IommuError) => e.errno === "EINVAL");
  });

  it("property: random map/unmap/translate against a map of pages; teardown frees every table", () => {
    const sizes: number[] = [];
    for (let k = 0; k <= 39; k++) if (k !== 27) sizes.push(2 ** k);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ kind: fc.constantFrom("map", "unmap", "tr"), p: fc.integer({ min: 0, max: 2047 }), n: fc.constantFrom(1, 2, 3, 8, 16, 512, 1024), d: fc.constantFrom(0, 1, 8, 512), prot: fc.constantFrom(1, 2, 3) }),
          { maxLength: 40 },
        ),
        (ops) => {
          const d = createAmdV1Domain();
          const m = new LeafModel();
          for (const o of ops) {
            if (o.kind === "map") {
              const ok = m.map(splitPgsize(o.p, o.p + o.d, o.n, sizes, o.prot));
              let got = "ok";
              try {
                d.map(o.p * 4096, (o.p + o.d) * 4096, o.n * 4096, o.prot);
              } catch (e) {
                got = (e as IommuError).errno;
              }
              assert.equal(got, ok ? "ok" : "EADDRINUSE");
            } else if (o.kind === "unmap") {
              assert.equal(d.unmap(o.p * 4096, o.n * 4096), m.unmap(o.p, o.n) * 4096);
            } else {
              assert.equal(d.iovaToPhys(o.p * 4096 + 9), m.translate(o.p * 4096 + 9));
            }
          }
          for (const l of [...m.leaves.values()]) assert.equal(d.unmap(l.start * 4096, 4096), l.pages * 4096);
          d.destroy();
          assert.equal(d.pool.inUse, 0);
        },
      ),
      { numRuns: 150 },
    );
  });
});
