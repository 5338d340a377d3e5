// VFIO devices on iommufd (drivers/vfio/device_cdev.c, iommufd.c, vfio_main.c vfio_df_open):
// the device cdev's BIND_IOMMUFD / ATTACH_IOMMUFD_PT / DETACH_IOMMUFD_PT (6.6+), and the
// legacy group path with an iommufd as its "container" (bind at first open, then attach to the
// compatibility IOAS). iommufd.md §8 gives the rules.

import type { IoctlArg } from "./arg.js";
import type { DeviceFile, VfioDevice } from "./device.js";
import type { IommufdCtx } from "./iommufd/ctx.js";
import { VfioIommufdDriver } from "./iommufd-bind.js";
import { EINVAL, ENODEV } from "./uapi.js";
import { VFIO_DEVICE_ATTACH_IOMMUFD_PT, VFIO_DEVICE_BIND_IOMMUFD, VFIO_DEVICE_DETACH_IOMMUFD_PT } from "./uapi.js";

/** vfio_iommufd_physical_bind: the device joins the context (DMA ownership claimed). */
export function iommufdBind(dev: VfioDevice, ctx: IommufdCtx): number {
  const id = ctx.bindDevice(new VfioIommufdDriver(dev));
  if (id < 0) return id;
  dev.iommufd = { ctx, devId: id, attached: false };
  return 0;
}

/** vfio_iommufd_physical_unbind: detach if attached, then unbind. */
export function iommufdUnbind(dev: VfioDevice): void {
  const b = dev.iommufd;
  if (!b) return;
  if (b.attached) b.ctx.detachDevice(b.devId);
  b.ctx.unbindDevice(b.devId);
  dev.iommufd = null;
}

/** vfio_iommufd_physical_attach_ioas: attach first, replace afterwards; the HWPT ID or -errno. */
export function iommufdAttach(dev: VfioDevice, ptId: number): number {
  const b = dev.iommufd;
  if (!b) return -EINVAL;
  const r = b.ctx.attachDevice(b.devId, ptId, b.attached);
  if (r < 0) return r;
  b.attached = true;
  return r;
}

/** Group path, first open of a device (vfio_df_group_open → vfio_df_open → compat attach). */
export function groupOpenOnIommufd(dev: VfioDevice, ctx: IommufdCtx): number {
  const r = iommufdBind(dev, ctx);
  if (r < 0) return r;
  // vfio_iommufd_compat_attach_ioas: iommufd_vfio_compat_ioas_get_id
  const ioas = ctx.compatIoasId;
  const a = ioas ? iommufdAttach(dev, ioas) : -ENODEV;
  if (a < 0) {
    iommufdUnbind(dev);
    return a;
  }
  return 0;
}

/** Looks up an fd for BIND_IOMMUFD: the iommufd context, or -EBADF / -EBADFD. */
export type IommufdLookup = (fd: number) => IommufdCtx | number;

/**
 * Cdev-only requests and the "bind first" rule of vfio_device_fops_unl_ioctl. Returns null when
 * the request goes on to vfio-pci's own ioctl.
 */
export function cdevIoctl(f: DeviceFile, nr: number, a: IoctlArg, lookup: IommufdLookup, cdevOpen: (f: DeviceFile) => number): number | null {
  const dev = f.device;
  if (nr === VFIO_DEVICE_BIND_IOMMUFD) {
    // vfio_df_ioctl_bind_iommufd
    if (a.u32(0) < 16 || a.u32(4) || a.s32(8) < 0) return -EINVAL;
    if (f.groupFile) return -EINVAL; // only cdev fds bind
    const blocked = cdevOpen(f);
    if (blocked < 0) return blocked;
    const fail = (r: number): number => {
      dev.group.cdevOpen--;
      return r;
    };
    if (f.bound) return fail(-EINVAL);
    const ctx = lookup(a.s32(8));
    if (typeof ctx === "number") return fail(ctx);
    // vfio_df_open: the cdev path cannot open a device twice
    if (dev.openCount !== 0) return fail(-EINVAL);
    const r = iommufdBind(dev, ctx);
    if (r < 0) return fail(r);
    dev.openDevice();
    dev.openCount = 1;
    f.bound = true;
    a.setU32(12, dev.iommufd!.devId);
    return 0;
  }
  if (f.groupFile) {
    if (nr === VFIO_DEVICE_ATTACH_IOMMUFD_PT || nr === VFIO_DEVICE_DETACH_IOMMUFD_PT) return -EINVAL;
    return null;
  }
  if (!f.bound) return -EINVAL;
  if (nr === VFIO_DEVICE_ATTACH_IOMMUFD_PT) {
    if (a.u32(0) < 12 || a.u32(4)) return -EINVAL;
    const r = iommufdAttach(dev, a.u32(8));
    if (r < 0) return r;
    a.setU32(8, r);
    return 0;
  }
  if (nr === VFIO_DEVICE_DETACH_IOMMUFD_PT) {
    if (a.u32(0) < 8 || a.u32(4)) return -EINVAL;
    const b = dev.iommufd;
    if (b && b.attached) {
      b.ctx.detachDevice(b.devId);
      b.attached = false;
    }
    return 0;
  }
  return null;
}

/** Closing a cdev file (vfio_device_fops_release → vfio_df_unbind_iommufd). */
export function cdevRelease(f: DeviceFile): void {
  if (!f.bound) return;
  const dev = f.device;
  iommufdUnbind(dev);
  dev.openCount = 0;
  dev.closeDevice();
  dev.group.cdevOpen--;
  f.bound = false;
}

