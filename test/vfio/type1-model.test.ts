// Model-based random testing of the type1 backend: long random call sequences against a small
// reference model of the rules (vfio-uapi.md §6). Invariants: same answers, locked memory never
// negative and equal to the mappings' pages, zero after teardown; no mapping lost or duplicated;
// every IOMMU domain translates exactly the container's mappings; no page-table page leaked.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Harness } from "./helpers.js";
import { setDomainFactory, defaultDomain } from "../../src/vfio/iommu.js";
import type { IommuDomain } from "../../src/iommu/domain.js";
import type { Type1 } from "../../src/vfio/type1/type1.js";
import * as U from "../../src/vfio/uapi.js";

const P = 0x1000;
const RAM_PAGES = 24;
const WINDOW = 96; // pages of IOVA exercised

type Op =
  | { k: "map"; iova: number; pages: number; vpage: number; prot: number }
  | { k: "unmap"; iova: number; pages: number }
  | { k: "unmapAll" }
  | { k: "limit"; pages: number }
  | { k: "attach" }
  | { k: "detach" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant("map" as const), iova: fc.integer({ min: 0, max: WINDOW - 1 }), pages: fc.integer({ min: 0, max: 8 }), vpage: fc.integer({ min: 0, max: RAM_PAGES + 2 }), prot: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant("unmap" as const), iova: fc.integer({ min: 0, max: WINDOW - 1 }), pages: fc.integer({ min: 0, max: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: "unmapAll" as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("limit" as const), pages: fc.integer({ min: 0, max: 64 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: "attach" as const }) },
  { weight: 1, arbitrary: fc.constant({ k: "detach" as const }) },
);

interface RefMap { iova: number; size: number; vaddr: number }

class Ref {
  maps: RefMap[] = [];
  limitPages = 8 * 1024 * 1024 / P;
  constructor(readonly v2: boolean) {}
  get locked(): number {
    return this.maps.reduce((s, m) => s + m.size / P, 0);
  }
  map(vaddr: number, iova: number, size: number, prot: number, ram: number): number {
    if (prot === 0) return -U.EINVAL;
    if (size === 0) return -U.EINVAL;
    if (this.maps.some((m) => m.iova < iova + size && iova < m.iova + m.size)) return -U.EEXIST;
    const pages = size / P;
    const backed = Math.max(0, Math.min(pages, (ram + RAM_PAGES * P - vaddr) / P));
    const allowed = Math.max(0, this.limitPages - this.locked);
    if (allowed < backed) return -U.ENOMEM;
    if (backed < pages) return -U.EFAULT;
    this.maps.push({ iova, size, vaddr });
    this.maps.sort((a, b) => a.iova - b.iova);
    return 0;
  }
  unmap(iova: number, size: number): number {
    if (size === 0) return -U.EINVAL;
    const end = iova + size;
    if (this.v2) {
      for (const m of this.maps) {
        if (m.iova < iova && iova < m.iova + m.size) return -U.EINVAL;
        if (m.iova < end && end < m.iova + m.size) return -U.EINVAL;
      }
    }
    let total = 0;
    const keep: RefMap[] = [];
    let stopped = false;
    for (const m of this.maps) {
      const overl = m.iova < end && iova < m.iova + m.size;
      if (!overl || stopped) { keep.push(m); continue; }
      if (!this.v2 && iova > m.iova) { stopped = true; keep.push(m); continue; }
      total += m.size;
    }
    this.maps = keep;
    return total;
  }
  unmapAll(): number {
    const t = this.maps.reduce((s, m) => s + m.size, 0);
    this.maps = [];
    return t;
  }
}

function run(ops: Op[], v2: boolean, share: boolean): void {
  const domains: IommuDomain[] = [];
  setDomainFactory((spec) => {
    const d = defaultDomain(spec);
    domains.push(d);
    return d;
  });
  try {
    const h = new Harness({ kernel: "6.1", type1: { shareDomains: share } });
    const c = h.container();
    const g = h.group("0000:01:00.0", c);
    assert.equal(h.setIommu(c, v2 ? U.VFIO_TYPE1v2_IOMMU : U.VFIO_TYPE1_IOMMU), 0);
    const ram = h.sys.mmap(RAM_PAGES * P);
    const ref = new Ref(v2);
    let g2 = -1;
    h.sys.bind("0000:03:00.0", "vfio-pci");
    const be = (): Type1 => {
      const f = h.sys.file(c);
      assert.ok(f && f.kind === "container" && f.container.backend);
      return f.container.backend as Type1;
    };
    for (const op of ops) {
      switch (op.k) {
        case "map": {
          const flags = (op.prot & 1 ? U.VFIO_DMA_MAP_FLAG_READ : 0) | (op.prot & 2 ? U.VFIO_DMA_MAP_FLAG_WRITE : 0);
          const r = h.map(c, flags, ram + op.vpage * P, op.iova * P, op.pages * P);
          assert.equal(r, ref.map(ram + op.vpage * P, op.iova * P, op.pages * P, op.prot, ram), `map ${JSON.stringify(op)}`);
          break;
        }
        case "unmap":
          assert.equal(h.unmap(c, 0, op.iova * P, op.pages * P), ref.unmap(op.iova * P, op.pages * P), `unmap ${JSON.stringify(op)}`);
          break;
        case "unmapAll":
          assert.equal(h.unmap(c, U.VFIO_DMA_UNMAP_FLAG_ALL, 0, 0), ref.unmapAll());
          break;
        case "limit":
          h.sys.setMemlock(op.pages * P);
          ref.limitPages = op.pages;
          break;
        case "attach":
          if (g2 < 0) {
            g2 = h.sys.openGroupOf("0000:03:00.0");
            const a = h.a;
            a.dv.setInt32(0, c, true);
            assert.equal(h.sys.ioctl(g2, U.VFIO_GROUP_SET_CONTAINER, a), 0);
          }
          break;
        case "detach":
          if (g2 >= 0) {
            assert.equal(h.unset(g2), 0);
            h.sys.close(g2);
            g2 = -1;
          }
          break;
      }
      // invariants
      const t = be();
      assert.ok(h.sys.mm.lockedVm >= 0);
      assert.equal(h.sys.mm.lockedVm, ref.locked, "locked pages");
      assert.deepEqual(t.dmas.map((d) => [d.iova, d.size, d.vaddr]), ref.maps.map((m) => [m.iova, m.size, m.vaddr]), "mappings");
      assert.equal(t.dmaAvail, 65535 - ref.maps.length);
      assert.equal(t.stats().domains, share || g2 < 0 ? 1 : 2);
      for (let p = 0; p < WINDOW + 12; p++) {
        const m = ref.maps.find((x) => x.iova <= p * P && p * P < x.iova + x.size);
        const want = m ? h.sys.mm.phys(m.vaddr + (p * P - m.iova)) : -1;
        for (const got of t.translate(p * P)) assert.equal(got, want, `iova page ${p}`);
      }
    }
    // teardown: every page unpinned, every table page freed
    if (g2 >= 0) h.sys.close(g2);
    h.sys.close(g);
    h.sys.close(c);
    assert.equal(h.sys.mm.lockedVm, 0);
    for (const d of domains) assert.equal(d.stats.tablePages, 0, "table pages after destroy");
  } finally {
    setDomainFactory(null);
  }
}

for (const v2 of [true, false]) {
  for (const share of [true, false]) {
    test(`type1 ${v2 ? "v2" : "v1"} ${share ? "shared domain" : "per-device domains"}: random call sequences against the reference model`, () => {
      fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => run(ops, v2, share)), { numRuns: 60 });
    });
  }
}

