// Devices in iommufd (drivers/iommu/iommufd/device.c): bind (DMA ownership, MSI isolation,
// coherency), attach / replace / detach of the device's IOMMU group to a HWPT or an IOAS (auto
// HWPT reuse: a driver EINVAL means "try the next one"), the device's reserved regions in the
// IOAS it is attached to, and the users counts iommufd.md §2 gives.

import type { IommufdDeviceDriver } from "./driver.js";
import { EINVAL, ENODEV, ENOENT, ENOMEM, EPERM } from "./errno.js";
import { addToIoas, allocPagingDomain, destroyPaging, HwptPaging, type Hwpt } from "./hwpt.js";
import { IoasObject } from "./ioas-object.js";
import { IommufdObject, type ObjectTable } from "./object.js";

/** struct iommufd_group: per context and IOMMU group, the one attachment all its devices share. */
export class IommufdGroup {
  hwpt: Hwpt | null = null;
  /** Attached devices (igroup->device_list). */
  readonly attached: IommufdDevice[] = [];
  /** Bound devices (the group's kref). */
  bound = 0;
  constructor(readonly key: string) {}
}

export class IommufdDevice extends IommufdObject {
  readonly type = "device";
  constructor(readonly driver: IommufdDeviceDriver, readonly igroup: IommufdGroup) {
    super();
  }
  get attachedHwpt(): Hwpt | null {
    return this.igroup.attached.includes(this) ? this.igroup.hwpt : null;
  }
}

/** The context services device.c needs. */
export interface DeviceCtx {
  readonly table: ObjectTable;
  readonly groups: Map<string, IommufdGroup>;
  readonly allowUnsafeInterrupts: boolean;
  readonly owner: object;
  /** Destroys an object whose users dropped to 1 (iommufd_object_put_and_try_destroy). */
  destroyObject(o: IommufdObject): void;
}

/** iommufd_device_bind: the new DEVICE (users 2: table + driver) or -errno. */
export function deviceBind(ctx: DeviceCtx, drv: IommufdDeviceDriver): IommufdDevice | number {
  if (!drv.cacheCoherent) return -EINVAL;
  if (drv.groupKey === null) return -ENODEV;
  const r = drv.claimDmaOwner(ctx.owner);
  if (r < 0) return r;
  if (!drv.msiIsolated && !ctx.allowUnsafeInterrupts) {
    drv.releaseDmaOwner(ctx.owner);
    return -EPERM;
  }
  const id = ctx.table.reserve();
  if (!id) {
    drv.releaseDmaOwner(ctx.owner);
    return -ENOMEM;
  }
  let g = ctx.groups.get(drv.groupKey);
  if (!g) ctx.groups.set(drv.groupKey, (g = new IommufdGroup(drv.groupKey)));
  g.bound++;
  const dev = ctx.table.finalize(id, new IommufdDevice(drv, g));
  dev.users++; // the binding driver's reference
  return dev;
}

/** iommufd_device_unbind (the caller detached it first). */
export function deviceUnbind(ctx: DeviceCtx, dev: IommufdDevice): void {
  if (dev.attachedHwpt) deviceDetach(ctx, dev);
  ctx.table.remove(dev);
  dev.driver.releaseDmaOwner(ctx.owner);
  if (--dev.igroup.bound === 0) ctx.groups.delete(dev.igroup.key);
}

/** iopt_table_enforce_dev_resv_regions for one device (owner = the device). */
function reserveDeviceRegions(dev: IommufdDevice, ioas: IoasObject): number {
  for (const r of dev.driver.reservedRegions) {
    const rc = ioas.ioas.reserve(r.start, r.last, dev);
    if (rc < 0) {
      ioas.ioas.unreserve(dev);
      return rc;
    }
  }
  return 0;
}

function ioasOf(h: Hwpt): IoasObject {
  return h.type === "hwpt_paging" ? h.ioas : h.parent.ioas;
}

/** iommufd_hw_pagetable_attach. */
function hwptAttach(dev: IommufdDevice, h: Hwpt): number {
  const g = dev.igroup;
  if (g.hwpt !== null && g.hwpt !== h) return -EINVAL;
  const ioas = ioasOf(h);
  if (h.type === "hwpt_paging") {
    const r = reserveDeviceRegions(dev, ioas);
    if (r < 0) return r;
  }
  if (g.attached.length === 0) {
    const r = dev.driver.attachCheck(h.type === "hwpt_paging" ? h.domain : h.parent.domain);
    if (r < 0) {
      ioas.ioas.unreserve(dev);
      return r;
    }
    g.hwpt = h;
  }
  h.users++;
  if (h.type === "hwpt_paging") h.devices++;
  g.attached.push(dev);
  return 0;
}

/** iommufd_hw_pagetable_put: an auto HWPT is destroyed with its last user. */
function hwptPut(ctx: DeviceCtx, h: Hwpt): void {
  h.users--;
  if (h.type === "hwpt_paging" && h.auto && h.users === 1) ctx.destroyObject(h);
}

