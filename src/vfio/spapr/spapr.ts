// VFIO sPAPR TCE backend (drivers/vfio/vfio_iommu_spapr_tce.c) on the POWER model: v1/v2
// containers, windows, preregistered memory, TCE map/unmap, EEH. See vfio-uapi.md §7.

import type { IoctlArg } from "../arg.js";
import type { ProcessMm } from "../mm.js";
import type { BackendGroup } from "../type1/type1.js";
import { EINVAL, ENOTTY, VFIO_CHECK_EXTENSION, VFIO_EEH, VFIO_SPAPR_TCE_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU } from "../uapi.js";

export function spaprCheckExtensionNull(arg: number): number {
  switch (arg) {
    case VFIO_SPAPR_TCE_IOMMU:
    case VFIO_SPAPR_TCE_v2_IOMMU:
      return 1;
    case VFIO_EEH:
      return 1;
    default:
      return 0;
  }
}

export class Spapr {
  readonly groups: BackendGroup[] = [];
  static open(arg: number, mm: ProcessMm): Spapr | number {
    if (arg !== VFIO_SPAPR_TCE_IOMMU && arg !== VFIO_SPAPR_TCE_v2_IOMMU) return -EINVAL;
    return new Spapr(arg === VFIO_SPAPR_TCE_v2_IOMMU, mm);
  }
  private constructor(readonly v2: boolean, readonly mm: ProcessMm) {}
  checkExtension(arg: number): number {
    return spaprCheckExtensionNull(arg);
  }
  ioctl(nr: number, a: IoctlArg): number {
    if (nr === VFIO_CHECK_EXTENSION) return this.checkExtension(a.value);
    return -ENOTTY;
  }
  attachGroup(g: BackendGroup): number {
    this.groups.push(g);
    return 0;
  }
  detachGroup(g: BackendGroup): void {
    const i = this.groups.indexOf(g);
    if (i >= 0) this.groups.splice(i, 1);
  }
  release(): void {
    this.groups.length = 0;
  }
}
