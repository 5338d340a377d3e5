// An iommufd context (/dev/iommu, drivers/iommu/iommufd/main.c): the object table (lowest free
// ID ≥ 1, users counts, DESTROY's EBUSY), ioctl dispatch in the kernel's order (table range,
// size, min size, E2BIG tail), the IOAS ioctls, IOMMU_OPTION, IOMMU_VFIO_IOAS and the VFIO type1
// compatibility layer (vfio_compat.c). iommufd.md gives every rule cited here.

import { IoctlArg } from "../arg.js";
import type { VfioGroup } from "../group.js";
import { Ioas, IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE } from "./ioas.js";
import { PAGE, U64_MAX, type Span } from "./iova-alloc.js";

const EPERM = 1, ENOENT = 2, E2BIG = 7, EFAULT = 14, EBUSY = 16, ENODEV = 19, EINVAL = 22, ENOTTY = 25,
  EOVERFLOW = 75, EMSGSIZE = 90, EOPNOTSUPP = 95;

export interface IommufdHost {
  readonly k: { readonly iommufd: boolean; readonly major: number; readonly minor: number };
}

type ObjType = "ioas" | "hwpt_paging" | "device" | "access";

interface Obj {
  id: number;
  type: ObjType;
  users: number;
  ioas?: Ioas;
}

/** ksize / min size per request number (iommufd.md §1). */
const SIZES: Record<number, [number, number]> = {
  0x80: [8, 8], 0x81: [12, 12], 0x82: [24, 24], 0x83: [40, 40], 0x84: [32, 32], 0x85: [40, 40],
  0x86: [24, 24], 0x87: [24, 24], 0x88: [12, 12], 0x89: [48, 24], 0x8a: [40, 32], 0x8b: [16, 16],
  0x8c: [48, 48], 0x8d: [32, 32], 0x8e: [16, 16],
};
/** Last ioctl of the table: 0x8e for 6.11-6.12 kernels (newer ones go further). */
const TABLE_END = 0x8e;

const ULONG_MAX = U64_MAX;

export class IommufdCtx {
  private readonly objects = new Map<number, Obj>();
  /** RLIMIT_MODE: 0 user (the /dev/iommu default), 1 mm. */
  rlimitMode = 0;
  compatIoasId = 0;
  private readonly kbuf = new IoctlArg();

  constructor(readonly sys: IommufdHost, opts: { vfioContainer?: boolean } = {}) {
    if (opts.vfioContainer) this.rlimitMode = 1;
  }

  // ------------------------------------------------------------------ objects

  private allocId(type: ObjType, ioas?: Ioas): Obj {
    let id = 1;
    while (this.objects.has(id)) id++;
    const o: Obj = ioas ? { id, type, users: 1, ioas } : { id, type, users: 1 };
    this.objects.set(id, o);
    return o;
  }

  /** The IOAS with this ID, or null (ENOENT). */
  ioas(id: number): Ioas | null {
    const o = this.objects.get(id);
    return o && o.type === "ioas" && o.ioas ? o.ioas : null;
  }

  get objectCount(): number {
    return this.objects.size;
  }

  allocIoas(): number {
    return this.allocId("ioas", new Ioas()).id;
  }

  destroy(id: number): number {
    const o = this.objects.get(id);
    if (!o) return -ENOENT;
    if (o.users !== 1 || (o.ioas && o.ioas.holders > 0)) return -EBUSY;
    if (o.ioas) o.ioas.unmapAll();
    this.objects.delete(id);
    if (id === this.compatIoasId) this.compatIoasId = 0;
    return 0;
  }

  /** Test op ADD_RESERVED: reserve [start, start+length-1] in an IOAS. */
  addReserved(ioasId: number, start: bigint, length: bigint): number {
    const ioas = this.ioas(ioasId);
    if (!ioas) return -ENOENT;
    if (length === 0n || start + length - 1n > U64_MAX) return -EOVERFLOW;
    return ioas.reserve(start, start + length - 1n, "test");
  }

