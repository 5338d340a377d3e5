// The VFIO container (`/dev/vfio/vfio`, drivers/vfio/container.c): a list of groups and at most
// one IOMMU backend. Its fd holds one reference, each attached group another.

import type { KernelFeatures } from "./kernel.js";
import type { ProcessMm } from "./mm.js";
import type { IoctlArg } from "./arg.js";
import { Type1, type1CheckExtensionNull, type Type1Options } from "./type1/type1.js";
import { Spapr, spaprCheckExtensionNull } from "./spapr/spapr.js";
import type { VfioGroup } from "./group.js";
import {
  EINVAL, ENODEV, EPERM, VFIO_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_GET_API_VERSION, VFIO_SET_IOMMU,
} from "./uapi.js";

export type Backend = Type1 | Spapr;

export interface ContainerEnv {
  readonly k: KernelFeatures;
  readonly mm: ProcessMm;
  readonly platform: "x86" | "power";
  readonly type1Options: Type1Options;
}

export class Container {
  /** Newest-joined first (list_add). */
  readonly groups: VfioGroup[] = [];
  backend: Backend | null = null;
  /** Open files naming this container. */
  fileRefs = 0;

  constructor(readonly env: ContainerEnv) {}

  get alive(): boolean {
    return this.fileRefs > 0 || this.groups.length > 0;
  }

  ioctl(nr: number, a: IoctlArg): number {
    switch (nr) {
      case VFIO_GET_API_VERSION:
        return VFIO_API_VERSION;
      case VFIO_CHECK_EXTENSION:
        return this.checkExtension(a.value);
      case VFIO_SET_IOMMU:
        return this.setIommu(a.value);
      default:
        return this.backend ? this.backend.ioctl(nr, a) : -EINVAL;
    }
  }

  /** vfio_container_ioctl_check_extension. */
  checkExtension(arg: number): number {
    if (this.backend) return this.backend.checkExtension(arg);
    // registered backends, newest first: x86 {type1, noiommu}; ppc64 {spapr, noiommu}
    const r = this.env.platform === "power" ? spaprCheckExtensionNull(arg) : type1CheckExtensionNull(arg, this.env.k);
    return r > 0 ? r : 0;
  }

  /** vfio_ioctl_set_iommu. */
  setIommu(arg: number): number {
    if (this.groups.length === 0 || this.backend) return -EINVAL;
    let ret = -ENODEV;
    const power = this.env.platform === "power";
    if ((power ? spaprCheckExtensionNull(arg) : type1CheckExtensionNull(arg, this.env.k)) <= 0) return ret;
    const be = power ? Spapr.open(arg, this.env.mm) : Type1.open(arg, this.env.mm, this.env.k, this.env.type1Options);
    if (typeof be === "number") return be;
    const done: VfioGroup[] = [];
    for (const g of this.groups) {
      const r = be.attachGroup(g.backendGroup);
      if (r < 0) {
        for (const d of done) be.detachGroup(d.backendGroup);
        be.release();
        ret = r;
        return ret;
      }
      done.push(g);
    }
    this.backend = be;
    return 0;
  }

  /** vfio_container_attach_group (after the fd checks of SET_CONTAINER). */
  attachGroup(g: VfioGroup): number {
    if (g.dmaOwnedByKernelDriver()) return -EPERM; // iommu_group_claim_dma_owner
    if (this.backend) {
      const r = this.backend.attachGroup(g.backendGroup);
      if (r < 0) return r;
    }
    g.container = this;
    g.containerUsers = 1;
    this.groups.unshift(g);
    return 0;
  }

  /** vfio_group_detach_container: backend detach, ownership released, last group → backend released. */
  detachGroup(g: VfioGroup): void {
    if (this.backend) this.backend.detachGroup(g.backendGroup);
    const i = this.groups.indexOf(g);
    if (i >= 0) this.groups.splice(i, 1);
    g.container = null;
    g.containerUsers = 0;
    if (this.groups.length === 0 && this.backend) {
      this.backend.release();
      this.backend = null;
    }
  }
}
