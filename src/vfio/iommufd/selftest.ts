// IOMMU_TEST_CMD (CONFIG_IOMMUFD_TEST, drivers/iommu/iommufd/selftest.c): the ops the kernel's
// selftests drive iommufd with: ADD_RESERVED, MOCK_DOMAIN(_FLAGS) / MOCK_DOMAIN_REPLACE (a mock
// device bound and attached), MD_CHECK_MAP / MD_CHECK_REFS, access objects (CREATE_ACCESS,
// ACCESS_REPLACE_IOAS, ACCESS_PAGES, DESTROY_ACCESS_PAGES, ACCESS_RW), SET_TEMP_MEMORY_LIMIT,
// DIRTY and MD_CHECK_IOTLB. struct iommu_test_cmd: size@0 op@4 id@8 __reserved@12 union@16 last@64.

import type { IoctlArg } from "../arg.js";
import { PAGE_SIZE } from "../mm.js";
import { ACCESS_RW_SLOW_PATH, ACCESS_RW_WRITE, IommufdAccess } from "./access.js";
import type { IommufdCtx } from "./ctx.js";
import { deviceBind, deviceChangePt, deviceDetach, deviceUnbind, type IommufdDevice } from "./device.js";
import { EBADFD, EFAULT, EINVAL, EIO, ENOENT, ENOMEM, EOPNOTSUPP, EOVERFLOW } from "./errno.js";
import type { HwptNested, HwptPaging } from "./hwpt.js";
import { IommufdObject } from "./object.js";
import {
  MOCK_FLAGS_DEVICE_HUGE_IOVA, MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_FLAGS_DEVICE_PASID, MOCK_PAGE, MockDevice, MockDomain,
} from "./mock.js";

export const TEST_OP = {
  ADD_RESERVED: 1, MOCK_DOMAIN: 2, MD_CHECK_MAP: 3, MD_CHECK_REFS: 4, CREATE_ACCESS: 5, DESTROY_ACCESS_PAGES: 6,
  ACCESS_PAGES: 7, ACCESS_RW: 8, SET_TEMP_MEMORY_LIMIT: 9, MOCK_DOMAIN_REPLACE: 10, ACCESS_REPLACE_IOAS: 11,
  MOCK_DOMAIN_FLAGS: 12, DIRTY: 13, MD_CHECK_IOTLB: 14,
} as const;
const MOCK_FLAGS_ACCESS_WRITE = 1, MOCK_FLAGS_ACCESS_SYZ = 1 << 16;
const MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1;
const EBADE = 52;

/** A selftest object: the mock device it bound (destroying it detaches and unbinds). */
export class SelftestObject extends IommufdObject {
  readonly type = "selftest";
  idev: IommufdDevice | null = null;

  destroy(ctx: IommufdCtx): void {
    if (!this.idev) return;
    deviceDetach(ctx, this.idev);
    deviceUnbind(ctx, this.idev);
    this.idev = null;
  }
}

/** struct selftest_access: an access object behind a file, with its pinned items. */
export class SelftestAccess {
  readonly access: IommufdAccess;
  readonly items: { iova: bigint; length: bigint; id: number }[] = [];
  private nextId = 0;

  constructor(needsPin: boolean) {
    this.access = new IommufdAccess({ needsPin, unmap: (iova, length) => this.unmap(iova, length) });
  }

  /** iommufd_test_access_unmap: drops every item intersecting the range. */
  unmap(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    for (let i = this.items.length - 1; i >= 0; i--) {
      const it = this.items[i]!;
      if (iova > it.iova + it.length - 1n || last < it.iova) continue;
      this.items.splice(i, 1);
      this.access.unpin(it.iova, it.length);
    }
  }

  addItem(iova: bigint, length: bigint): number {
    const id = this.nextId++;
    this.items.push({ iova, length, id });
    return id;
  }

  /** iommufd_test_staccess_release → iommufd_access_destroy. */
  release(ctx: IommufdCtx): void {
    this.unmap(0n, 0xffffffffffffffffn);
    this.access.change(null);
    ctx.table.remove(this.access);
  }
}