  release(): void {
    for (const o of this.objects.values()) if (o.ioas) o.ioas.unmapAll();
    this.objects.clear();
    this.compatIoasId = 0;
  }

  bindGroup(_g: VfioGroup): number {
    return -EINVAL; // the legacy group path onto iommufd is not modelled (no kernel here has it)
  }

  // ------------------------------------------------------------------ dispatch

  ioctl(nr: number, a: IoctlArg): number {
    const n = nr & 0xff;
    if (n < 0x80 || n > TABLE_END) return this.compat(nr, a);
    const size = a.u32(0);
    const sz = SIZES[n];
    if (!sz || nr !== (0x3b00 | n)) return -ENOTTY;
    const [ksize, min] = sz;
    if (size < min) return -EINVAL;
    for (let i = ksize; i < Math.min(size, a.buf.length); i++) if (a.buf[i] !== 0) return -E2BIG;
    const k = this.kbuf.reset();
    k.buf.set(a.buf.subarray(0, Math.min(size, ksize)));
    k.userRanges = a.userRanges;
    const r = this.dispatch(n, k, a);
    if (r >= 0 || r === -EMSGSIZE) a.buf.set(k.buf.subarray(0, Math.min(size, ksize)));
    return r;
  }

  private dispatch(n: number, k: IoctlArg, user: IoctlArg): number {
    switch (n) {
      case 0x80:
        return this.destroy(k.u32(4));
      case 0x81: {
        if (k.u32(4)) return -EOPNOTSUPP;
        k.setU32(8, this.allocIoas());
        return 0;
      }
      case 0x82:
        return this.allowIovas(k, user);
      case 0x83:
        return this.copy(k);
      case 0x84:
        return this.iovaRanges(k, user);
      case 0x85:
        return this.map(k);
      case 0x86:
        return this.unmap(k);
      case 0x87:
        return this.option(k);
      case 0x88:
        return this.vfioIoas(k);
      case 0x89: { // HWPT_ALLOC: needs a device (none can be bound in this model)
        if (k.u32(4) & ~0x7) return -EOPNOTSUPP;
        const dev = this.objects.get(k.u32(8));
        if (!dev || dev.type !== "device") return -ENOENT;
        return -EINVAL;
      }
      case 0x8a: { // GET_HW_INFO
        const dev = this.objects.get(k.u32(8));
        if (!dev || dev.type !== "device") return -ENOENT;
        return -EINVAL;
      }
      case 0x8b:
      case 0x8c:
      case 0x8d: { // dirty tracking, invalidate: a HWPT ID
        const o = this.objects.get(k.u32(n === 0x8d ? 4 : 8));
        if (!o || o.type !== "hwpt_paging") return -ENOENT;
        return -EINVAL;
      }
      default:
        return -EOPNOTSUPP;
    }
  }

  // ------------------------------------------------------------------ IOAS ioctls

