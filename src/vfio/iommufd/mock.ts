// The selftest's mock IOMMU driver (drivers/iommu/iommufd/selftest.c): a paging domain of
// MOCK_IO_PAGE_SIZE = PAGE_SIZE/2 pages (and MOCK_HUGE_PAGE_SIZE ones for HUGE_IOVA devices) over
// the aperture [2^24, 2^31-1], an xarray of PFNs (here a Map), dirty bits the DIRTY test op sets,
// and mock devices each in a group of its own.

import type { HwInfo, IommufdDeviceDriver, PagingDomain } from "./driver.js";
import { HWPT_ALLOC_DIRTY_TRACKING, HWPT_ALLOC_NEST_PARENT } from "./driver.js";
import { EINVAL, ENOENT, ENOMEM, EOPNOTSUPP } from "./errno.js";
import { allocFails } from "../iommu.js";

export const MOCK_PAGE = 2048;
export const MOCK_HUGE_PAGE = 512 * MOCK_PAGE;
export const MOCK_APERTURE_START = 1n << 24n;
export const MOCK_APERTURE_LAST = (1n << 31n) - 1n;
export const MOCK_FLAGS_DEVICE_NO_DIRTY = 1, MOCK_FLAGS_DEVICE_HUGE_IOVA = 2, MOCK_FLAGS_DEVICE_PASID = 4;
export const IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
export const IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
export const IOMMU_HW_CAP_DIRTY_TRACKING = 1n;
export const MOCK_PASID_WIDTH = 20;

export class MockDomain implements PagingDomain {
  readonly minPage = MOCK_PAGE;
  readonly pgsizeBitmap: bigint;
  readonly apertureStart = MOCK_APERTURE_START;
  readonly apertureLast = MOCK_APERTURE_LAST;
  readonly coherent = true;
  /** MOCK_DIRTY_TRACK */
  tracking = false;
  /** iova / MOCK_PAGE → physical address of the mock page. */
  readonly pfns = new Map<number, number>();
  /** Mock pages mapped as part of a MOCK_HUGE_PAGE (MOCK_PFN_HUGE_IOVA). */
  readonly huge = new Set<number>();
  /** Dirty mock pages (MOCK_PFN_DIRTY_IOVA). */
  readonly dirty = new Set<number>();

  constructor(readonly dirtyOps: boolean, readonly hugeIova: boolean) {
    this.pgsizeBitmap = BigInt(MOCK_PAGE) | (hugeIova ? BigInt(MOCK_HUGE_PAGE) : 0n);
  }

  /**
   * mock_domain_map_pages, for the page sizes iommu_map's iommu_pgsize picks: a MOCK_HUGE_PAGE
   * (HUGE_IOVA devices) where iova and paddr are both aligned to it and the rest of the run
   * holds one, else MOCK_PAGE; every mock page of a huge page carries MOCK_PFN_HUGE_IOVA.
   */
  map(iova: number, paddr: number, size: number): number {
    if (allocFails()) return -ENOENT; // mock_domain_map_pages' own iommufd_should_fail point
    if (iova % MOCK_PAGE || size % MOCK_PAGE) throw new Error("mock map of a misaligned range");
    for (let o = 0; o < size;) {
      const huge = this.hugeIova && (iova + o) % MOCK_HUGE_PAGE === 0 && (paddr + o) % MOCK_HUGE_PAGE === 0 && size - o >= MOCK_HUGE_PAGE;
      const n = huge ? MOCK_HUGE_PAGE : MOCK_PAGE;
      for (let c = 0; c < n; c += MOCK_PAGE) {
        const k = (iova + o + c) / MOCK_PAGE;
        this.pfns.set(k, paddr + o + c);
        if (huge) this.huge.add(k);
      }
      o += n;
    }
    return 0;
  }

  unmap(iova: number, size: number): void {
    for (let o = 0; o < size; o += MOCK_PAGE) {
      const k = (iova + o) / MOCK_PAGE;
      this.pfns.delete(k);
      this.huge.delete(k);
      this.dirty.delete(k);
    }
  }

