// An iommufd context (/dev/iommu, drivers/iommu/iommufd/main.c): the object table, ioctl
// dispatch in the kernel's order (table range, size, min size, E2BIG tail, write-back), DESTROY
// and close, and the kernel API VFIO drives devices through (bind/attach/replace/detach).
// The ioctl handlers live beside it: ioas-ioctl.ts, hwpt-ioctl.ts, compat.ts, selftest.ts.

import { IoctlArg } from "../arg.js";
import { ProcessMm } from "../mm.js";
import { AccountMode } from "./pages.js";
import { E2BIG, EBUSY, EINVAL, EMSGSIZE, ENOENT, ENOTTY } from "./errno.js";
import type { IommufdDeviceDriver } from "./driver.js";
import {
  deviceBind, deviceChangePt, deviceDetach, deviceUnbind, IommufdDevice, IommufdGroup, type DeviceCtx,
} from "./device.js";
import { destroyPaging, type HwptNested, type HwptPaging } from "./hwpt.js";
import { IoasObject } from "./ioas-object.js";
import { IommufdObject, ObjectTable } from "./object.js";
import { compatIoctl } from "./compat.js";
import { ioasIoctl } from "./ioas-ioctl.js";
import { hwptIoctl } from "./hwpt-ioctl.js";
import { SelftestObject, selftestIoctl, SelftestAccess } from "./selftest.js";

export interface IommufdHost {
  readonly k: { readonly iommufd: boolean; readonly major: number; readonly minor: number };
  /** The process whose memory maps pin (default: a private one). */
  readonly mm?: ProcessMm;
}

export interface IommufdOptions {
  /** Opened as /dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER): MM accounting mode. */
  vfioContainer?: boolean;
  /** CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD (0xa0) and the mock driver. */
  selftest?: boolean;
  /** iommufd.allow_unsafe_interrupts. */
  allowUnsafeInterrupts?: boolean;
}

/** [ksize, min size] per request number (iommufd.md §1), for a kernel release. */
function structSizes(at: (a: number, b: number) => boolean): Record<number, [number, number]> {
  return {
    0x80: [8, 8], 0x81: [12, 12], 0x82: [24, 24], 0x83: [40, 40], 0x84: [32, 32], 0x85: [40, 40],
    0x86: [24, 24], 0x87: [24, 24], 0x88: [12, 12],
    0x89: [at(6, 11) ? 48 : at(6, 7) ? 40 : 24, 24], 0x8a: [at(6, 7) ? 40 : 32, 32], 0x8b: [16, 16],
    0x8c: [48, 48], 0x8d: [32, 32], 0x8e: [16, 16], 0xa0: [72, 68],
  };
}

export const IOMMU_TEST_CMD = 0x3ba0;

export class IommufdCtx implements DeviceCtx {
  readonly table: ObjectTable;
  readonly groups = new Map<string, IommufdGroup>();
  readonly mm: ProcessMm;
  readonly allowUnsafeInterrupts: boolean;
  readonly owner: object = this;
  readonly selftest: boolean;
  /** RLIMIT_MODE: 0 user (the /dev/iommu default), 1 mm. */
  rlimitMode = 0;
  compatIoasId = 0;
  /** Access files the selftest handed out (fd → access). */
  readonly accessFds = new Map<number, SelftestAccess>();
  private nextAccessFd = 1000;
  private readonly kbuf = new IoctlArg();
  private readonly sizes: Record<number, [number, number]>;
  private readonly tableEnd: number;
  readonly at: (a: number, b: number) => boolean;

  constructor(readonly sys: IommufdHost, opts: IommufdOptions = {}) {
    const v = sys.k;
    this.at = (a, b) => v.major > a || (v.major === a && v.minor >= b);
    this.table = new ObjectTable(this.at(6, 6) ? 0x7fffffff : 0xffffffff);
    this.mm = sys.mm ?? new ProcessMm();
    if (opts.vfioContainer) this.rlimitMode = 1;
    this.selftest = opts.selftest ?? false;
    this.allowUnsafeInterrupts = opts.allowUnsafeInterrupts ?? false;
    this.sizes = structSizes(this.at);
    // the last ioctl the kernel's table knows (iommufd.md §1, §11)
    this.tableEnd = this.selftest ? 0xa0 : this.at(6, 11) ? 0x8e : this.at(6, 8) ? 0x8d : this.at(6, 7) ? 0x8c : this.at(6, 6) ? 0x8a : 0x88;
  }

  /** Accounting mode of new pages objects (iopt_alloc_pages). */
  accountMode(): AccountMode {
    if (!this.mm.chargeLocked) return AccountMode.NONE;
    return this.rlimitMode === 1 ? AccountMode.MM : AccountMode.USER;
  }

  // ------------------------------------------------------------------ objects

  get objectCount(): number {
    return this.table.size;
  }

  ioasObject(id: number): IoasObject | null {
    return this.table.getTyped<IoasObject>(id, "ioas");
  }

  /** The IOAS with this ID, or null (ENOENT). */
  ioas(id: number): IoasObject["ioas"] | null {
    return this.ioasObject(id)?.ioas ?? null;
  }

  allocIoas(): number {
    const id = this.table.reserve();
    if (!id) return -12;
    return this.table.finalize(id, new IoasObject(this.mm, () => this.accountMode())).id;
  }