/** iommufd_device_do_replace: returns the HWPT to put, null for a no-op, or -errno. */
function doReplace(dev: IommufdDevice, h: Hwpt): Hwpt | null | number {
  const g = dev.igroup;
  const old = g.hwpt;
  if (old === null) return -EINVAL;
  if (h === old) return null;
  const newIoas = ioasOf(h), oldIoas = ioasOf(old);
  const moving = h.type === "hwpt_paging" && (old.type !== "hwpt_paging" || oldIoas !== newIoas);
  if (moving) {
    for (const d of g.attached) {
      const r = reserveDeviceRegions(d, newIoas);
      if (r < 0) {
        for (const x of g.attached) newIoas.ioas.unreserve(x);
        return r;
      }
    }
  }
  const r = dev.driver.attachCheck(h.type === "hwpt_paging" ? h.domain : h.parent.domain);
  if (r < 0) {
    if (moving) for (const x of g.attached) newIoas.ioas.unreserve(x);
    return r;
  }
  if (old.type === "hwpt_paging" && (h.type !== "hwpt_paging" || oldIoas !== newIoas)) {
    for (const x of g.attached) oldIoas.ioas.unreserve(x);
  }
  g.hwpt = h;
  const n = g.attached.length;
  h.users += n;
  if (h.type === "hwpt_paging") h.devices += n;
  if (old.type === "hwpt_paging") old.devices -= n;
  old.users -= n - 1; // the caller puts the last one
  return old;
}

export type AttachMode = "attach" | "replace";

function doChange(dev: IommufdDevice, h: Hwpt, mode: AttachMode): Hwpt | null | number {
  if (mode === "attach") {
    const r = hwptAttach(dev, h);
    return r < 0 ? r : null;
  }
  return doReplace(dev, h);
}

/**
 * iommufd_device_change_pt: pt_id names a HWPT or an IOAS (auto domain). Returns the HWPT ID
 * actually attached, or -errno.
 */
export function deviceChangePt(ctx: DeviceCtx, dev: IommufdDevice, ptId: number, mode: AttachMode): number {
  const pt = ctx.table.get(ptId);
  if (!pt) return -ENOENT;
  let res: Hwpt | null | number;
  let id: number;
  if (pt.type === "hwpt_paging" || pt.type === "hwpt_nested") {
    res = doChange(dev, pt as Hwpt, mode);
    id = pt.id;
  } else if (pt.type === "ioas") {
    const r = autoGetDomain(ctx, dev, pt as IoasObject, mode);
    if (r.rc < 0) return r.rc;
    res = r.put;
    id = r.id;
  } else return -EINVAL;
  if (typeof res === "number") return res;
  if (res) hwptPut(ctx, res);
  if (mode === "attach") dev.users++;
  return id;
}

/** iommufd_device_auto_get_domain. */
function autoGetDomain(ctx: DeviceCtx, dev: IommufdDevice, ioas: IoasObject, mode: AttachMode): { rc: number; id: number; put: Hwpt | null } {
  for (const h of [...ioas.hwpts]) {
    if (!h.auto) continue;
    const r = doChange(dev, h, mode);
    if (typeof r === "number") {
      if (r === -EINVAL) continue; // incompatible with this device: try the next
      return { rc: r, id: 0, put: null };
    }
    return { rc: 0, id: h.id, put: r };
  }
  const made = allocPagingDomain(ctx.table, ioas, dev.driver, 0, false);
  if (typeof made === "number") return { rc: made, id: 0, put: null };
  const { id, hwpt } = made;
  hwpt.auto = true;
  let put: Hwpt | null = null;
  if (mode === "attach") {
    // immediate_attach: the device joins before the IOAS fill
    const r = hwptAttach(dev, hwpt);
    if (r < 0) return abortHwpt(ctx, id, hwpt, r);
    const rc = addToIoas(hwpt);
    if (rc < 0) {
      hwptDetachRaw(dev, hwpt);
      return abortHwpt(ctx, id, hwpt, rc);
    }
  } else {
    const rc = addToIoas(hwpt);
    if (rc < 0) return abortHwpt(ctx, id, hwpt, rc);
    const r = doReplace(dev, hwpt);
    if (typeof r === "number") {
      destroyPaging(hwpt);
      return abortHwpt(ctx, id, hwpt, r, true);
    }
    put = r;
  }
  ctx.table.finalize(id, hwpt);
  return { rc: 0, id, put };
}

function abortHwpt(ctx: DeviceCtx, id: number, h: HwptPaging, rc: number, freed = false): { rc: number; id: number; put: null } {
  if (!freed) h.domain.free();
  ctx.table.abort(id);
  return { rc, id: 0, put: null };
}

/** Undo of hwptAttach without the put (error paths). */
function hwptDetachRaw(dev: IommufdDevice, h: Hwpt): void {
  const g = dev.igroup;
  g.attached.splice(g.attached.indexOf(dev), 1);
  if (g.attached.length === 0) g.hwpt = null;
  ioasOf(h).ioas.unreserve(dev);
  h.users--;
  if (h.type === "hwpt_paging") h.devices--;
}

/** iommufd_device_detach (a no-op when not attached). */
export function deviceDetach(ctx: DeviceCtx, dev: IommufdDevice): void {
  const h = dev.attachedHwpt;
  if (!h) return;
  hwptDetachRaw(dev, h);
  h.users++; // hwptPut drops it and destroys an orphaned auto HWPT
  hwptPut(ctx, h);
  dev.users--;
}

/** HWPT_ALLOC on an IOAS: a user-owned paging HWPT (not attached). */
export function hwptAllocPaging(ctx: DeviceCtx, dev: IommufdDevice, ioas: IoasObject, flags: number, userData: boolean): HwptPaging | number {
  const made = allocPagingDomain(ctx.table, ioas, dev.driver, flags, userData);
  if (typeof made === "number") return made;
  const rc = addToIoas(made.hwpt);
  if (rc < 0) return abortHwpt(ctx, made.id, made.hwpt, rc).rc;
  return ctx.table.finalize(made.id, made.hwpt);
}

