// A VFIO device (vfio-pci, drivers/vfio/pci/vfio_pci_core.c): registered while the PCI function
// is bound to vfio-pci; device files from VFIO_GROUP_GET_DEVICE_FD; the info ioctls and the
// bus/slot hot reset.

import { ARG_BYTES, type IoctlArg } from "./arg.js";
import type { DeviceModel } from "./device-model.js";
import type { HostDevice } from "./host.js";
import type { KernelFeatures } from "./kernel.js";
import type { GroupFile, VfioGroup } from "./group.js";
import type { IommufdCtx } from "./iommufd/ctx.js";
import {
  EBADF, EFAULT, EINVAL, ENODEV, ENOSPC, ENOTTY, VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_GET_INFO,
  VFIO_DEVICE_GET_IRQ_INFO, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_PCI_HOT_RESET, VFIO_DEVICE_RESET, VFIO_IRQ_INFO_AUTOMASKED, VFIO_IRQ_INFO_EVENTFD,
  VFIO_IRQ_INFO_MASKABLE, VFIO_IRQ_INFO_NORESIZE, VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX,
  VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS, VFIO_REGION_INFO_FLAG_CAPS,
} from "./uapi.js";

export class VfioDevice {
  openCount = 0;
  /** Bound to an iommufd (vfio_iommufd_physical_bind): the context, device ID, attachment. */
  iommufd: { ctx: IommufdCtx; devId: number; attached: boolean } | null = null;
  /** Registration index: the N of /dev/vfio/devices/vfioN. */
  cdevIndex = -1;
  /** Set by the open-time reset (vfio_pci_core_enable). */
  resetWorks = false;
  /** Bus/slot resets this function went through (pci_reset_bus of VFIO_DEVICE_PCI_HOT_RESET). */
  hotResets = 0;

  constructor(
    readonly host: HostDevice,
    readonly group: VfioGroup,
    readonly model: DeviceModel,
  ) {}

  /** `open_device` on the 0→1 transition: enable, try a function reset. */
  openDevice(): number {
    this.resetWorks = this.model.resetWorks;
    return 0;
  }

  closeDevice(): void {
    /* vfio-pci disables the device */
  }
}

export class DeviceFile {
  readonly kind = "device" as const;
  refs = 1;
  /** A cdev file (/dev/vfio/devices/vfioN) has no group file; it is usable once bound. */
  bound = false;
  constructor(
    readonly device: VfioDevice,
    readonly groupFile: GroupFile | null,
  ) {}
}

/** Devices a bus/slot reset of this device would reset (hot-reset info). */
export type ResetScope = (d: VfioDevice) => readonly HostDevice[] | null;

/** What VFIO_DEVICE_PCI_HOT_RESET needs from the process and the host. */
export interface HotResetEnv {
  /** The ioctl came through the device's cdev (vfio_device_cdev_opened). */
  readonly cdev: boolean;
  /** fget + vfio_file_is_group: the group of a group file, -EBADF when no file is open there, -EINVAL for any other file. */
  groupOfFd(fd: number): VfioGroup | number;
  /** The device vfio-pci registered for a host function (its dev_set member), if it is bound. */
  vfioDevice(d: HostDevice): VfioDevice | undefined;
}

