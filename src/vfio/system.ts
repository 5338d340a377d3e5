// The modelled kernel as one process sees it: a file table (container, group, device, iommufd
// files), the host's driver bindings (sysfs bind/unbind/drivers_probe), the process's memory and
// RLIMIT_MEMLOCK. Calls return what the syscall returns: ≥ 0, or -errno.

import { IoctlArg } from "./arg.js";
import { Container, type ContainerEnv } from "./container.js";
import { deviceIoctl, DeviceFile, VfioDevice, type HotResetEnv } from "./device.js";
import { deviceModel } from "./device-model.js";
import { GroupFile, VfioGroup, DMA_MANAGED_DRIVERS } from "./group.js";
import type { HostDevice, VfioHost } from "./host.js";
import { MSI_WINDOW, type IommuKind } from "./iommu.js";
import { kernelFeatures, type KernelFeatures } from "./kernel.js";
import { ProcessMm } from "./mm.js";
import type { Type1Options } from "./type1/type1.js";
import { IommufdCtx, IommufdFile } from "./iommufd/ctx.js";
import { cdevIoctl, cdevRelease, groupOpenOnIommufd, iommufdUnbind } from "./cdev.js";
import {
  EBADF, EBUSY, EINVAL, ENODEV, ENOENT, ENOTTY, VFIO_GROUP_FLAGS_CONTAINER_SET, VFIO_GROUP_FLAGS_VIABLE,
  VFIO_GROUP_GET_DEVICE_FD, VFIO_GROUP_GET_STATUS, VFIO_GROUP_SET_CONTAINER, VFIO_GROUP_UNSET_CONTAINER, EMFILE,
  VFIO_DEVICE_PCI_HOT_RESET,
} from "./uapi.js";

export class ContainerFile {
  readonly kind = "container" as const;
  refs = 1;
  constructor(readonly container: Container) {}
}

export class OtherFile {
  readonly kind = "other" as const;
  refs = 1;
  constructor(readonly path: string) {}
}

export type VfioFile = ContainerFile | GroupFile | DeviceFile | IommufdFile | OtherFile;

export interface SystemOptions {
  kernel?: string;
  /** IOMMU of the host (default: Intel VT-d as QEMU's intel-iommu, 39-bit). */
  iommu?: IommuKind;
  addressWidth?: number;
  type1?: Type1Options;
}

/** Outcome of a host-side bind/unbind that the runner refuses to run (it would block forever). */
export const WOULD_BLOCK = -100000;

const MAX_FDS = 1024;

export class VfioSystem {
  readonly k: KernelFeatures;
  readonly mm = new ProcessMm();
  readonly env: ContainerEnv;
  /** fd → file; index 0..2 are stdio. */
  private readonly fds: (VfioFile | null)[] = [null, null, null];
  /** Current driver per host device index. */
  private readonly driver: (string | null)[];
  /** Live VFIO groups by IOMMU group number (those with a /dev/vfio/N node). */
  private readonly groups = new Map<number, VfioGroup>();
  private readonly iommuKind: IommuKind;
  private readonly addressWidth: number;
  readonly arg = new IoctlArg();
  /** Next /dev/vfio/devices/vfioN number (vfio_device_set_name's ida). */
  private nextCdev = 0;

  constructor(readonly host: VfioHost, opts: SystemOptions = {}) {
    this.k = kernelFeatures(opts.kernel ?? "6.1");
    this.iommuKind = opts.iommu ?? "intel";
    this.addressWidth = opts.addressWidth ?? (this.iommuKind === "power" ? 59 : 39);
    this.env = {
      k: this.k,
      mm: this.mm,
      platform: this.iommuKind === "power" ? "power" : "x86",
      type1Options: opts.type1 ?? {},
    };
    this.mm.untouchedAboveFirst = this.k.untouchedAboveFirstMem;
    this.driver = host.devices.map((d) => d.bootDriver);
    // devices bound to vfio-pci at boot register their groups
    for (const d of host.devices) if (this.driver[d.index] === "vfio-pci") this.registerVfioDevice(d);
  }

  // ------------------------------------------------------------------ files

  private allocFd(f: VfioFile): number {
    for (let i = 3; i < this.fds.length; i++) {
      if (this.fds[i] === null) {
        this.fds[i] = f;
        return i;
      }
    }
    if (this.fds.length >= MAX_FDS) return -EMFILE;
    this.fds.push(f);
    return this.fds.length - 1;
  }

