// The VFIO type1 compatibility layer on an iommufd (drivers/iommu/iommufd/vfio_compat.c,
// iommufd.md §10): container ioctls served on the compatibility IOAS, and where they differ from
// real type1 (no VADDR, accounting by the context's mode, EINVAL-free prot 0, ENOENT for an empty
// UNMAP before the late-2025 fix).

import type { IoctlArg } from "../arg.js";
import type { IommufdCtx } from "./ctx.js";
import { EINVAL, ENODEV, ENOENT, ENOTTY, EOVERFLOW } from "./errno.js";
import { IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE } from "./ioas.js";
import { mapUser } from "./ioas-ioctl.js";
import { PAGE, U64_MAX } from "./iova-alloc.js";

const VFIO_TYPE1_IOMMU = 1, VFIO_TYPE1v2_IOMMU = 3, VFIO_DMA_CC_IOMMU = 4, VFIO_UNMAP_ALL = 9;

/** iommufd_vfio_ioctl: VFIO container requests on an iommufd. */
export function compatIoctl(ctx: IommufdCtx, nr: number, a: IoctlArg): number {
  const compatObj = ctx.compatIoasId ? ctx.ioasObject(ctx.compatIoasId) : null;
  const compat = compatObj?.ioas ?? null;
  switch (nr) {
    case 0x3b64: // VFIO_GET_API_VERSION
      return 0;
    case 0x3b65: { // VFIO_CHECK_EXTENSION (iommufd_vfio_check_extension)
      const arg = a.value;
      if (arg === VFIO_TYPE1_IOMMU || arg === VFIO_TYPE1v2_IOMMU || arg === VFIO_UNMAP_ALL) return 1;
      if (arg === VFIO_DMA_CC_IOMMU) {
        if (!compatObj) return -ENODEV;
        return compatObj.hwpts.every((h) => h.domain.coherent) ? 1 : 0;
      }
      return 0;
    }
    case 0x3b66: { // VFIO_SET_IOMMU
      const arg = a.value;
      if (arg !== VFIO_TYPE1_IOMMU && arg !== VFIO_TYPE1v2_IOMMU) return -EINVAL;
      if (!compat) return -ENODEV;
      if (arg === VFIO_TYPE1_IOMMU) return compat.disableLargePages();
      return 0;
    }
    case 0x3b71: { // VFIO_IOMMU_MAP_DMA (iommufd_vfio_map_dma)
      if (a.u32(0) < 32 || a.u32(4) & ~3) return -EINVAL;
      if (!compat) return -ENODEV;
      const flags = a.u32(4);
      const vaddr = a.big64(8), iova = a.big64(16), size = a.big64(24);
      const iflags = IOMMU_IOAS_MAP_FIXED_IOVA | (flags & 1 ? IOMMU_IOAS_MAP_READABLE : 0) | (flags & 2 ? IOMMU_IOAS_MAP_WRITEABLE : 0);
      if (iova >= U64_MAX || size >= U64_MAX) return -EOVERFLOW;
      const at = compat.place(iflags, vaddr, size, iova);
      if (typeof at === "number") return at;
      return mapUser(compat, at, vaddr, size, (flags & 2) !== 0, (flags & 1) !== 0);
    }
    case 0x3b72: // VFIO_IOMMU_UNMAP_DMA (iommufd_vfio_unmap_dma)
      return unmapDma(ctx, compat, a);
    case 0x3b70: // VFIO_IOMMU_GET_INFO (iommufd_vfio_iommu_get_info)
      return getInfo(compatObj, a);
    default:
      return -ENOTTY;
  }
}

function unmapDma(ctx: IommufdCtx, compat: ReturnType<IommufdCtx["ioas"]>, a: IoctlArg): number {
  if (a.u32(0) < 24 || a.u32(4) & ~2) return -EINVAL;
  if (!compat) return -ENODEV;
  const iova = a.big64(8), size = a.big64(16);
  if (a.u32(4) & 2) {
    if (iova || size) return -EINVAL;
    a.setBig64(16, compat.unmapAll());
    return 0;
  }
  if (size === 0n) return -EINVAL;
  if (iova + size - 1n > U64_MAX) return -EOVERFLOW;
  if (!compat.largePages) {
    const r1 = compat.cut(iova);
    if (r1 < 0) return r1;
    const r2 = compat.cut(iova + size);
    if (r2 < 0) return r2;
  }
  const r = compat.unmapRange(iova, iova + size - 1n);
  // afb47765f923 (late 2025, stable backports): an empty range unmaps nothing, successfully
  const fixed = ctx.at(6, 18);
  if (typeof r === "number") {
    a.setBig64(16, 0n);
    if (r === -ENOENT && fixed && !compat.areas.some((x) => x.iova <= iova + size - 1n && iova <= x.last)) return 0;
    return r;
  }
  a.setBig64(16, r);
  return 0;
}

function getInfo(compatObj: ReturnType<IommufdCtx["ioasObject"]>, a: IoctlArg): number {
  const argsz = a.u32(0);
  // minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes)
  if (argsz < 16) return -EINVAL;
  if (!compatObj) return -ENODEV;
  const compat = compatObj.ioas;
  const ranges = compat.ranges();
  // iommufd_get_pagesizes: AND of the domains' page sizes (all ones without any), bits below
  // PAGE_SIZE replaced by PAGE_SIZE, never below the IOVA alignment
  let bm = U64_MAX;
  for (const h of compatObj.hwpts) bm &= h.domain.pgsizeBitmap;
  if (bm & (PAGE - 1n)) bm = (bm & ~(PAGE - 1n)) | PAGE;
  if (compat.alignment > bm) bm = compat.alignment;
  // The caps from offset 24 (sizeof(info)), each fill function writing only what the caller's
  // argsz holds: iommufd_fill_cap_dma_avail the whole 12-byte cap if it fits,
  // iommufd_fill_cap_iova each range that fits, then its 16-byte header if all ranges fit; the
  // previous cap's `next` once argsz reaches the next cap's offset. So caps appear partially
  // below the full size, while cap_offset stays 0.
  const fits = (at: number, len: number): boolean => argsz >= at + len && at + len <= a.buf.length;
  let total = 24;
  const dmaAt = total;
  if (argsz > total && fits(total, 12)) {
    a.setU16(total, 3); a.setU16(total + 2, 1); a.setU32(total + 4, 0); a.setU32(total + 8, 0xffffffff);
  }
  total += 16; // ALIGN(12, sizeof(u64))
  if (argsz > total) {
    ranges.forEach((r, i) => {
      const at = total + 16 + 16 * i;
      if (fits(at, 16)) { a.setBig64(at, r.start); a.setBig64(at + 8, r.last); }
    });
    if (fits(total, 16 + 16 * ranges.length)) {
      a.setU16(total, 1); a.setU16(total + 2, 1); a.setU32(total + 4, 0); a.setU32(total + 8, ranges.length); a.setU32(total + 12, 0);
    }
  }
  if (argsz >= total && fits(dmaAt + 4, 4)) a.setU32(dmaAt + 4, total);
  total += 16 + 16 * ranges.length;
  // copy_to_user(arg, &info, min(argsz, sizeof(info))): argsz, flags, iova_pgsizes, cap_offset
  const info = new Uint8Array(24), dv = new DataView(info.buffer);
  dv.setUint32(0, total, true);
  dv.setUint32(4, 3, true); // VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS
  dv.setBigUint64(8, bm, true);
  dv.setUint32(16, argsz >= total ? 24 : 0, true);
  a.buf.set(info.subarray(0, Math.min(argsz, 24)), 0);
  return 0;
}