/** vfio_pci_core_ioctl. */
export function deviceIoctl(dev: VfioDevice, nr: number, a: IoctlArg, k: KernelFeatures, scope: ResetScope, hot?: HotResetEnv): number {
  switch (nr) {
    case VFIO_DEVICE_GET_INFO: {
      const argsz = a.u32(0);
      if (argsz < 16) return -EINVAL;
      a.setU32(4, VFIO_DEVICE_FLAGS_PCI | (dev.resetWorks ? VFIO_DEVICE_FLAGS_RESET : 0));
      a.setU32(8, VFIO_PCI_NUM_REGIONS);
      a.setU32(12, VFIO_PCI_NUM_IRQS);
      if (argsz >= 20) a.setU32(16, 0);
      return 0;
    }
    case VFIO_DEVICE_GET_REGION_INFO: {
      const argsz = a.u32(0);
      if (argsz < 32) return -EINVAL;
      const index = a.u32(8);
      if (index >= VFIO_PCI_NUM_REGIONS) return -EINVAL;
      const r = dev.model.regions[index];
      if (!r) return -EINVAL;
      a.setU64(24, index * 2 ** 40);
      a.setU64(16, r.size);
      a.setU32(4, r.flags);
      a.setU32(12, 0);
      if (r.flags & VFIO_REGION_INFO_FLAG_CAPS) {
        // MSIX_MAPPABLE capability: header only, 8 bytes
        if (argsz < 40) a.setU32(0, 40);
        else {
          a.setU32(12, 32);
          a.setU16(32, 3); a.setU16(34, 1); a.setU32(36, 0);
        }
      }
      return 0;
    }
    case VFIO_DEVICE_GET_IRQ_INFO: {
      const argsz = a.u32(0);
      const index = a.u32(8);
      if (argsz < 16 || index >= VFIO_PCI_NUM_IRQS) return -EINVAL;
      const count = dev.model.irqCount[index];
      if (count === null || count === undefined) return -EINVAL;
      let flags = VFIO_IRQ_INFO_EVENTFD;
      if (index === VFIO_PCI_INTX_IRQ_INDEX) flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
      else if (index !== VFIO_PCI_MSIX_IRQ_INDEX || !(k.msixDynamic && dev.model.hasMsix)) flags |= VFIO_IRQ_INFO_NORESIZE;
      a.setU32(4, flags);
      a.setU32(12, count);
      return 0;
    }
    case VFIO_DEVICE_RESET:
      return dev.resetWorks ? 0 : -EINVAL;
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: {
      const argsz = a.u32(0);
      if (argsz < 12) return -EINVAL;
      a.setU32(4, 0);
      const devs = scope(dev);
      if (!devs) return -ENODEV;
      if (argsz < 12 + 8 * devs.length) {
        a.setU32(8, devs.length);
        return -ENOSPC;
      }
      a.setU32(8, devs.length);
      for (let i = 0; i < devs.length; i++) {
        const d = devs[i]!;
        a.setU32(12 + 8 * i, d.group < 0 ? 0 : d.group);
        a.setU16(16 + 8 * i, d.domain);
        if (i > 4) a.dirtyHigh = true;
        a.buf[18 + 8 * i] = d.bus;
        a.buf[19 + 8 * i] = d.devfn;
      }
      return 0;
    }
    case VFIO_DEVICE_PCI_HOT_RESET:
      return pciHotReset(dev, a, k, scope, hot);
    default:
      return -ENOTTY;
  }
}

/**
 * vfio_pci_ioctl_pci_hot_reset: struct vfio_pci_hot_reset {argsz, flags, count, s32 group_fds[count]},
 * the fds read from the struct's array (copy_from_user past argsz is allowed: only minsz is
 * checked). 6.6+ (cdev series) takes a zero-length array from a cdev-opened device, checked
 * before the reset probe; 6.1 wants 1..count fds after it.
 */
function pciHotReset(dev: VfioDevice, a: IoctlArg, k: KernelFeatures, scope: ResetScope, env: HotResetEnv | undefined): number {
  if (a.u32(0) < 12 || a.u32(4)) return -EINVAL;
  const count = a.u32(8);
  const cdevSeries = k.major > 6 || (k.major === 6 && k.minor >= 6); // vfio-v6.6-rc1
  // !!hdr.count == vfio_device_cdev_opened: an empty array only from a cdev, fds only from a group
  if (cdevSeries && (count !== 0) === (env?.cdev ?? false)) return -EINVAL;
  const devs = scope(dev);
  if (!devs) return -ENODEV;
  if (cdevSeries && count === 0) return devSetHotReset(devs, null, dev.iommufd?.ctx ?? null, env);
  // one group per affected device at most
  if (!count || count > devs.length) return -EINVAL;
  if (12 + 4 * count > ARG_BYTES) return -EFAULT;
  const groups: VfioGroup[] = [];
  for (let i = 0; i < count; i++) {
    const g = env ? env.groupOfFd(a.s32(12 + 4 * i)) : -EBADF;
    if (typeof g === "number") return g;
    groups.push(g);
  }
  return devSetHotReset(devs, groups, null, env);
}

/**
 * vfio_pci_dev_set_hot_reset: every function the reset hits must be a vfio-pci device of the
 * dev_set (vfio_pci_dev_set_resettable), and each must be owned by the caller: its group among
 * the given group files (vfio_dev_in_groups), or, for the zero-length array, bound to the
 * caller's iommufd or in a group with a device bound there (vfio_iommufd_get_dev_id). No check
 * on containers: groups in different containers, or in none, may be passed. Then pci_reset_bus.
 */
function devSetHotReset(devs: readonly HostDevice[], groups: readonly VfioGroup[] | null, ictx: IommufdCtx | null,
  env: HotResetEnv | undefined): number {
  const set: VfioDevice[] = [];
  for (const h of devs) {
    const v = env?.vfioDevice(h);
    if (!v) return -EINVAL;
    set.push(v);
  }
  for (const v of set) {
    const owned = ictx
      ? v.iommufd?.ctx === ictx || v.group.devices.some((x) => x.iommufd?.ctx === ictx)
      : groups !== null && groups.includes(v.group);
    if (!owned) return -EINVAL;
  }
  // pci_reset_bus: config space is saved and restored around it, so the model's device state
  // (regions, IRQ counts, reset_works) is unchanged; the count records that the reset happened
  for (const v of set) v.hotResets++;
  return 0;
}