  file(fd: number): VfioFile | null {
    return fd >= 0 && fd < this.fds.length ? this.fds[fd]! : null;
  }

  /** open(path, O_RDWR). */
  open(path: string): number {
    if (path === "/dev/vfio/vfio") {
      const c = new Container(this.env);
      c.fileRefs = 1;
      return this.allocFd(new ContainerFile(c));
    }
    if (path === "/dev/iommu") {
      if (!this.k.iommufd) return -ENOENT;
      return this.allocFd(new IommufdFile(new IommufdCtx(this)));
    }
    const m = /^\/dev\/vfio\/(\d+)$/.exec(path);
    if (m) return this.openGroup(Number(m[1]));
    const c = /^\/dev\/vfio\/devices\/vfio(\d+)$/.exec(path);
    if (c) return this.openCdev(Number(c[1]));
    if (path === "/dev/null" || path === "/dev/zero") return this.allocFd(new OtherFile(path));
    return -ENOENT;
  }

  /** `open /dev/vfio/group-of BDF` of the trace format. */
  openGroupOf(bdf: string): number {
    const d = this.host.byBdf.get(bdf);
    if (!d || d.group < 0) return -ENODEV;
    return this.openGroup(d.group);
  }

  /** `open /dev/vfio/devices/vfio-of BDF` of the trace format: the device's cdev. */
  openCdevOf(bdf: string): number {
    const d = this.host.byBdf.get(bdf);
    const v = d ? this.vfioDeviceOf(d) : undefined;
    return v ? this.openCdev(v.cdevIndex) : -ENOENT;
  }

  /** vfio_device_fops_cdev_open (CONFIG_VFIO_DEVICE_CDEV: 6.6+ with iommufd). */
  private openCdev(n: number): number {
    if (!this.k.iommufd || !(this.k.major > 6 || (this.k.major === 6 && this.k.minor >= 6))) return -ENOENT;
    for (const g of this.groups.values()) {
      const v = g.devices.find((x) => x.cdevIndex === n);
      if (v) return this.allocFd(new DeviceFile(v, null));
    }
    return -ENOENT;
  }

  private vfioDeviceOf(d: HostDevice): VfioDevice | undefined {
    return this.liveGroupOf(d)?.devices.find((x) => x.host === d);
  }

  private openGroup(id: number): number {
    const g = this.groups.get(id);
    if (!g) return -ENOENT;
    if (g.file) return -EBUSY;
    if (g.cdevOpen > 0) return -EBUSY; // vfio_group_fops_open: a cdev of the group is bound
    const f = new GroupFile(g);
    const fd = this.allocFd(f);
    if (fd >= 0) g.file = f;
    return fd;
  }

