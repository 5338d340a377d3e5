// The IOAS ioctls (drivers/iommu/iommufd/ioas.c, main.c): DESTROY, IOAS_ALLOC, ALLOW_IOVAS, COPY,
// IOVA_RANGES, MAP, UNMAP, OPTION, VFIO_IOAS, with the checks in the order iommufd.md §4 gives.

import type { IoctlArg } from "../arg.js";
import type { IommufdCtx } from "./ctx.js";
import { EBUSY, EFAULT, EINVAL, EMSGSIZE, ENODEV, ENOENT, EOPNOTSUPP, EOVERFLOW, EPERM } from "./errno.js";
import { IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE, type Area, type Ioas } from "./ioas.js";
import { U64_MAX, type Span } from "./iova-alloc.js";

const ULONG_MAX = U64_MAX;

export function ioasIoctl(ctx: IommufdCtx, n: number, k: IoctlArg, user: IoctlArg): number {
  switch (n) {
    case 0x80:
      return ctx.destroy(k.u32(4));
    case 0x81: {
      if (k.u32(4)) return -EOPNOTSUPP;
      const id = ctx.allocIoas();
      if (id < 0) return id;
      k.setU32(8, id);
      return 0;
    }
    case 0x82:
      return allowIovas(ctx, k, user);
    case 0x83:
      return copy(ctx, k);
    case 0x84:
      return iovaRanges(ctx, k, user);
    case 0x85:
      return map(ctx, k);
    case 0x86:
      return unmap(ctx, k);
    case 0x87:
      return option(ctx, k);
    default:
      return vfioIoas(ctx, k);
  }
}

function allowIovas(ctx: IommufdCtx, k: IoctlArg, user: IoctlArg): number {
  if (k.u32(12)) return -EOPNOTSUPP;
  const ioas = ctx.ioas(k.u32(4));
  if (!ioas) return -ENOENT;
  const num = k.u32(8);
  const ptr = k.big64(16);
  if (num > 0 && ptr === 0n) return -EFAULT;
  const list: Span[] = [];
  for (let i = 0; i < num; i++) {
    const r = user.userRanges[i];
    if (!r) return -EFAULT;
    if (r.start >= r.last) return -EINVAL;
    if (list.some((x) => x.start <= r.last && r.start <= x.last)) return -EINVAL;
    list.push({ start: r.start, last: r.last });
  }
  return ioas.setAllowed(list);
}

function iovaRanges(ctx: IommufdCtx, k: IoctlArg, user: IoctlArg): number {
  if (k.u32(12)) return -EOPNOTSUPP;
  const ioas = ctx.ioas(k.u32(4));
  if (!ioas) return -ENOENT;
  const ranges = ioas.ranges();
  const max = k.u32(8);
  const ptr = k.big64(16);
  if (max > 0 && ptr === 0n && ranges.length > 0) return -EFAULT;
  const out = user.userRanges;
  for (let i = 0; i < ranges.length && i < max; i++) out[i] = { ...ranges[i]! };
  k.setU32(8, ranges.length);
  k.setBig64(24, ioas.alignment);
  return ranges.length > max ? -EMSGSIZE : 0;
}

/** Makes and inserts one area of user memory (iopt_map_user_pages after placement). */
export function mapUser(ioas: Ioas, at: bigint, uva: bigint, length: bigint, writeable: boolean, readable: boolean): number {
  const area: Area = {
    iova: at, last: at + length - 1n, uptr: uva, pages: ioas.newPages(uva, length, writeable), writeable, readable, accessPins: 0,
  };
  return ioas.insert(area);
}

