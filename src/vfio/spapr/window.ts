// A container window (container->tables[num] in vfio_iommu_spapr_tce.c): a TCE table from
// src/iommu/power created as `tce_iommu_create_table` → `pnv_pci_ioda2_create_table_userspace`
// does. `hw` is the hardware table (a TceWindow, programmed into the PE of every group of the
// container: v2 shares one table between them); `ua` is the table's "userspace view"
// (it_userspace, same geometry, allocated on demand too) holding the user address each valid TCE
// was built from, which is how clearing finds the preregistered region to release.

import type { ProcessMm } from "../mm.js";
import { EINVAL, ENOMEM, errnoNumber } from "../uapi.js";
import { IommuError } from "../../iommu/domain.js";
import { TceTable, tceTableSize } from "../../iommu/power/tce.js";
import { createTceWindow, TVE1_BUS_START, type TceWindow } from "../../iommu/power/window.js";

export class SpaprWindow {
  readonly start: number;
  readonly pageShift: number;
  readonly pageSize: number;
  /** it_size: entries tce_iommu_find_table accepts from `start` (≥ the window's entries). */
  readonly itSize: number;
  /** it_level_size when multi-level (the clear loop's skip unit), else 0. */
  readonly levelSize: number;

  constructor(
    readonly hw: TceWindow,
    readonly ua: TceTable,
    /** it_allocated_size in model (4 KiB) pages: charged at creation, un-charged when freed. */
    readonly chargedPages: number,
  ) {
    this.start = hw.busStart;
    this.pageShift = hw.pageShift;
    this.pageSize = hw.pageSize;
    this.itSize = hw.table.itSize;
    this.levelSize = hw.table.levels > 1 ? hw.table.tableEntries : 0;
  }

  /** tce_iommu_find_table's test: (iova >> page_shift) in [it_offset, it_offset + it_size). */
  contains(iova: number): boolean {
    const e = Math.floor(iova / this.pageSize) - this.start / this.pageSize;
    return e >= 0 && e < this.itSize;
  }

  /** `tce_iommu_free_table`: table pages freed, the creation charge returned. */
  free(mm: ProcessMm): void {
    this.hw.destroy();
    this.ua.free();
    mm.lockedVm -= this.chargedPages;
  }
}

/**
 * `tce_iommu_create_table` for slot num (window 0 at tce32_start = 0, window 1 at 1 << 59):
 * get_table_size 0 → EINVAL; the charge over RLIMIT_MEMLOCK → ENOMEM; then the platform builds the
 * table. A platform refusal after the charge (too many levels for the window, a level larger than
 * one page allocation) returns its errno and leaves the charge in locked_vm: the kernel does not
 * undo `account_locked_vm` on that path.
 */
export function createSpaprWindow(mm: ProcessMm, num: 0 | 1, pageShift: number, windowSize: number, levels: number): SpaprWindow | number {
  const bytes = tceTableSize(pageShift, windowSize, levels);
  if (!bytes) return -EINVAL;
  const pages = bytes / 0x1000;
  if (mm.chargeLocked && mm.lockedVm + pages > mm.limitPages) return -ENOMEM;
  mm.lockedVm += pages;
  try {
    const busStart = num === 0 ? 0 : TVE1_BUS_START;
    const hw = createTceWindow({ busStart, pageShift, windowSize, levels });
    const ua = new TceTable({ pageShift, windowSize, levels });
    return new SpaprWindow(hw, ua, pages);
  } catch (e) {
    if (e instanceof IommuError) return -errnoNumber(e.errno);
    throw e;
  }
}
