// The ioctl helper the iommufd test files share: one IoctlArg per context, a raw call with the
// kernel's byte layouts (iommufd.md §4, struct iommu_test_cmd of iommufd_test.h), and one method
// per request the kselftest helpers (iommufd_utils.h) wrap. Methods return -errno or 0 and the
// values the kernel writes back, never throw: every test asserts the outcome itself.

import assert from "node:assert/strict";
import { IoctlArg } from "../../src/vfio/arg.js";
import type { IommufdCtx } from "../../src/vfio/iommufd/ctx.js";
import * as U from "../../src/vfio/uapi.js";

export const FIXED = 1, WRITEABLE = 2, READABLE = 4;

/** IOMMU_TEST_CMD = _IO(';', 0xa0); sizeof(struct iommu_test_cmd) = 72. */
export const IOMMU_TEST_CMD = 0x3ba0;
export const TEST_CMD_SIZE = 72;
export const OP = {
  ADD_RESERVED: 1, MOCK_DOMAIN: 2, MD_CHECK_MAP: 3, MD_CHECK_REFS: 4, CREATE_ACCESS: 5, DESTROY_ACCESS_PAGES: 6,
  ACCESS_PAGES: 7, ACCESS_RW: 8, SET_TEMP_MEMORY_LIMIT: 9, MOCK_DOMAIN_REPLACE: 10, ACCESS_REPLACE_IOAS: 11,
  MOCK_DOMAIN_FLAGS: 12, DIRTY: 13, MD_CHECK_IOTLB: 14,
} as const;

export class Call {
  readonly a = new IoctlArg();
  constructor(readonly c: IommufdCtx) {}
  raw(nr: number, size: number, fill: (a: IoctlArg) => void = () => {}): number {
    this.a.reset();
    this.a.buf.fill(0);
    this.a.setU32(0, size);
    fill(this.a);
    return this.c.ioctl(nr, this.a);
  }
  destroy(id: number): number {
    return this.raw(U.IOMMU_DESTROY, 8, (a) => a.setU32(4, id));
  }
  ioasAlloc(): number {
    const r = this.raw(U.IOMMU_IOAS_ALLOC, 12);
    assert.equal(r, 0);
    return this.a.u32(8);
  }
  map(ioas: number, uva: bigint, length: bigint, iova = 0n, flags = WRITEABLE | READABLE): number | bigint {
    const r = this.raw(U.IOMMU_IOAS_MAP, 40, (a) => {
      a.setU32(4, flags); a.setU32(8, ioas); a.setBig64(16, uva); a.setBig64(24, length); a.setBig64(32, iova);
    });
    return r < 0 ? r : this.a.big64(32);
  }
  mapFixed(ioas: number, iova: bigint, length: bigint, uva = 0x7f0000000000n): number | bigint {
    return this.map(ioas, uva, length, iova, FIXED | WRITEABLE | READABLE);
  }
  unmap(ioas: number, iova: bigint, length: bigint): number | bigint {
    const r = this.raw(U.IOMMU_IOAS_UNMAP, 24, (a) => { a.setU32(4, ioas); a.setBig64(8, iova); a.setBig64(16, length); });
    return r < 0 ? r : this.a.big64(16);
  }
  ranges(ioas: number, num: number): { r: number; num: number; align: bigint; out: { start: bigint; last: bigint }[] } {
    const r = this.raw(U.IOMMU_IOAS_IOVA_RANGES, 32, (a) => { a.setU32(4, ioas); a.setU32(8, num); a.setBig64(16, num ? 0x1000n : 0n); });
    return { r, num: this.a.u32(8), align: this.a.big64(24), out: this.a.userRanges };
  }
  allow(ioas: number, list: [bigint, bigint][]): number {
    return this.raw(U.IOMMU_IOAS_ALLOW_IOVAS, 24, (a) => {
      a.setU32(4, ioas); a.setU32(8, list.length); a.setBig64(16, list.length ? 0x1000n : 0n);
      a.userRanges = list.map(([start, last]) => ({ start, last }));
    });
  }
  option(option: number, op: number, object: number, val = 0n): { r: number; val: bigint } {
    const r = this.raw(U.IOMMU_OPTION, 24, (a) => { a.setU32(4, option); a.setU16(8, op); a.setU32(12, object); a.setBig64(16, val); });
    return { r, val: this.a.big64(16) };
  }
  vfioIoas(op: number, id = 0): { r: number; id: number } {
    const r = this.raw(U.IOMMU_VFIO_IOAS, 12, (a) => { a.setU32(4, id); a.setU16(8, op); });
    return { r, id: this.a.u32(4) };
  }
  copy(dst: number, src: number, dstIova: bigint, srcIova: bigint, length: bigint, flags = FIXED | WRITEABLE): number {
    return this.raw(U.IOMMU_IOAS_COPY, 40, (a) => {
      a.setU32(4, flags); a.setU32(8, dst); a.setU32(12, src); a.setBig64(16, length); a.setBig64(24, dstIova); a.setBig64(32, srcIova);
    });
  }

