// Test helpers: a replay-host system driven call by call (like a C program would).

import { fileURLToPath } from "node:url";
import { loadSysfsHost, type VfioHost } from "../../src/vfio/host.js";
import { VfioSystem, type SystemOptions } from "../../src/vfio/system.js";
import * as U from "../../src/vfio/uapi.js";

export const FIXTURES = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
let cached: VfioHost | null = null;
export function replayHost(): VfioHost {
  return (cached ??= loadSysfsHost(FIXTURES + "oracle/replay-host/sysfs"));
}

export class Harness {
  readonly sys: VfioSystem;
  constructor(opts: SystemOptions = {}) {
    this.sys = new VfioSystem(replayHost(), opts);
  }
  get a() {
    return this.sys.arg.reset();
  }
  container(): number {
    return this.sys.open("/dev/vfio/vfio");
  }
  /** Binds vfio-pci, opens the group, attaches it to container c. */
  group(bdf: string, c: number): number {
    this.sys.bind(bdf, "vfio-pci");
    const g = this.sys.openGroupOf(bdf);
    const a = this.a;
    a.dv.setInt32(0, c, true);
    const r = this.sys.ioctl(g, U.VFIO_GROUP_SET_CONTAINER, a);
    if (r < 0) throw new Error(`SET_CONTAINER ${bdf}: ${U.errnoName(-r)}`);
    return g;
  }
  setIommu(c: number, type: number): number {
    const a = this.a;
    a.value = type;
    return this.sys.ioctl(c, U.VFIO_SET_IOMMU, a);
  }
  map(c: number, flags: number, vaddr: number, iova: number, size: number): number {
    const a = this.a;
    a.setU32(0, 32);
    a.setU32(4, flags);
    a.setU64(8, vaddr);
    a.setU64(16, iova);
    a.setU64(24, size);
    return this.sys.ioctl(c, U.VFIO_IOMMU_MAP_DMA, a);
  }
  /** Returns the unmapped size, or -errno. */
  unmap(c: number, flags: number, iova: number, size: number): number {
    const a = this.a;
    a.setU32(0, 24);
    a.setU32(4, flags);
    a.setU64(8, iova);
    a.setU64(16, size);
    const r = this.sys.ioctl(c, U.VFIO_IOMMU_UNMAP_DMA, a);
    return r < 0 ? r : a.u64(16);
  }
  unset(g: number): number {
    return this.sys.ioctl(g, U.VFIO_GROUP_UNSET_CONTAINER, this.a);
  }
}