export function selftestIoctl(ctx: IommufdCtx, k: IoctlArg): number {
  const id = k.u32(8);
  switch (k.u32(4)) {
    case TEST_OP.ADD_RESERVED:
      return ctx.addReserved(id, k.big64(16), k.big64(24));
    case TEST_OP.MOCK_DOMAIN:
    case TEST_OP.MOCK_DOMAIN_FLAGS:
      return mockDomain(ctx, k, k.u32(4) === TEST_OP.MOCK_DOMAIN_FLAGS ? k.u32(28) : 0);
    case TEST_OP.MOCK_DOMAIN_REPLACE: {
      const s = ctx.table.getTyped<SelftestObject>(id, "selftest");
      if (!s || !s.idev) return -ENOENT;
      const r = deviceChangePt(ctx, s.idev, k.u32(16), "replace");
      if (r < 0) return r;
      k.setU32(16, r);
      return 0;
    }
    case TEST_OP.MD_CHECK_MAP:
      return checkMap(ctx, id, k.big64(16), k.big64(24), k.big64(32));
    case TEST_OP.MD_CHECK_REFS:
      return checkRefs(ctx, k.big64(16), k.big64(24), k.u32(32));
    case TEST_OP.MD_CHECK_IOTLB: {
      const h = ctx.table.getTyped<HwptNested>(id, "hwpt_nested");
      if (!h) return -ENOENT;
      const slot = k.u32(16);
      return slot > 3 || h.iotlb[slot] !== k.u32(20) ? -EINVAL : 0;
    }
    case TEST_OP.CREATE_ACCESS:
      return createAccess(ctx, k, id, k.u32(20));
    case TEST_OP.ACCESS_REPLACE_IOAS: {
      const s = ctx.accessFds.get(id);
      if (!s) return -EBADFD;
      const ioas = ctx.ioasObject(k.u32(16));
      return ioas ? s.access.replace(ioas) : -ENOENT; // replace itself is ENOENT while detached
    }
    case TEST_OP.ACCESS_PAGES:
      return accessPages(ctx, k, id);
    case TEST_OP.DESTROY_ACCESS_PAGES: {
      const s = ctx.accessFds.get(id);
      if (!s) return -EBADFD;
      const i = s.items.findIndex((x) => x.id === k.u32(16));
      if (i < 0) return -ENOENT;
      const [it] = s.items.splice(i, 1);
      s.access.unpin(it!.iova, it!.length);
      return 0;
    }
    case TEST_OP.ACCESS_RW:
      return accessRw(ctx, id, k.big64(16), k.big64(24), k.big64(32), k.u32(40));
    case TEST_OP.SET_TEMP_MEMORY_LIMIT:
      // only the batch size of pinning changes, never a result
      return k.u32(16) < 12 ? -EINVAL : 0;
    case TEST_OP.DIRTY:
      return dirty(ctx, k, id);
    default:
      return -EOPNOTSUPP;
  }
}

/** iommufd_test_mock_domain: IDs in the order selftest object, device, HWPT. */
function mockDomain(ctx: IommufdCtx, k: IoctlArg, devFlags: number): number {
  const sid = ctx.table.reserve();
  if (!sid) return -ENOMEM;
  if (devFlags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID)) {
    ctx.table.abort(sid);
    return -EINVAL;
  }
  const idev = deviceBind(ctx, new MockDevice(devFlags));
  if (typeof idev === "number") {
    ctx.table.abort(sid);
    return idev;
  }
  const hwptId = deviceChangePt(ctx, idev, k.u32(8), "attach");
  if (hwptId < 0) {
    deviceUnbind(ctx, idev);
    ctx.table.abort(sid);
    return hwptId;
  }
  const s = ctx.table.finalize(sid, new SelftestObject());
  s.idev = idev;
  k.setU32(16, sid);
  k.setU32(20, hwptId);
  k.setU32(24, idev.id);
  return 0;
}

function mockHwpt(ctx: IommufdCtx, id: number): MockDomain | number {
  const h = ctx.table.getTyped<HwptPaging>(id, "hwpt_paging");
  if (!h) return -ENOENT;
  return h.domain instanceof MockDomain ? h.domain : -EINVAL;
}

/** iommufd_test_md_check_pa: every mock page's PFN equals the user page's. */
function checkMap(ctx: IommufdCtx, id: number, iova: bigint, length: bigint, uptr: bigint): number {
  const m = BigInt(MOCK_PAGE);
  if (iova % m || length % m || uptr % m) return -EINVAL;
  const d = mockHwpt(ctx, id);
  if (typeof d === "number") return d;
  for (let o = 0; o < Number(length); o += MOCK_PAGE) {
    const va = Number(uptr) + o;
    const p = ctx.mm.phys(va);
    if (p < 0) return -EFAULT;
    const ent = d.pfns.get((Number(iova) + o) / MOCK_PAGE);
    if (ent === undefined || ent !== p) return -EINVAL;
  }
  return 0;
}

/** iommufd_test_md_check_refs: the long-term pin count of every page. */
function checkRefs(ctx: IommufdCtx, length: bigint, uptr: bigint, refs: number): number {
  const P = BigInt(PAGE_SIZE);
  if (length % P || uptr % P) return -EINVAL;
  for (let o = 0; o < Number(length); o += PAGE_SIZE) {
    const va = Number(uptr) + o;
    if (ctx.mm.phys(va) < 0) return -EFAULT;
    if (ctx.mm.pinsAt(va) !== refs) return -EIO;
  }
  return 0;
}

