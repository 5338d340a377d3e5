// HWPT and device-info ioctls (drivers/iommu/iommufd/hw_pagetable.c, device.c, io_pagetable.c):
// HWPT_ALLOC (paging on an IOAS, nested on a NEST_PARENT paging HWPT), GET_HW_INFO,
// HWPT_SET_DIRTY_TRACKING, HWPT_GET_DIRTY_BITMAP, HWPT_INVALIDATE; layouts and errnos from
// iommufd.md §4.10-4.14 and the 6.12 sources.

import type { IoctlArg } from "../arg.js";
import type { IommufdCtx } from "./ctx.js";
import { hwptAllocPaging, type IommufdDevice } from "./device.js";
import { HWPT_FAULT_ID_VALID } from "./driver.js";
import { EFAULT, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW } from "./errno.js";
import { HwptNested, type HwptPaging } from "./hwpt.js";
import type { IoasObject } from "./ioas-object.js";
import { U64_MAX } from "./iova-alloc.js";
import { MockDevice } from "./mock.js";

/** IOMMU_HWPT_DATA_SELFTEST and its default IOTLB value (iommufd_test.h). */
const HWPT_DATA_SELFTEST = 0xdead;
const INVALIDATE_DATA_SELFTEST = 0xdeadbeef, INVALIDATE_FLAG_ALL = 1;

export function hwptIoctl(ctx: IommufdCtx, n: number, k: IoctlArg): number {
  switch (n) {
    case 0x89:
      return hwptAlloc(ctx, k);
    case 0x8a:
      return getHwInfo(ctx, k);
    case 0x8b:
      return setDirtyTracking(ctx, k);
    case 0x8c:
      return getDirtyBitmap(ctx, k);
    case 0x8d:
      return invalidate(ctx, k);
    default:
      // IOMMU_FAULT_QUEUE_ALLOC: flags → EOPNOTSUPP; I/O page faults are outside the model, so
      // a queue is refused the same way (documented deviation)
      return -EOPNOTSUPP;
  }
}

/** iommufd_hwpt_alloc. */
function hwptAlloc(ctx: IommufdCtx, k: IoctlArg): number {
  const flags = k.u32(4), devId = k.u32(8), ptId = k.u32(12);
  const dataType = k.u32(24), dataLen = k.u32(28), dataUptr = k.big64(32);
  if (k.u32(20)) return -EOPNOTSUPP;
  if ((dataType === 0 && dataLen) || (dataType !== 0 && !dataLen)) return -EINVAL;
  const dev = ctx.device(devId);
  if (!dev) return -ENOENT;
  // iommufd_get_object(pt_id, IOMMUFD_OBJ_ANY) failing is EINVAL here, not ENOENT
  const pt = ctx.table.get(ptId);
  if (!pt) return -EINVAL;
  let id: number;
  if (pt.type === "ioas") {
    const h = hwptAllocPaging(ctx, dev, pt as IoasObject, flags, dataLen > 0);
    if (typeof h === "number") return h;
    id = h.id;
  } else if (pt.type === "hwpt_paging") {
    const h = nestedAlloc(ctx, pt as HwptPaging, dev, flags, dataType, dataLen, dataUptr);
    if (typeof h === "number") return h;
    id = h.id;
  } else return -EINVAL;
  if (flags & HWPT_FAULT_ID_VALID) {
    // no FAULT object can exist (IOMMU_FAULT_QUEUE_ALLOC is not modelled): lookup fails
    ctx.destroyObject(ctx.table.get(id)!);
    return -ENOENT;
  }
  k.setU32(16, id);
  return 0;
}

/** iommufd_hwpt_nested_alloc with the mock driver's nested domain (only it nests here). */
function nestedAlloc(
  ctx: IommufdCtx, parent: HwptPaging, dev: IommufdDevice, flags: number, dataType: number, dataLen: number, uptr: bigint,
): HwptNested | number {
  if (flags & ~HWPT_FAULT_ID_VALID || !dataLen) return -EOPNOTSUPP;
  if (parent.auto || !parent.nestParent) return -EINVAL;
  if (!(dev.driver instanceof MockDevice)) return -EOPNOTSUPP;
  // mock_domain_alloc_user(parent): type, then iommu_copy_struct_from_user
  if (dataType !== HWPT_DATA_SELFTEST || flags & ~HWPT_FAULT_ID_VALID) return -EOPNOTSUPP;
  if (dataLen !== 4) return -EINVAL; // __iommu_copy_struct_from_user size bounds
  const bytes = uptr === 0n ? null : ctx.mm.read(Number(uptr), dataLen);
  if (!bytes) return -EFAULT;
  const iotlb = new DataView(bytes.buffer).getUint32(0, true);
  const id = ctx.table.reserve();
  if (!id) return -ENOMEM;
  const h = ctx.table.finalize(id, new HwptNested(parent, iotlb));
  parent.users++;
  parent.nestedChildren++;
  return h;
}

/** iommufd_get_hw_info. */
function getHwInfo(ctx: IommufdCtx, k: IoctlArg): number {
  const withPasid = ctx.at(6, 15);
  if (k.u32(4) || (withPasid ? k.buf[29]! | k.buf[30]! | k.buf[31]! : k.u32(28))) return -EOPNOTSUPP;
  const dev = ctx.device(k.u32(8));
  if (!dev) return -ENOENT;
  const info = dev.driver.hwInfo();
  const want = k.u32(12), uptr = Number(k.big64(16));
  const copyLen = Math.min(want, info.data.length);
  if (want > 0) {
    const out = new Uint8Array(want);
    out.set(info.data.subarray(0, copyLen));
    if (!ctx.mm.write(uptr, out)) return -EFAULT;
  }
  k.setU32(12, info.data.length);
  k.setU32(24, info.type);
  if (withPasid) k.buf[28] = info.maxPasidLog2;
  k.setBig64(32, info.capabilities);
  return 0;
}