test("IOMMU map calls: one domain pays once, per-device domains pay per domain plus a replay", () => {
  const counts: number[] = [];
  for (const share of [true, false]) {
    const h = new Harness({ type1: { shareDomains: share } });
    const c = h.container();
    h.group("0000:01:00.0", c);
    assert.equal(h.setIommu(c, U.VFIO_TYPE1v2_IOMMU), 0);
    h.sys.setMemlock(2 ** 30);
    const ram = h.sys.mmap(64 * P);
    for (let i = 0; i < 8; i++) assert.equal(h.map(c, 3, ram + i * 8 * P, i * 0x100000, 8 * P), 0);
    h.group("0000:03:00.0", c);
    h.group("0000:04:00.1", c);
    for (let i = 0; i < 8; i++) assert.equal(h.map(c, 3, ram + i * 8 * P, 0x10000000 + i * 0x100000, 8 * P), 0);
    const f = h.sys.file(c);
    assert.ok(f && f.kind === "container");
    const st = (f.container.backend as Type1).stats();
    counts.push(st.mapCalls);
    assert.equal(st.domains, share ? 1 : 3);
  }
  // shared: 16 maps; per-device: 8 + 2 replays of 8 + 8×3
  assert.deepEqual(counts, [16, 8 + 16 + 24]);
});