  close(fd: number): number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    this.fds[fd] = null;
    this.put(f);
    return 0;
  }

  /** Drops one reference of an open file; the last one releases it. */
  private put(f: VfioFile): void {
    if (--f.refs > 0) return;
    switch (f.kind) {
      case "container":
        f.container.fileRefs--;
        break;
      case "group": {
        const g = f.group;
        if (g.container) g.container.detachGroup(g);
        g.iommufd = null;
        g.file = null;
        if (g.devices.length === 0 && !this.k.groupRevokedOnLastDevice && this.groups.get(g.id) === g) this.groups.delete(g.id);
        break;
      }
      case "device": {
        const dev = f.device;
        if (!f.groupFile) {
          cdevRelease(f);
          break;
        }
        if (--dev.openCount === 0) {
          iommufdUnbind(dev);
          dev.closeDevice();
        }
        if (dev.group.container) dev.group.containerUsers--;
        this.put(f.groupFile);
        break;
      }
      case "iommufd":
        f.ctx.release();
        break;
      default:
        break;
    }
  }

  // ------------------------------------------------------------------ ioctl

  ioctl(fd: number, nr: number, a: IoctlArg): number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    switch (f.kind) {
      case "container":
        return f.container.ioctl(nr, a);
      case "group":
        return this.groupIoctl(f, nr, a);
      case "device": {
        const r = cdevIoctl(f, nr, a, (fd) => this.iommufdOf(fd), (df) => this.blockGroup(df));
        if (r !== null) return r;
        return deviceIoctl(f.device, nr, a, this.k, (d) => this.resetScope(d.host), this.hotResetEnv(f));
      }
      case "iommufd":
        return f.ctx.ioctl(nr, a);
      default:
        return -ENOTTY;
    }
  }

  /** iommufd_ctx_from_fd: EBADF for no file, EBADFD for another kind. */
  private iommufdOf(fd: number): IommufdCtx | number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    return f.kind === "iommufd" ? f.ctx : -77;
  }

  /** vfio_device_block_group: EBUSY while the group's node is open. */
  private blockGroup(df: DeviceFile): number {
    const g = df.device.group;
    if (g.file) return -EBUSY;
    g.cdevOpen++;
    return 0;
  }

  private groupIoctl(f: GroupFile, nr: number, a: IoctlArg): number {
    const g = f.group;
    switch (nr) {
      case VFIO_GROUP_GET_STATUS: {
        if (a.u32(0) < 8) return -EINVAL;
        if (g.revoked) return -ENODEV;
        const flags = g.hasIommu
          ? VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE
          : g.dmaOwnedByKernelDriver() ? 0 : VFIO_GROUP_FLAGS_VIABLE;
        a.setU32(4, flags);
        return 0;
      }
      case VFIO_GROUP_SET_CONTAINER: {
        const cf = this.file(a.s32(0));
        if (!cf) return -EBADF;
        if (g.hasIommu) return -EINVAL;
        if (g.revoked) return -ENODEV;
        if (cf.kind !== "container") {
          if (cf.kind === "iommufd") {
            // iommufd_vfio_compat_ioas_create; devices bind when they are opened
            const r = cf.ctx.compatIoasCreate();
            if (r < 0) return r;
            g.iommufd = cf.ctx;
            return 0;
          }
          return -this.k.setContainerBadFdErrno;
        }
        return cf.container.attachGroup(g);
      }
      case VFIO_GROUP_UNSET_CONTAINER:
        if (!g.hasIommu) return -EINVAL;
        if (g.container) {
          if (g.containerUsers !== 1) return -EBUSY;
          g.container.detachGroup(g);
        }
        g.iommufd = null; // open devices keep their own binding
        return 0;
      case VFIO_GROUP_GET_DEVICE_FD:
        return this.getDeviceFd(f, a.str);
      default:
        return -ENOTTY;
    }
  }

  private getDeviceFd(f: GroupFile, name: string): number {
    const g = f.group;
    let dev: VfioDevice | null = null;
    for (const d of g.devices) {
      const m = matchName(d.host.bdf, name);
      if (m < 0) return m;
      if (m === 1) {
        dev = d;
        break;
      }
    }
    if (!dev) return -ENODEV;
    if (!g.hasIommu || (g.container && !g.container.backend)) return -EINVAL;
    if (dev.openCount === 0) {
      if (g.iommufd) {
        const b = groupOpenOnIommufd(dev, g.iommufd);
        if (b < 0) return b;
      }
      const r = dev.openDevice();
      if (r < 0) return r;
    }
    const df = new DeviceFile(dev, f);
    const fd = this.allocFd(df);
    if (fd < 0) {
      if (dev.openCount === 0) dev.closeDevice();
      return fd;
    }
    dev.openCount++;
    if (g.container) g.containerUsers++;
    f.refs++;
    return fd;
  }

  // ------------------------------------------------------------------ host side: drivers

  driverOf(d: HostDevice): string | null {
    return this.driver[d.index] ?? null;
  }

  /** A device file of this device is open: unbinding vfio-pci would wait for it. */
  deviceBusy(bdf: string): boolean {
    const d = this.host.byBdf.get(bdf);
    if (!d || this.driver[d.index] !== "vfio-pci") return false;
    const g = this.groups.get(d.group) ?? this.groupHolding(d);
    const v = g?.devices.find((x) => x.host === d);
    return v !== undefined && v.openCount > 0;
  }

  private groupHolding(d: HostDevice): VfioGroup | undefined {
    for (const f of this.fds) if (f && f.kind === "group" && f.group.id === d.group) return f.group;
    return undefined;
  }

  /** `bind BDF DRIVER` as the runner does it (driver_override + bind, or drivers_probe). */
  bind(bdf: string, drv: string): number {
    const d = this.host.byBdf.get(bdf);
    if (!d) return -ENODEV;
    const cur = this.driver[d.index] ?? null;
    if (drv === "vfio-pci" || drv === "pci-stub") {
      if (cur === drv) return 0;
      if (cur) {
        if (cur === "vfio-pci" && this.deviceBusy(bdf)) return WOULD_BLOCK;
        this.unbindDriver(d);
      }
      return this.probe(d, drv);
    }
    if (cur && cur !== "vfio-pci" && cur !== "pci-stub") return 0;
    if (cur) {
      if (cur === "vfio-pci" && this.deviceBusy(bdf)) return WOULD_BLOCK;
      this.unbindDriver(d);
    }
    const host = hostDriverFor(this.host, d, this.k);
    if (!host) return -ENODEV;
    if (!DMA_MANAGED_DRIVERS.has(host.name) && this.groupUserOwned(d)) return -EINVAL;
    if (!host.probes) return -ENODEV;
    this.driver[d.index] = host.name;
    return 0;
  }

  unbind(bdf: string): number {
    const d = this.host.byBdf.get(bdf);
    if (!d) return -ENODEV;
    const cur = this.driver[d.index];
    if (!cur) return 0;
    if (cur === "vfio-pci" && this.deviceBusy(bdf)) return WOULD_BLOCK;
    this.unbindDriver(d);
    return 0;
  }

  private groupUserOwned(d: HostDevice): boolean {
    const g = this.liveGroupOf(d);
    return g !== undefined && g.userOwned;
  }

  private liveGroupOf(d: HostDevice): VfioGroup | undefined {
    return this.groups.get(d.group) ?? this.groupHolding(d);
  }

  private probe(d: HostDevice, drv: string): number {
    if (drv === "pci-stub") {
      this.driver[d.index] = drv;
      return 0;
    }
    // vfio_pci_probe / vfio_pci_core_register_device
    if (d.headerType !== 0) return -EINVAL;
    if (this.numVfs(d) > 0) return -EBUSY;
    if (d.group < 0) return -ENODEV;
    this.driver[d.index] = "vfio-pci";
    this.registerVfioDevice(d);
    return 0;
  }

  private numVfs(d: HostDevice): number {
    let n = 0;
    for (const o of this.host.devices) if (o.physfn === d.bdf) n++;
    return n;
  }

  private registerVfioDevice(d: HostDevice): void {
    let g = this.groups.get(d.group);
    if (!g) {
      const held = this.groupHolding(d);
      if (held && !held.revoked) g = held;
      else {
        g = new VfioGroup(d.group, this.host.groups.get(d.group) ?? [d], {
          id: d.group, iommuKind: this.iommuKind, addressWidth: this.addressWidth,
          reserved: this.iommuKind === "power" ? [] : [MSI_WINDOW],
        }, this);
      }
      this.groups.set(d.group, g);
    }
    const v = new VfioDevice(d, g, deviceModel(this.host, d));
    v.cdevIndex = this.nextCdev++;
    g.devices.push(v);
  }

  private unbindDriver(d: HostDevice): void {
    const cur = this.driver[d.index];
    this.driver[d.index] = null;
    if (cur !== "vfio-pci") return;
    const g = this.liveGroupOf(d);
    if (!g) return;
    const i = g.devices.findIndex((x) => x.host === d);
    if (i >= 0) g.devices.splice(i, 1);
    if (g.devices.length > 0) return;
    // the last VFIO device of the group is gone
    if (this.k.groupRevokedOnLastDevice) {
      if (g.container) g.container.detachGroup(g);
      g.revoked = true;
      this.groups.delete(g.id);
    } else if (!g.file) {
      this.groups.delete(g.id);
    }
  }

  /** Devices a slot or bus reset of d would reset, or null when neither is possible. */
  private resetScope(d: HostDevice): HostDevice[] | null {
    if (d.bus === 0) return null;
    return this.host.devices.filter((o) => o.domain === d.domain && o.bus === d.bus);
  }

  // ------------------------------------------------------------------ hot reset

  /** The file table and the vfio-pci bindings as VFIO_DEVICE_PCI_HOT_RESET sees them. */
  private hotResetEnv(f: DeviceFile): HotResetEnv {
    return {
      cdev: f.groupFile === null,
      groupOfFd: (fd) => {
        const file = this.file(fd);
        if (file) return file.kind === "group" ? file.group : -EINVAL;
        // fds 0-2: the process's stdio, open files that are not VFIO groups
        return fd >= 0 && fd <= 2 ? -EINVAL : -EBADF;
      },
      vfioDevice: (d) => (this.driver[d.index] === "vfio-pci" ? this.vfioDeviceOf(d) : undefined),
    };
  }

  /**
   * VFIO_DEVICE_PCI_HOT_RESET on device fd `fd`, the group fds in the struct's array as a C
   * caller fills it (argsz 12 + 4 * count). Returns what the ioctl returns.
   */
  pciHotReset(fd: number, groupFds: readonly number[]): number {
    const a = this.arg.reset();
    a.setU32(0, 12 + 4 * groupFds.length);
    a.setU32(8, groupFds.length);
    for (let i = 0; i < groupFds.length && 16 + 4 * i <= a.buf.length; i++) a.setU32(12 + 4 * i, groupFds[i]!);
    return this.ioctl(fd, VFIO_DEVICE_PCI_HOT_RESET, a);
  }

  // ------------------------------------------------------------------ process

  mmap(bytes: number): number {
    if (bytes <= 0) return -EINVAL;
    return this.mm.mmap(bytes);
  }

  setMemlock(bytes: number): number {
    this.mm.memlockLimit = bytes;
    return 0;
  }

  /** Open files (tests: nothing leaked after close). */
  openFiles(): number {
    let n = 0;
    for (const f of this.fds) if (f) n++;
    return n;
  }

  /** Live VFIO groups (those with a node). */
  liveGroups(): readonly VfioGroup[] {
    return [...this.groups.values()];
  }
}

