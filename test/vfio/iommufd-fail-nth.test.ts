// iommufd_fail_nth in the model: the scenarios of the kernel's iommufd_fail_nth.c, run again and
// again with the Nth injection point failing (object allocation, pin batch/charge, driver domain
// allocation, mock map: iommufd_should_fail's ENOMEM / ENOENT), until a run consumes no
// injection. Every run may stop at its first failing call; then closing the context must leave
// no object, no pinned page and no charge (the kselftest's teardown check), and the failing call
// must have returned a plain errno.

import { test } from "node:test";
import assert from "node:assert/strict";
import { IoctlArg } from "../../src/vfio/arg.js";
import { setAllocFailHook } from "../../src/vfio/iommu.js";
import { IommufdCtx } from "../../src/vfio/iommufd/ctx.js";
import { MOCK_APERTURE_START } from "../../src/vfio/iommufd/mock.js";
import { ProcessMm } from "../../src/vfio/mm.js";
import * as U from "../../src/vfio/uapi.js";

const TEST = 0x3ba0;
const PAGE = 4096;
const ALLOWED = new Set([-12 /* ENOMEM */, -2 /* ENOENT */, -14 /* EFAULT */, -22 /* EINVAL */]);

class Run {
  readonly mm = new ProcessMm();
  readonly ctx: IommufdCtx;
  readonly a = new IoctlArg();
  readonly buf: number;
  constructor(userMode: boolean) {
    this.mm.chargeLocked = userMode;
    this.mm.memlockLimit = 64 * 1024 * 1024;
    this.ctx = new IommufdCtx({ k: { iommufd: true, major: 6, minor: 12 }, mm: this.mm }, { selftest: true });
    this.buf = this.mm.mmap(2 * 1024 * 1024, 2 * 1024 * 1024);
  }
  raw(nr: number, size: number, fill: (a: IoctlArg) => void): number {
    this.a.reset();
    this.a.buf.fill(0);
    this.a.setU32(0, size);
    fill(this.a);
    return this.ctx.ioctl(nr, this.a);
  }
  ioasAlloc(): number {
    const r = this.raw(U.IOMMU_IOAS_ALLOC, 12, () => {});
    return r < 0 ? r : this.a.u32(8);
  }
  map(ioas: number, va: number, len: number, iova = 0): number {
    const r = this.raw(U.IOMMU_IOAS_MAP, 40, (a) => {
      a.setU32(4, iova ? 7 : 6); a.setU32(8, ioas); a.setU64(16, va); a.setU64(24, len); a.setU64(32, iova);
    });
    return r < 0 ? r : this.a.u64(32);
  }
  mockDomain(ioas: number): number {
    const r = this.raw(TEST, 72, (a) => { a.setU32(4, 2); a.setU32(8, ioas); });
    return r < 0 ? r : this.a.u32(16);
  }
  /** CREATE_ACCESS with NEEDS_PIN_PAGES: the access fd. */
  createPinningAccess(ioas: number): number {
    const x = this.raw(TEST, 72, (a) => { a.setU32(4, 5); a.setU32(8, ioas); a.setU32(20, 1); });
    return x < 0 ? x : this.a.u32(16);
  }
  /** ACCESS_PAGES over the whole 2 MiB buffer mapped at MOCK_APERTURE_START. */
  pinAll(access: number): number {
    return this.raw(TEST, 72, (a) => {
      a.setU32(4, 7); a.setU32(8, access); a.setU64(24, Number(MOCK_APERTURE_START)); a.setU64(32, 2 * 1024 * 1024); a.setU64(40, this.buf);
    });
  }
  destroy(id: number): number {
    return this.raw(U.IOMMU_DESTROY, 8, (a) => a.setU32(4, id));
  }
  /** The teardown check: nothing pinned, nothing charged, no object left. */
  assertClean(label: string): void {
    this.ctx.release();
    assert.equal(this.ctx.objectCount, 0, `${label}: objects left`);
    for (let o = 0; o < 2 * 1024 * 1024; o += PAGE) assert.equal(this.mm.pinsAt(this.buf + o), 0, `${label}: page ${o / PAGE} pinned`);
    assert.equal(this.mm.pinnedVm, 0, `${label}: VmPin`);
    assert.equal(this.mm.userLockedVm, 0, `${label}: user locked_vm`);
  }
}

type Scenario = (r: Run) => number[];

/** Steps run in order; each returns its result, the run stops at the first negative one. */
function steps(list: ((st: Record<string, number>) => number)[]): number[] {
  const st: Record<string, number> = {};
  const out: number[] = [];
  for (const s of list) {
    const v = s(st);
    out.push(v);
    if (v < 0) break;
  }
  return out;
}

