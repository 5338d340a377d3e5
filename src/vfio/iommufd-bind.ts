// vfio-pci as an iommufd device (drivers/vfio/iommufd.c, vfio_iommufd_physical_*): what
// iommufd_device_bind learns of a VFIO device (its IOMMU group, the x86 MSI window as a reserved
// region, coherency, hw_info) and the DMA-ownership rule it is bound under.

import { allocFails, createDomain } from "./iommu.js";
import type { VfioDevice } from "./device.js";
import type { VfioGroup } from "./group.js";
import { IommuPagingDomain, type HwInfo, type IommufdDeviceDriver, type PagingDomain } from "./iommufd/driver.js";
import { EBUSY, ENOMEM, EOPNOTSUPP } from "./iommufd/errno.js";
import type { Span } from "./iommufd/iova-alloc.js";

/** IOMMU_HW_INFO_TYPE_INTEL_VTD. */
const HW_INFO_TYPE_INTEL_VTD = 1;

/** The DMA owner of a group for iommufd binds (iommu_device_claim_dma_owner's owner cookie). */
export interface GroupDmaOwner {
  owner: object | null;
  count: number;
}

export class VfioIommufdDriver implements IommufdDeviceDriver {
  readonly cacheCoherent = true;
  /** Interrupt remapping on the modelled x86 IOMMUs; POWER isolates MSIs per PE. */
  readonly msiIsolated = true;
  readonly dirtyCapable = false;
  readonly reservedRegions: readonly Span[];

  constructor(readonly device: VfioDevice) {
    this.reservedRegions = device.group.backendGroup.reserved.map((r) => ({ start: BigInt(r.start), last: BigInt(r.last) }));
  }

  get name(): string {
    return this.device.host.bdf;
  }

  get groupKey(): string {
    return String(this.device.group.id);
  }

  private get group(): VfioGroup {
    return this.device.group;
  }

  /** intel_iommu_domain_alloc_user: QEMU's intel-iommu (no scalable mode) offers no nesting, no dirty tracking. */
  allocPaging(flags: number, userData: boolean): PagingDomain | number {
    if (flags || userData) return -EOPNOTSUPP;
    if (allocFails()) return -ENOMEM;
    const bg = this.group.backendGroup;
    return new IommuPagingDomain(createDomain({ kind: bg.iommuKind, addressWidth: bg.addressWidth }));
  }

  attachCheck(): number {
    return 0;
  }

  /**
   * intel_iommu_hw_info: struct iommu_hw_info_vtd {flags, __reserved, cap_reg, ecap_reg}. The
   * register values are those the model's VT-d has (second-level tables of the domain's address
   * width, 16-bit domain IDs), not read from a QEMU build.
   */
  hwInfo(): HwInfo {
    const data = new Uint8Array(24);
    const dv = new DataView(data.buffer);
    const aw = this.group.backendGroup.addressWidth;
    const sagaw = aw > 48 ? 0x8 : aw > 39 ? 0x4 : 0x2; // bit 1: 39-bit 3-level, bit 2: 48-bit, bit 3: 57-bit
    const cap = BigInt(6) | (BigInt(sagaw) << 8n) | (BigInt(aw - 1) << 16n);
    dv.setBigUint64(8, cap, true);
    dv.setBigUint64(16, 0n, true);
    return this.group.backendGroup.iommuKind === "intel"
      ? { type: HW_INFO_TYPE_INTEL_VTD, data, capabilities: 0n, maxPasidLog2: 0 }
      : { type: 0, data: new Uint8Array(0), capabilities: 0n, maxPasidLog2: 0 };
  }

  /** iommu_device_claim_dma_owner: a kernel driver on a group member or another owner → EBUSY. */
  claimDmaOwner(owner: object): number {
    const g = this.group;
    if (g.dmaOwnedByKernelDriver() || g.container) return -EBUSY;
    if (g.iommufdOwner.owner && g.iommufdOwner.owner !== owner) return -EBUSY;
    g.iommufdOwner.owner = owner;
    g.iommufdOwner.count++;
    return 0;
  }

  releaseDmaOwner(owner: object): void {
    const o = this.group.iommufdOwner;
    if (o.owner !== owner) return;
    if (--o.count === 0) o.owner = null;
  }
}
