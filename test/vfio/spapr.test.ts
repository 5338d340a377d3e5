// sPAPR TCE v2 backend on the POWER model: the spec's worked sequences (vfio-uapi.md §9 #34, #35).

import { test } from "node:test";
import assert from "node:assert/strict";
import { Harness } from "./helpers.js";
import * as U from "../../src/vfio/uapi.js";

function setup(type: number): { h: Harness; c: number; r: number } {
  const h = new Harness({ iommu: "power" });
  const c = h.container();
  h.group("0000:01:00.0", c);
  return { h, c, r: h.setIommu(c, type) };
}

function reg(h: Harness, c: number, nr: number, vaddr: number, size: number): number {
  const a = h.a;
  a.setU32(0, 24);
  a.setU64(8, vaddr);
  a.setU64(16, size);
  return h.sys.ioctl(c, nr, a);
}

test("sPAPR on PowerNV: v1 refused (EPERM), v2 accepted; type1 not there (ENODEV)", () => {
  assert.equal(setup(U.VFIO_SPAPR_TCE_IOMMU).r, -U.EPERM);
  assert.equal(setup(U.VFIO_TYPE1v2_IOMMU).r, -U.ENODEV);
  const { h, c, r } = setup(U.VFIO_SPAPR_TCE_v2_IOMMU);
  assert.equal(r, 0);
  const a = h.a;
  a.value = U.VFIO_EEH;
  assert.equal(h.sys.ioctl(c, U.VFIO_CHECK_EXTENSION, a), 1);
  const info = h.a;
  info.setU32(0, 32);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_GET_INFO, info), 0);
  assert.equal(info.u32(4), 1);
  assert.equal(info.u32(12), 0x80000000);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_ENABLE, h.a), -U.ENOTTY);
});

test("sPAPR v2 worked sequence #34: MAP before REGISTER EPERM; REGISTER twice EBUSY; UNREGISTER unknown ENOENT; third window ENOSPC; misaligned iova returns 1", () => {
  const { h, c } = setup(U.VFIO_SPAPR_TCE_v2_IOMMU);
  h.sys.setMemlock(2 ** 30);
  const ram = h.sys.mmap(0x100000);
  assert.equal(h.map(c, 3, ram, 0, 0x10000), -U.EPERM);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x100000), 0);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x100000), -U.EBUSY);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x10000), -U.EINVAL);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram + 0x10000, 0x10000), -U.ENOENT);
  assert.equal(h.map(c, 3, ram, 0x10000, 0x10000), 0); // default window created lazily (4K TCEs)
  assert.equal(h.map(c, 3, ram, 0x10800, 0x1000), 1);
  assert.equal(h.map(c, 3, ram, 0x100000000, 0x1000), -U.ENXIO);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), -U.EBUSY);
  const cr = (): number => {
    const a = h.a;
    a.setU32(0, 40); a.setU32(8, 16); a.setU64(16, 0x40000000); a.setU32(24, 1);
    const r = h.sys.ioctl(c, U.VFIO_IOMMU_SPAPR_TCE_CREATE, a);
    return r < 0 ? r : a.u64(32);
  };
  assert.equal(cr(), 2 ** 59);
  assert.equal(cr(), -U.ENOSPC);
  const u = h.a;
  u.setU32(0, 24); u.setU64(8, 0x10000); u.setU64(16, 0x10000);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_UNMAP_DMA, u), 0);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), 0);
  const locked = h.sys.mm.lockedVm;
  assert.ok(locked > 0); // the two TCE tables
});
