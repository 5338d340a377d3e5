// fail_nth-style fault injection: the Nth internal allocation (backend, domain, vfio_dma,
// page-table pages inside an IOMMU map) fails, for every N along a scenario. The call that hits
// it must fail with ENOMEM and leave no partial state; the system must stay usable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Harness } from "./helpers.js";
import { allocFails, defaultDomain, setAllocFailHook, setDomainFactory } from "../../src/vfio/iommu.js";
import { IommuError, type IommuDomain } from "../../src/iommu/domain.js";
import type { Type1 } from "../../src/vfio/type1/type1.js";
import * as U from "../../src/vfio/uapi.js";

const P = 0x1000;

/** An IOMMU domain whose page-table allocations can fail (before anything is written). */
function faulty(d: IommuDomain): IommuDomain {
  return new Proxy(d, {
    get(target, prop, recv) {
      if (prop === "map") {
        return (iova: number, paddr: number, size: number, prot: number): void => {
          if (allocFails()) throw new IommuError("map", "ENOMEM", "injected page-table allocation failure");
          target.map(iova, paddr, size, prot);
        };
      }
      const v = Reflect.get(target, prop, recv) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function snapshot(h: Harness, c: number): string {
  const f = h.sys.file(c);
  if (!f || f.kind !== "container") return "no container";
  const be = f.container.backend as Type1 | null;
  const groups = f.container.groups.map((g) => g.id).join(",");
  if (!be) return `groups=${groups} backend=none locked=${h.sys.mm.lockedVm}`;
  const tr: string[] = [];
  for (let p = 0; p < 64; p++) tr.push(be.translate(p * 0x10000).join("/"));
  return JSON.stringify({ groups, dmas: be.dmas.map((d) => [d.iova, d.size]), locked: h.sys.mm.lockedVm, avail: be.dmaAvail, domains: be.stats().domains, tr });
}

type Step = (h: Harness, s: { c: number; ram: number; g: number[] }) => number;

const steps: Step[] = [
  (h, s) => h.setIommu(s.c, U.VFIO_TYPE1v2_IOMMU),
  (h, s) => h.map(s.c, 3, s.ram, 0, 16 * P),
  (h, s) => h.map(s.c, 3, s.ram + 16 * P, 0x100000, 16 * P),
  (h, s) => { // second group: a new domain and a replay (per-device mode)
    const a = h.a;
    a.dv.setInt32(0, s.c, true);
    return h.sys.ioctl(s.g[1]!, U.VFIO_GROUP_SET_CONTAINER, a);
  },
  (h, s) => h.map(s.c, 3, s.ram + 32 * P, 0x200000, 16 * P),
  (h, s) => { const r = h.unmap(s.c, 0, 0x100000, 16 * P); return r < 0 ? r : 0; },
  (h, s) => h.map(s.c, 1, s.ram, 0x400000, 64 * P),
];

for (const share of [false, true]) {
  test(`fail_nth over a type1 scenario (${share ? "shared domain" : "per-device domains"}): clean ENOMEM, no partial state`, () => {
    let failures = 0;
    for (let n = 1; n < 200; n++) {
      let count = 0;
      let hit = false;
      setDomainFactory((spec) => faulty(defaultDomain(spec)));
      setAllocFailHook(() => {
        count++;
        if (count === n) {
          hit = true;
          return true;
        }
        return false;
      });
      try {
        const h = new Harness({ type1: { shareDomains: share } });
        h.sys.setMemlock(2 ** 30);
        const c = h.container();
        const g0 = h.group("0000:01:00.0", c);
        h.sys.bind("0000:03:00.0", "vfio-pci");
        const g1 = h.sys.openGroupOf("0000:03:00.0");
        const s = { c, ram: h.sys.mmap(128 * P), g: [g0, g1] };
        let failedAt = -1;
        for (let i = 0; i < steps.length; i++) {
          const before = snapshot(h, c);
          const wasHit = hit;
          const r = steps[i]!(h, s);
          if (!wasHit && hit) {
            assert.equal(r, -U.ENOMEM, `N=${n}: step ${i} must fail with ENOMEM`);
            assert.equal(snapshot(h, c), before, `N=${n}: step ${i} left partial state`);
            failedAt = i;
            setAllocFailHook(null);
            // the same call works once memory is back
            assert.equal(steps[i]!(h, s), 0, `N=${n}: step ${i} after recovery`);
          } else {
            assert.equal(r, 0, `N=${n}: step ${i}`);
          }
        }
        setAllocFailHook(null);
        h.sys.close(g0);
        h.sys.close(g1);
        h.sys.close(c);
        assert.equal(h.sys.mm.lockedVm, 0);
        if (failedAt < 0) break; // N past every allocation of the scenario
        failures++;
      } finally {
        setAllocFailHook(null);
        setDomainFactory(null);
      }
    }
    assert.ok(failures >= steps.length, `only ${failures} injection points`);
  });
}