const scenarios: Record<string, Scenario> = {
  basic: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => r.raw(U.IOMMU_IOAS_IOVA_RANGES, 32, (a) => { a.setU32(4, st.ioas!); a.setU32(8, 0); }) === -90 ? 0 : -1,
    (st) => r.raw(U.IOMMU_IOAS_ALLOW_IOVAS, 24, (a) => {
      a.setU32(4, st.ioas!); a.setU32(8, 1); a.setU64(16, 0x1000);
      a.userRanges = [{ start: 16384n, last: BigInt(2 * 1024 * 1024 + 16384 * 600 - 1) }];
    }),
    (st) => (st.iova = r.map(st.ioas!, r.buf, 2 * 1024 * 1024)),
    (st) => r.raw(U.IOMMU_IOAS_COPY, 40, (a) => {
      a.setU32(4, 7); a.setU32(8, st.ioas!); a.setU32(12, st.ioas!); a.setU64(16, 4096); a.setU64(24, 0x40000000); a.setU64(32, st.iova!);
    }),
    (st) => r.raw(U.IOMMU_IOAS_UNMAP, 24, (a) => { a.setU32(4, st.ioas!); a.setU64(8, st.iova!); a.setU64(16, 2 * 1024 * 1024); }),
  ]),
  map_domain: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => (st.stdev = r.mockDomain(st.ioas!)),
    (st) => r.map(st.ioas!, r.buf, 256 * 1024, Number(MOCK_APERTURE_START)),
    (st) => r.destroy(st.stdev!),
    (st) => r.mockDomain(st.ioas!),
  ]),
  map_two_domains: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => (st.s1 = r.mockDomain(st.ioas!)),
    (st) => (st.s2 = r.mockDomain(st.ioas!)),
    (st) => r.map(st.ioas!, r.buf, 256 * 1024, Number(MOCK_APERTURE_START)),
    (st) => r.destroy(st.s1!),
    (st) => r.destroy(st.s2!),
    (st) => r.mockDomain(st.ioas!),
    (st) => r.mockDomain(st.ioas!),
  ]),
  access_pin: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => r.map(st.ioas!, r.buf, 2 * 1024 * 1024, Number(MOCK_APERTURE_START)),
    (st) => (st.access = r.createPinningAccess(st.ioas!)),
    (st) => r.pinAll(st.access!),
    (st) => r.raw(TEST, 72, (a) => { a.setU32(4, 6); a.setU32(8, st.access!); a.setU32(16, r.a.u32(20)); }),
    (st) => r.ctx.closeAccessFd(st.access!),
  ]),
  access_pin_domain: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => (st.stdev = r.mockDomain(st.ioas!)),
    (st) => r.map(st.ioas!, r.buf, 2 * 1024 * 1024, Number(MOCK_APERTURE_START)),
    (st) => (st.access = r.createPinningAccess(st.ioas!)),
    (st) => r.pinAll(st.access!),
    (st) => r.destroy(st.stdev!),
    (st) => r.ctx.closeAccessFd(st.access!),
  ]),
  device: (r) => steps([
    (st) => (st.ioas = r.ioasAlloc()),
    (st) => (st.ioas2 = r.ioasAlloc()),
    (st) => r.map(st.ioas!, r.buf, PAGE, Number(MOCK_APERTURE_START)),
    (st) => r.map(st.ioas2!, r.buf, PAGE, Number(MOCK_APERTURE_START)),
    (st) => {
      const x = r.mockDomain(st.ioas!);
      st.idev = r.a.u32(24);
      return (st.stdev = x);
    },
    (st) => {
      const x = r.raw(U.IOMMU_HWPT_ALLOC, 48, (a) => { a.setU32(8, st.idev!); a.setU32(12, st.ioas!); });
      return x < 0 ? x : (st.hwpt = r.a.u32(16));
    },
    (st) => r.raw(TEST, 72, (a) => { a.setU32(4, 10); a.setU32(8, st.stdev!); a.setU32(16, st.ioas2!); }),
    (st) => r.raw(TEST, 72, (a) => { a.setU32(4, 10); a.setU32(8, st.stdev!); a.setU32(16, st.hwpt!); }),
  ]),
};

for (const [name, scenario] of Object.entries(scenarios)) {
  for (const userMode of [false, true]) {
    test(`iommufd fail_nth/${name} (${userMode ? "USER accounting" : "CAP_IPC_LOCK"}): every failure is clean`, () => {
      let n = 0, consumed = true, failures = 0;
      try {
        for (n = 1; consumed && n <= 400; n++) {
          let count = 0;
          consumed = false;
          setAllocFailHook(() => {
            if (++count !== n) return false;
            consumed = true;
            return true;
          });
          const r = new Run(userMode);
          const res = scenario(r);
          setAllocFailHook(null);
          const last = res[res.length - 1]!;
          if (consumed) {
            if (last < 0) {
              failures++;
              assert.ok(ALLOWED.has(last), `N=${n}: step ${res.length} returned ${last}`);
            }
          } else assert.ok(last >= 0, `N=${n}: the undisturbed run failed at step ${res.length} with ${last}`);
          r.assertClean(`N=${n}`);
        }
      } finally {
        setAllocFailHook(null);
      }
      assert.ok(!consumed, "the scenario needs more than 400 injection points");
      assert.ok(failures > 0, "no injection point was reached");
    });
  }
}
