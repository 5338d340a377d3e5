// What iommufd needs of an IOMMU driver and of a device it binds (include/linux/iommu.h's
// iommu_ops / iommu_domain_ops / iommu_dirty_ops, seen from drivers/iommu/iommufd): paging
// domains to map areas into, and per device its group, coherency, MSI isolation, reserved
// regions, hw_info and attach checks. The real-host implementation wraps src/iommu's page tables
// (vfio-device.ts); the selftest's mock driver is mock.ts.

import type { IommuDomain } from "../../iommu/domain.js";
import { IommuError, IOMMU_READ, IOMMU_WRITE } from "../../iommu/domain.js";
import type { Span } from "./iova-alloc.js";
import { EINVAL, ENOMEM } from "./errno.js";
import { allocFails } from "../iommu.js";

export { IOMMU_READ, IOMMU_WRITE };

/** IOMMU_HWPT_ALLOC flags. */
export const HWPT_ALLOC_NEST_PARENT = 1, HWPT_ALLOC_DIRTY_TRACKING = 2, HWPT_FAULT_ID_VALID = 4;

export interface PagingDomain {
  /** Smallest page size (1 << __ffs(pgsize_bitmap)). */
  readonly minPage: number;
  /** pgsize_bitmap. */
  readonly pgsizeBitmap: bigint;
  readonly apertureStart: bigint;
  readonly apertureLast: bigint;
  /** enforce_cache_coherency succeeded (IOMMU_CAP_CACHE_COHERENCY / DMA_CC_IOMMU). */
  readonly coherent: boolean;
  /** Allocated with dirty_ops (HWPT_ALLOC_DIRTY_TRACKING). */
  readonly dirtyOps: boolean;
  /** map_pages: 0 or -errno (the domain is unchanged on failure). */
  map(iova: number, paddr: number, size: number, prot: number): number;
  unmap(iova: number, size: number): void;
  iovaToPhys(iova: number): number;
  /** set_dirty_tracking: 0 or -errno. */
  setDirtyTracking(enable: boolean): number;
  /**
   * read_and_clear_dirty: calls record(iova, length) for each dirty page; record = null is the
   * iommu_dirty_bitmap without a bitmap iopt_clear_dirty_data uses (clears, records nothing).
   */
  readAndClearDirty(iova: number, size: number, noClear: boolean, record: ((iova: number, length: number) => void) | null): number;
  /** Frees every table page (iommu_domain_free). */
  free(): void;
}

export interface HwInfo {
  type: number;
  data: Uint8Array;
  capabilities: bigint;
  maxPasidLog2: number;
}

/** A device as iommufd_device_bind sees it. */
export interface IommufdDeviceDriver {
  readonly name: string;
  /** Identity of its IOMMU group; null = no group (ENODEV). */
  readonly groupKey: string | null;
  readonly cacheCoherent: boolean;
  /** iommu_group_has_isolated_msi (or a mock device, which skips the check). */
  readonly msiIsolated: boolean;
  /** iommu_get_resv_regions minus DIRECT_RELAXABLE, inclusive bigint ranges. */
  readonly reservedRegions: readonly Span[];
  readonly dirtyCapable: boolean;
  /** domain_alloc_user / domain_alloc_paging for this device: a domain or -errno. */
  allocPaging(flags: number, userData: boolean): PagingDomain | number;
  /** The driver's attach_dev checks (EINVAL = incompatible, try another domain). */
  attachCheck(domain: PagingDomain): number;
  hwInfo(): HwInfo;
  /** iommu_device_claim_dma_owner / release for an iommufd context. */
  claimDmaOwner(owner: object): number;
  releaseDmaOwner(owner: object): void;
}

/** A src/iommu page table (VT-d, AMD-Vi) as an iommufd paging domain. */
export class IommuPagingDomain implements PagingDomain {
  readonly minPage: number;
  readonly pgsizeBitmap: bigint;
  readonly apertureStart: bigint;
  readonly apertureLast: bigint;
  readonly coherent = true;
  readonly dirtyOps = false;

  constructor(readonly domain: IommuDomain) {
    this.minPage = domain.pageSizes[0]!;
    this.pgsizeBitmap = domain.pageSizes.reduce((a, p) => a | BigInt(p), 0n);
    const ap = domain.apertures[0]!;
    this.apertureStart = BigInt(ap.start);
    this.apertureLast = BigInt(ap.last);
  }

  map(iova: number, paddr: number, size: number, prot: number): number {
    if (allocFails()) return -ENOMEM; // a page-table page allocation fails before anything is written
    try {
      this.domain.map(iova, paddr, size, prot);
      return 0;
    } catch (e) {
      if (e instanceof IommuError) return -errnoNumber(e.errno);
      throw e;
    }
  }

  unmap(iova: number, size: number): void {
    this.domain.unmap(iova, size);
  }

  iovaToPhys(iova: number): number {
    return this.domain.iovaToPhys(iova);
  }

  setDirtyTracking(): number {
    return -EINVAL;
  }

  readAndClearDirty(): number {
    return -EINVAL;
  }

  free(): void {
    this.domain.destroy();
  }
}

function errnoNumber(name: string): number {
  const n: Record<string, number> = { EINVAL: 22, ENOMEM: 12, EEXIST: 17, EFAULT: 14, ENOSPC: 28, ERANGE: 34 };
  return n[name] ?? 22;
}
