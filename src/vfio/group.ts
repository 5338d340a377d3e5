// The VFIO group (`/dev/vfio/N`; 6.1 vfio_main.c, 6.3+ group.c): one open file at a time, the
// devices bound to vfio-pci, the container it is attached to, and viability from the drivers of
// every device of the IOMMU group (DMA ownership model of 5.19+).

import type { Container } from "./container.js";
import type { VfioDevice } from "./device.js";
import type { HostDevice } from "./host.js";
import type { BackendGroup } from "./type1/type1.js";
import type { IommufdCtx } from "./iommufd/ctx.js";
import type { GroupDmaOwner } from "./iommufd-bind.js";

/** Drivers with driver_managed_dma: they take no DMA-owner count on the group. */
export const DMA_MANAGED_DRIVERS: ReadonlySet<string> = new Set(["vfio-pci", "pci-stub", "pcieport"]);

export interface DriverState {
  driverOf(d: HostDevice): string | null;
}

export class VfioGroup {
  /** Devices registered by vfio-pci, in registration order. */
  readonly devices: VfioDevice[] = [];
  container: Container | null = null;
  /** 1 for the attachment + 1 per open device file. */
  containerUsers = 0;
  /** The one open file, or null. */
  file: GroupFile | null = null;
  /** 6.3+: the IOMMU group was revoked when the last VFIO device left (ioctls → ENODEV). */
  revoked = false;
  /** SET_CONTAINER with an iommufd (group->iommufd). */
  iommufd: IommufdCtx | null = null;
  /** Device cdevs bound while this group's node may not open (group->cdev_device_open_cnt). */
  cdevOpen = 0;
  /** DMA owner of iommufd-bound devices (iommu_device_claim_dma_owner). */
  readonly iommufdOwner: GroupDmaOwner = { owner: null, count: 0 };

  constructor(
    readonly id: number,
    readonly members: readonly HostDevice[],
    readonly backendGroup: BackendGroup,
    private readonly drivers: DriverState,
  ) {}

  /** iommu_group_dma_owner_claimed by a kernel driver: some member has a DMA-doing driver. */
  dmaOwnedByKernelDriver(): boolean {
    for (const m of this.members) {
      const drv = this.drivers.driverOf(m);
      if (drv !== null && !DMA_MANAGED_DRIVERS.has(drv)) return true;
    }
    return false;
  }

  /** User space owns the group's DMA (a container, or devices bound to an iommufd). */
  get userOwned(): boolean {
    return this.container !== null || this.iommufdOwner.owner !== null;
  }

  /** vfio_group_has_iommu. */
  get hasIommu(): boolean {
    return this.container !== null || this.iommufd !== null;
  }
}

export class GroupFile {
  readonly kind = "group" as const;
  /** One for the fd, one per open device file. */
  refs = 1;
  constructor(readonly group: VfioGroup) {}
}