  private allowIovas(k: IoctlArg, user: IoctlArg): number {
    if (k.u32(12)) return -EOPNOTSUPP;
    const ioas = this.ioas(k.u32(4));
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

  private iovaRanges(k: IoctlArg, user: IoctlArg): number {
    if (k.u32(12)) return -EOPNOTSUPP;
    const ioas = this.ioas(k.u32(4));
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

  private map(k: IoctlArg): number {
    const flags = k.u32(4);
    if (flags & ~7 || k.u32(12)) return -EOPNOTSUPP;
    const uva = k.big64(16), length = k.big64(24), iova = k.big64(32);
    if (iova >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
    if (this.rwRequired() && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
    const ioas = this.ioas(k.u32(8));
    if (!ioas) return -ENOENT;
    const at = ioas.place(flags, uva, length, iova);
    if (typeof at === "number") return at;
    ioas.insert({ iova: at, last: at + length - 1n, uptr: uva, writeable: (flags & 2) !== 0, readable: (flags & 4) !== 0 });
    k.setBig64(32, at);
    return 0;
  }

  private rwRequired(): boolean {
    const v = this.sys.k;
    return v.major > 6 || (v.major === 6 && v.minor >= 11);
  }

  private copy(k: IoctlArg): number {
    const flags = k.u32(4);
    if (flags & ~7) return -EOPNOTSUPP;
    const length = k.big64(16), dst = k.big64(24), src = k.big64(32);
    if (length >= ULONG_MAX || src >= ULONG_MAX || dst >= ULONG_MAX) return -EOVERFLOW;
    if (this.rwRequired() && !(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
    const sIoas = this.ioas(k.u32(12));
    if (!sIoas) return -ENOENT;
    if (length === 0n) return -EINVAL;
    if (src + length - 1n > U64_MAX) return -EOVERFLOW;
    const srcLast = src + length - 1n;
    const areas = sIoas.covering(src, srcLast);
    if (!areas) return -ENOENT;
    const dIoas = this.ioas(k.u32(8));
    if (!dIoas) return -ENOENT;
    // one destination area per crossed source area; placement as one range
    const uptr = areas[0]!.uptr + (src - areas[0]!.iova);
    const at = dIoas.place(flags, uptr, length, dst);
    if (typeof at === "number") return at;
    if (flags & IOMMU_IOAS_MAP_WRITEABLE && areas.some((x) => !x.writeable)) return -EPERM;
    let cur = at, s = src;
    for (const x of areas) {
      const pieceLast = x.last < srcLast ? x.last : srcLast;
      const len = pieceLast - s + 1n;
      dIoas.insert({ iova: cur, last: cur + len - 1n, uptr: x.uptr + (s - x.iova), writeable: (flags & 2) !== 0, readable: (flags & 4) !== 0 });
      cur += len;
      s += len;
    }
    k.setBig64(24, at);
    return 0;
  }

  private unmap(k: IoctlArg): number {
    const ioas = this.ioas(k.u32(4));
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

  private option(k: IoctlArg): number {
    const id = k.u32(4), op = k.u16(8), objectId = k.u32(12), val = k.big64(16);
    if (k.u16(10)) return -EOPNOTSUPP;
    if (id === 0) {
      if (objectId !== 0) return -EOPNOTSUPP;
      if (op === 1) {
        k.setBig64(16, BigInt(this.rlimitMode));
        return 0;
      }
      if (op !== 0) return -EOPNOTSUPP;
      if (this.objects.size > 0) return -EBUSY;
      if (val > 1n) return -EINVAL;
      this.rlimitMode = Number(val);
      return 0;
    }
    if (id === 1) {
      const ioas = this.ioas(objectId);
      if (!ioas) return -ENOENT;
      if (op === 1) {
        k.setBig64(16, ioas.largePages ? 1n : 0n);
        return 0;
      }
      if (op !== 0) return -EOPNOTSUPP;
      if (val === 0n) return this.disableLargePages(ioas);
      if (val === 1n) {
        ioas.largePages = true;
        return 0;
      }
      return -EINVAL;
    }
    return -EOPNOTSUPP;
  }

  private disableLargePages(ioas: Ioas): number {
    if (!ioas.largePages) return 0;
    if (ioas.domainMinPage > 0n && ioas.areas.length > 0) return -EINVAL;
    ioas.largePages = false;
    const al = ioas.alignment;
    for (const a of ioas.areas) {
      if (a.iova % al || (a.last + 1n - a.iova) % al || (a.uptr % PAGE) % al) {
        ioas.largePages = true;
        return -98; // EADDRINUSE
      }
    }
    return 0;
  }

  private vfioIoas(k: IoctlArg): number {
    if (k.u16(10)) return -EOPNOTSUPP;
    switch (k.u16(8)) {
      case 0:
        if (!this.compatIoasId) return -ENODEV;
        k.setU32(4, this.compatIoasId);
        return 0;
      case 1:
        if (!this.ioas(k.u32(4))) return -ENOENT;
        this.compatIoasId = k.u32(4);
        return 0;
      case 2:
        this.compatIoasId = 0;
        return 0;
      default:
        return -EOPNOTSUPP;
    }
  }

  // ------------------------------------------------------------------ VFIO type1 compatibility

  private compat(nr: number, a: IoctlArg): number {
    const compat = this.compatIoasId ? this.ioas(this.compatIoasId) : null;
    switch (nr) {
      case 0x3b64:
        return 0;
      case 0x3b65: {
        const arg = a.value;
        if (arg === 1 || arg === 3 || arg === 9) return 1;
        if (arg === 4) return compat ? 1 : -ENODEV;
        return 0;
      }
      case 0x3b66: {
        const arg = a.value;
        if (arg !== 1 && arg !== 3) return -EINVAL;
        if (!compat) return -ENODEV;
        if (arg === 1) {
          if (compat.domainMinPage > 0n && compat.areas.length > 0) return -EINVAL;
          compat.largePages = false;
        }
        return 0;
      }
      case 0x3b71: { // MAP_DMA
        if (a.u32(0) < 32 || a.u32(4) & ~3) return -EINVAL;
        if (!compat) return -ENODEV;
        const flags = a.u32(4);
        const vaddr = a.big64(8), iova = a.big64(16), size = a.big64(24);
        const iflags = IOMMU_IOAS_MAP_FIXED_IOVA | (flags & 1 ? IOMMU_IOAS_MAP_READABLE : 0) | (flags & 2 ? IOMMU_IOAS_MAP_WRITEABLE : 0);
        if (iova >= ULONG_MAX || size >= ULONG_MAX) return -EOVERFLOW;
        const at = compat.place(iflags, vaddr, size, iova);
        if (typeof at === "number") return at;
        compat.insert({ iova: at, last: at + size - 1n, uptr: vaddr, writeable: (flags & 2) !== 0, readable: (flags & 1) !== 0 });
        return 0;
      }
      case 0x3b72: { // UNMAP_DMA
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
        const v = this.sys.k;
        const fixed = v.major > 6 || (v.major === 6 && v.minor >= 18);
        if (typeof r === "number") {
          a.setBig64(16, 0n);
          if (r === -ENOENT && fixed && !compat.areas.some((x) => x.iova <= iova + size - 1n && iova <= x.last)) return 0;
          return r;
        }
        a.setBig64(16, r);
        return 0;
      }
      case 0x3b70: { // GET_INFO
        const argsz = a.u32(0);
        if (argsz < 16) return -EINVAL;
        if (!compat) return -ENODEV;
        const ranges = compat.ranges();
        const need = 24 + 16 + 16 + 16 * ranges.length;
        a.setU32(4, 3);
        const al = compat.alignment > PAGE ? compat.alignment : PAGE;
        a.setBig64(8, U64_MAX & ~(al - 1n));
        if (argsz >= need && need <= a.buf.length) {
          a.setU32(16, 24);
          a.setU16(24, 3); a.setU16(26, 1); a.setU32(28, 40); a.setU32(32, 0xffffffff);
          a.setU16(40, 1); a.setU16(42, 1); a.setU32(44, 0); a.setU32(48, ranges.length);
          ranges.forEach((r, i) => { a.setBig64(56 + 16 * i, r.start); a.setBig64(64 + 16 * i, r.last); });
        } else if (argsz >= 20) a.setU32(16, 0);
        a.setU32(0, need);
        return 0;
      }
      default:
        return -ENOTTY;
    }
  }
}

export class IommufdFile {
  readonly kind = "iommufd" as const;
  refs = 1;
  constructor(readonly ctx: IommufdCtx) {}
}