function pagingHwpt(ctx: IommufdCtx, id: number): HwptPaging | null {
  return ctx.table.getTyped<HwptPaging>(id, "hwpt_paging");
}

/** iommufd_hwpt_set_dirty_tracking → iopt_set_dirty_tracking. */
function setDirtyTracking(ctx: IommufdCtx, k: IoctlArg): number {
  const flags = k.u32(4);
  if (flags & ~1 || k.u32(12)) return -EOPNOTSUPP;
  const h = pagingHwpt(ctx, k.u32(8));
  if (!h) return -ENOENT;
  if (!h.domain.dirtyOps) return -EOPNOTSUPP;
  const enable = (flags & 1) !== 0;
  if (enable) {
    // iopt_clear_dirty_data: start from a clean slate (a dirty bitmap without a bitmap, so the
    // driver clears even while tracking is still off); its errors are returned
    for (const a of h.ioas.ioas.areas) {
      if (!a.pages) continue;
      const r = h.domain.readAndClearDirty(Number(a.iova), Number(a.last - a.iova + 1n), false, null);
      if (r < 0) return r;
    }
  }
  return h.domain.setDirtyTracking(enable);
}

/** iommufd_hwpt_get_dirty_bitmap → iopt_read_and_clear_dirty_data. */
function getDirtyBitmap(ctx: IommufdCtx, k: IoctlArg): number {
  const flags = k.u32(8);
  if (flags & ~1 || k.u32(12)) return -EOPNOTSUPP;
  const h = pagingHwpt(ctx, k.u32(4));
  if (!h) return -ENOENT;
  const iova = k.big64(16), length = k.big64(24), pageSize = k.big64(32), data = k.big64(40);
  // iommufd_check_iova_range
  const al = h.ioas.ioas.alignment;
  const lastIova = iova + length - 1n;
  if (lastIova > U64_MAX || length === 0n) return -EOVERFLOW;
  if (iova % al || (lastIova + 1n) % al) return -EINVAL;
  if (pageSize === 0n) return -EINVAL;
  if (iova % pageSize || (lastIova + 1n) % pageSize) return -EINVAL;
  if (!h.domain.dirtyOps) return -EOPNOTSUPP;
  // iommu_read_and_clear_dirty: iova_bitmap_for_each runs __iommu_read_and_clear_dirty over the
  // contiguous areas from iova; the walk stops at the first error (a gap between areas → EINVAL,
  // the driver's error, a bitmap that cannot be pinned) but that error is discarded: `ret` stays 0,
  // so the ioctl succeeds with the bits recorded up to there
  const nbits = Number(length / pageSize);
  const bytes = Math.ceil(nbits / 64) * 8;
  const bitmap = ctx.mm.read(Number(data), bytes);
  if (!bitmap) return 0;
  const ps = Number(pageSize), base = Number(iova);
  const ioas = h.ioas.ioas;
  let cur = iova;
  for (;;) {
    const a = ioas.areas.find((x) => x.iova <= cur && cur <= x.last);
    if (!a) break;
    const end = a.last < lastIova ? a.last : lastIova;
    const r = h.domain.readAndClearDirty(Number(cur), Number(end - cur + 1n), (flags & 1) !== 0, (at, len) => {
      // iommu_dirty_bitmap_record: every bitmap page the dirty range touches
      const lo = Math.max(at, base), hi = Math.min(at + len, base + nbits * ps) - 1;
      for (let b = Math.floor((lo - base) / ps); b <= Math.floor((hi - base) / ps); b++) bitmap[b >> 3]! |= 1 << (b & 7);
    });
    if (r < 0 || end === lastIova) break;
    cur = end + 1n;
  }
  ctx.mm.write(Number(data), bitmap);
  return 0;
}

/** iommufd_hwpt_invalidate: entry_num is written back as the count handled, success or not. */
function invalidate(ctx: IommufdCtx, k: IoctlArg): number {
  const uptr = k.big64(8), dataType = k.u32(16), entryLen = k.u32(20), entryNum = k.u32(24);
  if (k.u32(28)) return -EOPNOTSUPP;
  k.setU32(24, 0);
  if (entryNum && (!uptr || !entryLen)) return -EINVAL;
  const id = k.u32(4);
  const h = ctx.table.getTyped<HwptNested>(id, "hwpt_nested");
  if (!h) return ctx.at(6, 13) && ctx.table.getTyped(id, "hwpt_paging") ? -EINVAL : -ENOENT;
  // mock_domain_cache_invalidate_user
  if (dataType !== INVALIDATE_DATA_SELFTEST) return -EINVAL;
  let done = 0;
  const stop = (r: number): number => {
    k.setU32(24, done);
    return r;
  };
  for (let i = 0; i < entryNum; i++) {
    // __iommu_copy_struct_from_user: below the first version or above the kernel's size
    if (entryLen !== 8) return stop(-EINVAL);
    const e = ctx.mm.read(Number(uptr) + i * entryLen, entryLen);
    if (!e) return stop(-EFAULT);
    const dv = new DataView(e.buffer);
    const f = dv.getUint32(0, true), slot = dv.getUint32(4, true);
    if (f & ~INVALIDATE_FLAG_ALL) return stop(-EOPNOTSUPP);
    if (slot > 3) return stop(-EINVAL);
    if (f & INVALIDATE_FLAG_ALL) h.iotlb.fill(0);
    else h.iotlb[slot] = 0;
    done++;
  }
  k.setU32(24, done);
  return 0;
}