  /** IOMMU_DESTROY (iommufd_object_remove): ENOENT, EBUSY unless the table holds the only ref. */
  destroy(id: number): number {
    const o = this.table.get(id);
    if (!o) return -ENOENT;
    if (o.users !== 1) return -EBUSY;
    this.destroyObject(o);
    return 0;
  }

  /** The object's destroy op (users already 1): removes it and drops what it held. */
  destroyObject(o: IommufdObject): void {
    this.table.remove(o);
    switch (o.type) {
      case "ioas":
        (o as IoasObject).ioas.unmapAll();
        if (o.id === this.compatIoasId) this.compatIoasId = 0;
        break;
      case "hwpt_paging":
        destroyPaging(o as HwptPaging);
        break;
      case "hwpt_nested": {
        const p = (o as HwptNested).parent;
        p.users--;
        p.nestedChildren--;
        break;
      }
      case "selftest":
        (o as SelftestObject).destroy(this);
        break;
      default:
        break;
    }
  }

  /** Test op ADD_RESERVED: reserve [start, start+length-1] in an IOAS. */
  addReserved(ioasId: number, start: bigint, length: bigint): number {
    const ioas = this.ioas(ioasId);
    if (!ioas) return -ENOENT;
    return ioas.reserve(start, start + length - 1n, null);
  }

  /** iommufd_fops_release: leaves first, until the table is empty. */
  release(): void {
    for (const fd of [...this.accessFds.keys()]) this.closeAccessFd(fd);
    while (this.table.size > 0) {
      let destroyed = 0;
      for (const o of this.table.all()) {
        if (o.users !== 1 || !this.table.get(o.id)) continue;
        this.destroyObject(o);
        destroyed++;
      }
      if (destroyed === 0) throw new Error("iommufd release: users counts form a cycle");
    }
    this.compatIoasId = 0;
  }

  // ------------------------------------------------------------------ access files (selftest)

  installAccessFd(s: SelftestAccess): number {
    const fd = this.nextAccessFd++;
    this.accessFds.set(fd, s);
    return fd;
  }

  /** close() of an access fd (iommufd_test_staccess_release). */
  closeAccessFd(fd: number): number {
    const s = this.accessFds.get(fd);
    if (!s) return -9;
    this.accessFds.delete(fd);
    s.release(this);
    return 0;
  }

  // ------------------------------------------------------------------ kernel API for VFIO

  /** iommufd_device_bind: the device ID or -errno. */
  bindDevice(drv: IommufdDeviceDriver): number {
    const d = deviceBind(this, drv);
    return typeof d === "number" ? d : d.id;
  }

  device(id: number): IommufdDevice | null {
    return this.table.getTyped<IommufdDevice>(id, "device");
  }

  /** iommufd_device_attach / iommufd_device_replace: the attached HWPT's ID or -errno. */
  attachDevice(devId: number, ptId: number, replace = false): number {
    const d = this.device(devId);
    if (!d) return -ENOENT;
    return deviceChangePt(this, d, ptId, replace ? "replace" : "attach");
  }

  detachDevice(devId: number): void {
    const d = this.device(devId);
    if (d) deviceDetach(this, d);
  }

  unbindDevice(devId: number): void {
    const d = this.device(devId);
    if (d) deviceUnbind(this, d);
  }

  /** The compatibility IOAS for the VFIO group path (iommufd_vfio_compat_ioas_create). */
  compatIoasCreate(): number {
    if (this.compatIoasId) return this.compatIoasId;
    const id = this.allocIoas();
    if (id < 0) return id;
    this.compatIoasId = id;
    return id;
  }

  // ------------------------------------------------------------------ dispatch

  /** iommufd_fops_ioctl. */
  ioctl(nr: number, a: IoctlArg): number {
    const n = nr & 0xff;
    if (n < 0x80 || n > this.tableEnd) return compatIoctl(this, nr, a);
    const size = a.u32(0);
    const sz = this.sizes[n];
    if (!sz || nr !== (0x3b00 | n) || (n > 0x8e && n !== 0xa0)) return -ENOTTY;
    const [ksize, min] = sz;
    if (size < min) return -EINVAL;
    for (let i = ksize; i < Math.min(size, a.buf.length); i++) if (a.buf[i] !== 0) return -E2BIG;
    const k = this.kbuf.reset();
    k.buf.fill(0);
    k.buf.set(a.buf.subarray(0, Math.min(size, ksize)));
    k.userRanges = a.userRanges;
    const r = this.dispatch(n, k, a);
    // iommufd_ucmd_respond; IOVA_RANGES also on EMSGSIZE, INVALIDATE always (entry_num)
    if (r >= 0 || r === -EMSGSIZE || n === 0x8d) a.buf.set(k.buf.subarray(0, Math.min(size, ksize)));
    return r;
  }

  private dispatch(n: number, k: IoctlArg, user: IoctlArg): number {
    if (n === 0xa0) return selftestIoctl(this, k);
    if (n <= 0x88) return ioasIoctl(this, n, k, user);
    return hwptIoctl(this, n, k);
  }

  /** Version gates (iommufd.md §11). */
  get rwRequired(): boolean {
    return this.at(6, 11);
  }
}

export class IommufdFile {
  readonly kind = "iommufd" as const;
  refs = 1;
  constructor(readonly ctx: IommufdCtx) {}
}