  // ---------------------------------------------------------------- HWPT and device info

  /** IOMMU_HWPT_ALLOC {size flags@4 dev_id@8 pt_id@12 out_hwpt_id@16 __reserved@20 data_type@24 data_len@28 data_uptr@32 fault_id@40}. */
  hwptAlloc(dev: number, pt: number, flags = 0, data: { type?: number; len?: number; uptr?: bigint; faultId?: number } = {}): { r: number; id: number } {
    const r = this.raw(U.IOMMU_HWPT_ALLOC, 48, (a) => {
      a.setU32(4, flags); a.setU32(8, dev); a.setU32(12, pt);
      a.setU32(24, data.type ?? 0); a.setU32(28, data.len ?? 0); a.setBig64(32, data.uptr ?? 0n); a.setU32(40, data.faultId ?? 0);
    });
    return { r, id: r < 0 ? 0 : this.a.u32(16) };
  }
  /** IOMMU_GET_HW_INFO {size flags@4 dev_id@8 data_len@12 data_uptr@16 out_data_type@24 out_max_pasid_log2@28 out_capabilities@32}. */
  hwInfo(dev: number, dataLen: number, uptr: bigint): { r: number; dataLen: number; type: number; caps: bigint } {
    const r = this.raw(U.IOMMU_GET_HW_INFO, 40, (a) => { a.setU32(8, dev); a.setU32(12, dataLen); a.setBig64(16, uptr); });
    return { r, dataLen: this.a.u32(12), type: this.a.u32(24), caps: this.a.big64(32) };
  }
  /** IOMMU_HWPT_SET_DIRTY_TRACKING {size flags@4 hwpt_id@8 __reserved@12}. */
  setDirtyTracking(hwpt: number, enable: boolean): number {
    return this.raw(U.IOMMU_HWPT_SET_DIRTY_TRACKING, 16, (a) => { a.setU32(4, enable ? 1 : 0); a.setU32(8, hwpt); });
  }
  /** IOMMU_HWPT_GET_DIRTY_BITMAP {size hwpt_id@4 flags@8 __reserved@12 iova@16 length@24 page_size@32 data@40}. */
  getDirtyBitmap(hwpt: number, iova: bigint, length: bigint, pageSize: bigint, data: bigint, flags = 0): number {
    return this.raw(U.IOMMU_HWPT_GET_DIRTY_BITMAP, 48, (a) => {
      a.setU32(4, hwpt); a.setU32(8, flags); a.setBig64(16, iova); a.setBig64(24, length); a.setBig64(32, pageSize); a.setBig64(40, data);
    });
  }
  /** IOMMU_HWPT_INVALIDATE {size hwpt_id@4 data_uptr@8 data_type@16 entry_len@20 entry_num@24 __reserved@28}. */
  invalidate(hwpt: number, uptr: bigint, type: number, entryLen: number, entryNum: number): { r: number; num: number } {
    const r = this.raw(U.IOMMU_HWPT_INVALIDATE, 32, (a) => {
      a.setU32(4, hwpt); a.setBig64(8, uptr); a.setU32(16, type); a.setU32(20, entryLen); a.setU32(24, entryNum);
    });
    return { r, num: this.a.u32(24) };
  }

  // ---------------------------------------------------------------- IOMMU_TEST_CMD

