// HW page tables (drivers/iommu/iommufd/hw_pagetable.c): a paging HWPT is a driver domain
// holding its IOAS, with every area of that IOAS mapped into it; auto HWPTs come and go with
// their devices. Nested HWPTs exist only for drivers with nesting (here: the selftest's mock).

import {
  HWPT_ALLOC_DIRTY_TRACKING, HWPT_ALLOC_NEST_PARENT, type IommufdDeviceDriver, type PagingDomain,
} from "./driver.js";
import { ENOMEM, EOPNOTSUPP } from "./errno.js";
import type { IoasObject } from "./ioas-object.js";
import { IommufdObject, type ObjectTable } from "./object.js";

export class HwptPaging extends IommufdObject {
  readonly type = "hwpt_paging";
  /** Made by attaching a device to an IOAS; destroyed when its last device leaves. */
  auto = false;
  /** Devices attached through their groups. */
  devices = 0;
  /** Nested HWPTs made on it (they hold it). */
  nestedChildren = 0;

  constructor(
    readonly ioas: IoasObject,
    readonly domain: PagingDomain,
    readonly nestParent: boolean,
  ) {
    super();
  }
}

/** A nested HWPT on the mock driver's parent (IOMMU_HWPT_DATA_SELFTEST): only its IOTLB. */
export class HwptNested extends IommufdObject {
  readonly type = "hwpt_nested";
  readonly iotlb: Uint32Array;

  constructor(readonly parent: HwptPaging, iotlbDefault: number) {
    super();
    this.iotlb = new Uint32Array(4).fill(iotlbDefault);
  }
}

export type Hwpt = HwptPaging | HwptNested;

/** Valid HWPT_ALLOC flags for a paging HWPT (6.7-6.12; PASID comes ≈6.15). */
const PAGING_FLAGS = HWPT_ALLOC_NEST_PARENT | HWPT_ALLOC_DIRTY_TRACKING;

/**
 * iommufd_hwpt_paging_alloc up to (not including) the IOAS fill: flag checks, the ID, the
 * driver's domain. The caller attaches (auto domains) and adds it to the IOAS.
 * Returns the object (its ID reserved, not yet in the table) or -errno.
 */
export function allocPagingDomain(
  table: ObjectTable, ioas: IoasObject, drv: IommufdDeviceDriver, flags: number, userData: boolean,
): { id: number; hwpt: HwptPaging } | number {
  if (flags & ~PAGING_FLAGS || userData) return -EOPNOTSUPP;
  if (flags & HWPT_ALLOC_DIRTY_TRACKING && !drv.dirtyCapable) return -EOPNOTSUPP;
  const id = table.reserve();
  if (!id) return -ENOMEM;
  const dom = drv.allocPaging(flags, userData);
  if (typeof dom === "number") {
    table.abort(id);
    return dom;
  }
  return { id, hwpt: new HwptPaging(ioas, dom, (flags & HWPT_ALLOC_NEST_PARENT) !== 0) };
}

/** iopt_table_add_domain and the IOAS's hold (iommufd_hwpt_paging_alloc's tail). */
export function addToIoas(h: HwptPaging): number {
  const r = h.ioas.ioas.addDomain(h.domain);
  if (r < 0) return r;
  h.ioas.users++;
  h.ioas.hwpts.push(h);
  return 0;
}

/** iommufd_hwpt_paging_destroy: out of the IOAS, domain freed, the IOAS's hold dropped. */
export function destroyPaging(h: HwptPaging): void {
  const i = h.ioas.hwpts.indexOf(h);
  if (i >= 0) {
    h.ioas.hwpts.splice(i, 1);
    h.ioas.ioas.removeDomain(h.domain);
    h.ioas.users--;
  }
  h.domain.free();
}