function map(ctx: IommufdCtx, k: IoctlArg): number {
  const flags = k.u32(4);
  if (flags & ~7 || k.u32(12)) return -EOPNOTSUPP;
  const uva = k.big64(16), length = k.big64(24), iova = k.big64(32);
  if (iova >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
  if (ctx.rwRequired && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
  const ioas = ctx.ioas(k.u32(8));
  if (!ioas) return -ENOENT;
  const at = ioas.place(flags, uva, length, iova);
  if (typeof at === "number") return at;
  const r = mapUser(ioas, at, uva, length, (flags & IOMMU_IOAS_MAP_WRITEABLE) !== 0, (flags & IOMMU_IOAS_MAP_READABLE) !== 0);
  if (r < 0) return r;
  k.setBig64(32, at);
  return 0;
}

function copy(ctx: IommufdCtx, k: IoctlArg): number {
  const flags = k.u32(4);
  if (flags & ~7) return -EOPNOTSUPP;
  const length = k.big64(16), dst = k.big64(24), src = k.big64(32);
  if (length >= ULONG_MAX || src >= ULONG_MAX || dst >= ULONG_MAX) return -EOVERFLOW;
  if (ctx.rwRequired && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
  const sIoas = ctx.ioas(k.u32(12));
  if (!sIoas) return -ENOENT;
  if (length === 0n) return -EINVAL;
  if (src + length - 1n > U64_MAX) return -EOVERFLOW;
  const srcLast = src + length - 1n;
  const areas = sIoas.covering(src, srcLast);
  if (!areas) return -ENOENT;
  const dIoas = ctx.ioas(k.u32(8));
  if (!dIoas) return -ENOENT;
  const uptr = areas[0]!.uptr + (src - areas[0]!.iova);
  const at = dIoas.place(flags, uptr, length, dst);
  if (typeof at === "number") return at;
  const writeable = (flags & IOMMU_IOAS_MAP_WRITEABLE) !== 0;
  if (writeable && areas.some((x) => !x.pages || !x.pages.writable)) return -EPERM;
  // one destination area per crossed source area, sharing its pages (iopt_map_pages of a list)
  const made: Area[] = [];
  let cur = at, s = src;
  for (const x of areas) {
    const pieceLast = x.last < srcLast ? x.last : srcLast;
    const len = pieceLast - s + 1n;
    const area: Area = {
      iova: cur, last: cur + len - 1n, uptr: x.uptr + (s - x.iova), pages: x.pages, writeable,
      readable: (flags & IOMMU_IOAS_MAP_READABLE) !== 0, accessPins: 0,
    };
    const r = dIoas.insert(area);
    if (r < 0) {
      for (const m of made) dIoas.unmapRange(m.iova, m.last);
      return r;
    }
    made.push(area);
    cur += len;
    s += len;
  }
  k.setBig64(24, at);
  return 0;
}

function unmap(ctx: IommufdCtx, k: IoctlArg): number {
  const ioas = ctx.ioas(k.u32(4));
  if (!ioas) return -ENOENT;
  const iova = k.big64(8), length = k.big64(16);
  if (iova === 0n && length === U64_MAX) {
    k.setBig64(16, ioas.unmapAll());
    return 0;
  }
  if (iova >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
  if (length === 0n) return -EINVAL;
  if (iova + length - 1n > U64_MAX) return -EOVERFLOW;
  const r = ioas.unmapRange(iova, iova + length - 1n);
  if (typeof r === "number") return r;
  k.setBig64(16, r);
  return 0;
}

function option(ctx: IommufdCtx, k: IoctlArg): number {
  const id = k.u32(4), op = k.u16(8), objectId = k.u32(12), val = k.big64(16);
  if (k.u16(10)) return -EOPNOTSUPP;
  if (id === 0) {
    if (objectId !== 0) return -EOPNOTSUPP;
    if (op === 1) {
      k.setBig64(16, BigInt(ctx.rlimitMode));
      return 0;
    }
    if (op !== 0) return -EOPNOTSUPP;
    if (ctx.objectCount > 0) return -EBUSY;
    if (val > 1n) return -EINVAL;
    ctx.rlimitMode = Number(val);
    return 0;
  }
  if (id === 1) {
    const ioas = ctx.ioas(objectId);
    if (!ioas) return -ENOENT;
    if (op === 1) {
      k.setBig64(16, ioas.largePages ? 1n : 0n);
      return 0;
    }
    if (op !== 0) return -EOPNOTSUPP;
    if (val === 0n) return ioas.disableLargePages();
    if (val === 1n) {
      ioas.largePages = true;
      return 0;
    }
    return -EINVAL;
  }
  return -EOPNOTSUPP;
}

function vfioIoas(ctx: IommufdCtx, k: IoctlArg): number {
  if (k.u16(10)) return -EOPNOTSUPP;
  switch (k.u16(8)) {
    case 0:
      if (!ctx.compatIoasId) return -ENODEV;
      k.setU32(4, ctx.compatIoasId);
      return 0;
    case 1:
      if (!ctx.ioas(k.u32(4))) return -ENOENT;
      ctx.compatIoasId = k.u32(4);
      return 0;
    case 2:
      ctx.compatIoasId = 0;
      return 0;
    default:
      return -EOPNOTSUPP;
  }
}