  iovaToPhys(iova: number): number {
    const p = this.pfns.get(Math.floor(iova / MOCK_PAGE));
    return p === undefined ? -1 : p + (iova % MOCK_PAGE);
  }

  /** mock_domain_set_dirty_tracking. */
  setDirtyTracking(enable: boolean): number {
    if (enable && !this.dirtyOps) return -EINVAL;
    this.tracking = enable;
    return 0;
  }

  /** mock_test_and_clear_dirty: any dirty mock page in [head, head+pageSize-1), cleared unless NO_CLEAR. */
  private testAndClearDirty(head: number, pageSize: number, noClear: boolean): boolean {
    let dirty = false;
    for (let cur = head; cur < head + pageSize - 1; cur += MOCK_PAGE) {
      const k = cur / MOCK_PAGE;
      if (!this.pfns.has(k) || !this.dirty.has(k)) continue;
      dirty = true;
      if (!noClear) this.dirty.delete(k);
    }
    return dirty;
  }

  /**
   * mock_domain_read_and_clear_dirty: walks mapped IOVAs by PTE (a whole MOCK_HUGE_PAGE for
   * huge entries) and records every PTE with a dirty mock page; EINVAL when tracking is off and
   * a bitmap is given.
   */
  readAndClearDirty(iova: number, size: number, noClear: boolean, record: ((iova: number, length: number) => void) | null): number {
    if (!this.tracking && record) return -EINVAL;
    const end = iova + size;
    do {
      let pgsize = MOCK_PAGE;
      const k = Math.floor(iova / MOCK_PAGE);
      if (!this.pfns.has(k)) {
        iova += pgsize;
        continue;
      }
      if (this.huge.has(k)) pgsize = MOCK_HUGE_PAGE;
      const head = iova - (iova % pgsize);
      if (this.testAndClearDirty(head, pgsize, noClear) && record) record(iova, pgsize);
      iova += pgsize;
    } while (iova < end);
    return 0;
  }

  free(): void {
    if (this.pfns.size !== 0) throw new Error("mock domain freed with mappings (WARN_ON in mock_domain_free)");
  }
}

let mockDevNum = 0;

/** A mock device (mock_dev_create): its own group, coherent, MSI check skipped. */
export class MockDevice implements IommufdDeviceDriver {
  readonly name: string;
  readonly groupKey: string;
  readonly cacheCoherent = true;
  readonly msiIsolated = true;
  readonly reservedRegions = [];

  constructor(readonly flags: number) {
    mockDevNum++;
    this.name = `iommufd_mock${mockDevNum}`;
    this.groupKey = this.name;
  }

  get dirtyCapable(): boolean {
    return !(this.flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
  }

  /** mock_domain_alloc_user (no parent). */
  allocPaging(flags: number, userData: boolean): PagingDomain | number {
    if (flags & ~(HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_DIRTY_TRACKING)) return -EOPNOTSUPP;
    const dirty = (flags & HWPT_ALLOC_DIRTY_TRACKING) !== 0;
    if (userData || (dirty && !this.dirtyCapable)) return -EOPNOTSUPP;
    if (allocFails()) return -ENOMEM;
    return new MockDomain(dirty, (this.flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) !== 0);
  }

  /** mock_domain_nop_attach. */
  attachCheck(domain: PagingDomain): number {
    return domain.dirtyOps && this.flags & MOCK_FLAGS_DEVICE_NO_DIRTY ? -EINVAL : 0;
  }

  hwInfo(): HwInfo {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setUint32(4, IOMMU_HW_INFO_SELFTEST_REGVAL, true);
    return {
      type: IOMMU_HW_INFO_TYPE_SELFTEST,
      data,
      capabilities: this.dirtyCapable ? IOMMU_HW_CAP_DIRTY_TRACKING : 0n,
      maxPasidLog2: this.flags & MOCK_FLAGS_DEVICE_PASID ? MOCK_PASID_WIDTH : 0,
    };
  }

  claimDmaOwner(): number {
    return 0;
  }

  releaseDmaOwner(): void {}
}