  test(op: number, id: number, fill: (a: IoctlArg) => void = () => {}): number {
    return this.raw(IOMMU_TEST_CMD, TEST_CMD_SIZE, (a) => { a.setU32(4, op); a.setU32(8, id); fill(a); });
  }
  addReserved(ioas: number, start: bigint, length: bigint): number {
    return this.test(OP.ADD_RESERVED, ioas, (a) => { a.setBig64(16, start); a.setBig64(24, length); });
  }
  setTempMemoryLimit(limit: number): number {
    return this.test(OP.SET_TEMP_MEMORY_LIMIT, 0, (a) => a.setU32(16, limit));
  }
  /** MOCK_DOMAIN / MOCK_DOMAIN_FLAGS: out_stdev_id@16 out_hwpt_id@20 out_idev_id@24 (dev_flags@28). */
  mockDomain(pt: number, devFlags?: number): { r: number; stdev: number; hwpt: number; idev: number } {
    const r = devFlags === undefined
      ? this.test(OP.MOCK_DOMAIN, pt)
      : this.test(OP.MOCK_DOMAIN_FLAGS, pt, (a) => a.setU32(28, devFlags));
    return r < 0 ? { r, stdev: 0, hwpt: 0, idev: 0 } : { r, stdev: this.a.u32(16), hwpt: this.a.u32(20), idev: this.a.u32(24) };
  }
  /** MOCK_DOMAIN_REPLACE [stdev]: pt_id@16 in/out. */
  replace(stdev: number, pt: number): { r: number; pt: number } {
    const r = this.test(OP.MOCK_DOMAIN_REPLACE, stdev, (a) => a.setU32(16, pt));
    return { r, pt: this.a.u32(16) };
  }
  /** MD_CHECK_MAP [hwpt]: iova@16 length@24 uptr@32. */
  checkMap(hwpt: number, iova: bigint, length: bigint, uptr: bigint): number {
    return this.test(OP.MD_CHECK_MAP, hwpt, (a) => { a.setBig64(16, iova); a.setBig64(24, length); a.setBig64(32, uptr); });
  }
  /** MD_CHECK_REFS: length@16 uptr@24 refs@32. */
  checkRefs(uptr: bigint, length: bigint, refs: number): number {
    return this.test(OP.MD_CHECK_REFS, 0, (a) => { a.setBig64(16, length); a.setBig64(24, uptr); a.setU32(32, refs); });
  }
  /** MD_CHECK_IOTLB [nested hwpt]: id@16 iotlb@20. */
  checkIotlb(hwpt: number, slot: number, value: number): number {
    return this.test(OP.MD_CHECK_IOTLB, hwpt, (a) => { a.setU32(16, slot); a.setU32(20, value); });
  }
  /** CREATE_ACCESS [ioas]: out_access_fd@16 flags@20. */
  createAccess(ioas: number, flags: number): { r: number; fd: number } {
    const r = this.test(OP.CREATE_ACCESS, ioas, (a) => a.setU32(20, flags));
    return { r, fd: r < 0 ? -1 : this.a.u32(16) };
  }
  /** ACCESS_REPLACE_IOAS [access fd]: ioas_id@16. */
  accessReplaceIoas(fd: number, ioas: number): number {
    return this.test(OP.ACCESS_REPLACE_IOAS, fd, (a) => a.setU32(16, ioas));
  }
  /** ACCESS_PAGES [access fd]: flags@16 out_access_pages_id@20 iova@24 length@32 uptr@40. */
  accessPages(fd: number, iova: bigint, length: bigint, uptr: bigint, flags = 0): { r: number; id: number } {
    const r = this.test(OP.ACCESS_PAGES, fd, (a) => { a.setU32(16, flags); a.setBig64(24, iova); a.setBig64(32, length); a.setBig64(40, uptr); });
    return { r, id: r < 0 ? -1 : this.a.u32(20) };
  }
  /** DESTROY_ACCESS_PAGES [access fd]: access_pages_id@16. */
  destroyAccessPages(fd: number, id: number): number {
    return this.test(OP.DESTROY_ACCESS_PAGES, fd, (a) => a.setU32(16, id));
  }
  /** ACCESS_RW [access fd]: iova@16 length@24 uptr@32 flags@40. */
  accessRw(fd: number, iova: bigint, length: bigint, uptr: bigint, flags: number): number {
    return this.test(OP.ACCESS_RW, fd, (a) => { a.setBig64(16, iova); a.setBig64(24, length); a.setBig64(32, uptr); a.setU32(40, flags); });
  }
  /** DIRTY [hwpt]: flags@16 iova@24 length@32 page_size@40 uptr@48 out_nr_dirty@56. */
  dirty(hwpt: number, iova: bigint, length: bigint, pageSize: bigint, uptr: bigint): { r: number; nr: bigint } {
    const r = this.test(OP.DIRTY, hwpt, (a) => { a.setBig64(24, iova); a.setBig64(32, length); a.setBig64(40, pageSize); a.setBig64(48, uptr); });
    return { r, nr: this.a.big64(56) };
  }
}