/** iommufd_test_create_access: an fd in out_access_fd (offset 16). */
function createAccess(ctx: IommufdCtx, k: IoctlArg, ioasId: number, flags: number): number {
  if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) return -EOPNOTSUPP;
  const s = new SelftestAccess((flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) !== 0);
  const aid = ctx.table.reserve();
  if (!aid) return -ENOMEM;
  ctx.table.finalize(aid, s.access);
  s.access.users++; // the driver's reference
  const ioas = ctx.ioasObject(ioasId);
  const r = ioas ? s.access.attach(ioas) : -ENOENT;
  if (r < 0) {
    ctx.table.remove(s.access);
    return r;
  }
  k.setU32(16, ctx.installAccessFd(s));
  return 0;
}

/** iommufd_test_access_pages. */
function accessPages(ctx: IommufdCtx, k: IoctlArg, fd: number): number {
  const flags = k.u32(16), iova = k.big64(24), length = k.big64(32), uptr = k.big64(40);
  if (length > 16n * 1024n * 1024n) return -ENOMEM;
  if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const s = ctx.accessFds.get(fd);
  if (!s) return -EBADFD;
  if (!s.access.needsPin) return -EOPNOTSUPP;
  const r = s.access.pin(iova, length, (flags & MOCK_FLAGS_ACCESS_WRITE) !== 0);
  if (r < 0) return r;
  if (uptr !== 0n) {
    // iommufd_test_check_pages: the pinned pages are the user's pages at uptr
    const P = BigInt(PAGE_SIZE);
    const first = uptr - (iova % P);
    const npages = Number(((iova + length + P - 1n) / P) - iova / P);
    const ioas = s.access.ioas!.ioas;
    for (let i = 0; i < npages; i++) {
      const pageIova = (iova / P) * P + BigInt(i) * P;
      const at = pageIova > iova ? pageIova : iova;
      const a = ioas.areas.find((x) => x.iova <= at && at <= x.last)!;
      const pinned = ctx.mm.phys(Number(a.uptr + (at - a.iova)));
      const want = ctx.mm.phys(Number(first) + i * PAGE_SIZE);
      if (want < 0) return unpinFail(s, iova, length, -EFAULT);
      if (Math.floor(pinned / PAGE_SIZE) !== Math.floor(want / PAGE_SIZE)) return unpinFail(s, iova, length, -EBADE);
    }
  }
  k.setU32(20, s.addItem(iova, length));
  return 0;
}

function unpinFail(s: SelftestAccess, iova: bigint, length: bigint, r: number): number {
  s.access.unpin(iova, length);
  return r;
}

/** iommufd_test_access_rw. */
function accessRw(ctx: IommufdCtx, fd: number, iova: bigint, length: bigint, ubuf: bigint, flags: number): number {
  if (length > 16n * 1024n * 1024n) return -ENOMEM;
  if (flags & ~(ACCESS_RW_WRITE | ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const s = ctx.accessFds.get(fd);
  if (!s) return -EBADFD;
  let tmp: Uint8Array = new Uint8Array(Number(length));
  if (flags & ACCESS_RW_WRITE) {
    const got = ctx.mm.read(Number(ubuf), Number(length));
    if (!got) return -EFAULT;
    tmp = got;
  }
  if (iova + length - 1n > 0xffffffffffffffffn) return -EOVERFLOW;
  const r = s.access.rw(iova, tmp, flags);
  if (r < 0) return r;
  if (!(flags & ACCESS_RW_WRITE) && !ctx.mm.write(Number(ubuf), tmp)) return -EFAULT;
  return 0;
}

/** iommufd_test_dirty: marks mock pages dirty where the user's bitmap has a bit. */
function dirty(ctx: IommufdCtx, k: IoctlArg, id: number): number {
  const iova = k.big64(24), length = k.big64(32), pageSize = k.big64(40), uptr = k.big64(48);
  if (!pageSize || !length || iova % pageSize || length % pageSize || !uptr) return -EINVAL;
  const d = mockHwpt(ctx, id);
  if (typeof d === "number") return d;
  if (!d.tracking) return -EINVAL;
  const max = Number(length / pageSize);
  // copy_from_user of DIV_ROUND_UP(max, BITS_PER_BYTE) bytes (a bitmap below 8 bits too)
  const bits = ctx.mm.read(Number(uptr), Math.ceil(max / 8));
  if (!bits) return -EFAULT;
  let count = 0;
  for (let i = 0; i < max; i++) {
    if (!(bits[i >> 3]! & (1 << (i & 7)))) continue;
    // xa_load(&mock->pfns, cur / page_size): the key divides by the caller's page_size
    const key = Math.floor((Number(iova) + i * Number(pageSize)) / Number(pageSize));
    if (d.pfns.has(key)) {
      d.dirty.add(key);
      count++;
    }
  }
  k.setBig64(56, BigInt(count));
  return 0;
}