/**
 * vfio_pci_core_match: 1 = this device, 0 = not this one (walk on), -errno = stop.
 * The name must start with the device's name; after it only spaces and one vf_token=<uuid>.
 */
export function matchName(pciName: string, buf: string): number {
  if (!buf.startsWith(pciName)) return 0;
  if (buf.length === pciName.length) return 1;
  if (buf[pciName.length] !== " ") return 0;
  const rest = buf.slice(pciName.length).split(" ").filter((t) => t.length > 0);
  if (rest.length === 0) return 1;
  if (rest.length > 1) return -EINVAL;
  const t = rest[0]!;
  if (!t.startsWith("vf_token=")) return -EINVAL;
  const uuid = t.slice(9);
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(uuid)) return -EINVAL;
  return -EINVAL; // a token on a device that takes none (no SR-IOV users in the model)
}

/** The driver the kernel's drivers_probe would pick for a device on its own. */
export function hostDriverFor(host: VfioHost, d: HostDevice, k?: KernelFeatures): { name: string; probes: boolean } | null {
  if (d.bootDriver && d.bootDriver !== "vfio-pci" && d.bootDriver !== "pci-stub") return { name: d.bootDriver, probes: true };
  const id = `${d.vendor.toString(16).padStart(4, "0")}:${d.device.toString(16).padStart(4, "0")}`;
  if (id === "8086:10d3") return { name: "e1000e", probes: true };
  if (id === "8086:100e") return { name: "e1000", probes: true };
  // nvme on QEMU's offline VFs: bound on 6.1 (asynchronous probe), refused on 6.12 (recorded)
  if (id === "1b36:0010" || d.classCode === 0x010802) return { name: "nvme", probes: !d.isVirtfn || (k?.nvmeAsyncProbe ?? true) };
  if (d.classCode >> 8 === 0x0604) {
    // PCIe root / switch ports: pcieport; other PCI-to-PCI bridges: shpchp, which fails to probe them
    const pcie = pcieType(d);
    if (pcie === 4 || pcie === 5 || pcie === 6) return { name: "pcieport", probes: true };
    return { name: "shpchp", probes: false };
  }
  void host;
  return null;
}

function pcieType(d: HostDevice): number {
  const c = d.config;
  if (c.length < 64 || !((c[6]! | (c[7]! << 8)) & 0x10)) return -1;
  let pos = c[0x34]! & 0xfc;
  for (let ttl = 48; pos >= 0x40 && ttl > 0; ttl--) {
    if (c[pos] === 0x10) return (c[pos + 2]! >> 4) & 0xf;
    pos = c[pos + 1]! & 0xfc;
  }
  return -1;
}
