// A PE's DMA window behind IommuDomain (power-pe-tce-eeh.md §3.4): bus start, one page size, a TCE
// table. Window 0 starts at 0 (the "32-bit" window), window 1 at 1 << 59 (the 64-bit DDW).
// translate = index, check R/W, PA = (tce & ~(pagesize-1)) + offset (`pnv_tce`).

import { IommuError, type DomainStats, type IommuDomain, type IovaRange } from "../domain.js";
import { makeTce, TceTable, TCE_PCI_READ, TCE_PCI_WRITE } from "./tce.js";

export const TVE1_BUS_START = 2 ** 59;

export interface TceWindowOptions {
  /** PAPR logical I/O bus number naming this window (guest view). */
  liobn?: number;
  busStart?: number;
  pageShift?: number;
  windowSize?: number;
  levels?: number;
  /** IOVA ranges the allocator keeps out (default window: [m32_pci_base, 4 GiB)). */
  reserved?: IovaRange[];
}

let nextLiobn = 0x80000000;

class TceStats implements DomainStats {
  mapCalls = 0;
  unmapCalls = 0;
  constructor(private readonly table: TceTable) {}
  get tablePages(): number {
    return this.table.tablePages;
  }
}

export class TceWindow implements IommuDomain {
  readonly format = "power-tce" as const;
  readonly liobn: number;
  readonly busStart: number;
  readonly pageShift: number;
  readonly pageSize: number;
  readonly size: number;
  readonly table: TceTable;
  readonly pageSizes: readonly number[];
  readonly pgsizeBitmap: number;
  readonly apertures: readonly IovaRange[];
  readonly reserved: readonly IovaRange[];
  readonly stats: TceStats;

  constructor(o: TceWindowOptions = {}) {
    this.busStart = o.busStart ?? 0;
    this.pageShift = o.pageShift ?? 12;
    this.pageSize = 2 ** this.pageShift;
    this.size = o.windowSize ?? 2 ** 30; // QEMU spapr default dma_win_size
    if (this.busStart % this.size !== 0 && this.busStart % this.pageSize !== 0) throw new IommuError("window", "EINVAL", "window start not aligned");
    this.table = new TceTable({ pageShift: this.pageShift, windowSize: this.size, levels: o.levels });
    this.liobn = o.liobn ?? nextLiobn++;
    this.pageSizes = [this.pageSize];
    this.pgsizeBitmap = this.pageSize;
    this.apertures = [{ start: this.busStart, last: this.busStart + this.size - 1 }];
    this.reserved = o.reserved ?? [];
    this.stats = new TceStats(this.table);
  }

  get entries(): number {
    return this.table.entries;
  }

  /** Entry index for a bus address, or -1 outside the window: (a >> page_shift) - it_offset. */
  indexOf(busAddr: number): number {
    if (!(busAddr >= this.busStart && busAddr < this.busStart + this.size)) return -1;
    return Math.floor((busAddr - this.busStart) / this.pageSize);
  }

  /** Writes one TCE per page (VFIO MAP_DMA → `tce_iommu_build`); EADDRINUSE over a valid TCE, undone. */
  map(iova: number, paddr: number, size: number, prot: number): void {
    this.stats.mapCalls++;
    const ps = this.pageSize;
    if ((prot & 3) === 0) throw new IommuError("map", "EINVAL", "map without IOMMU_READ or IOMMU_WRITE");
    if (!(size > 0) || iova % ps !== 0 || paddr % ps !== 0 || size % ps !== 0) throw new IommuError("map", "EINVAL", `map not aligned to the window's ${ps}-byte TCE page`);
    const first = this.indexOf(iova);
    if (first < 0 || this.indexOf(iova + size - 1) < 0) throw new IommuError("map", "EINVAL", `map 0x${iova.toString(16)}+0x${size.toString(16)} outside the DMA window`);
    const n = size / ps;
    for (let i = 0; i < n; i++) {
      if (this.table.getValue(first + i) & 3) {
        for (let j = 0; j < i; j++) this.table.set(first + j, 0);
        throw new IommuError("map", "EADDRINUSE", `TCE ${first + i} already valid`);
      }
      this.table.set(first + i, makeTce(paddr + i * ps, prot));
    }
  }

  /** Clears the TCEs of the range (`tce_iommu_clear`: holes are skipped, not a stop); bytes of the range inside the window. */
  unmap(iova: number, size: number): number {
    this.stats.unmapCalls++;
    const ps = this.pageSize;
    if (!(size > 0) || iova % ps !== 0 || size % ps !== 0) return 0;
    const first = this.indexOf(iova);
    if (first < 0) return 0;
    const n = Math.min(size / ps, this.entries - first);
    for (let i = 0; i < n; i++) this.table.set(first + i, 0);
    return n * ps;
  }

  /** PA for a bus address, -1 when outside the window or the TCE is invalid. */
  iovaToPhys(iova: number): number {
    return this.dmaTranslate(iova, 0);
  }

  /** PA for an access needing `need` (TCE_PCI_READ/WRITE bits; 0 = any valid), or -1. */
  dmaTranslate(busAddr: number, need: number): number {
    const idx = this.indexOf(busAddr);
    if (idx < 0) return -1;
    const tce = this.table.getValue(idx);
    if ((tce & 3) === 0 || (tce & need) !== need) return -1;
    const off = (busAddr - this.busStart) % this.pageSize;
    return tce - (tce % this.pageSize) + off;
  }

  destroy(): void {
    this.table.free();
  }
}

/** A TCE window: the POWER domain the VFIO layer drives (`VFIO_IOMMU_SPAPR_TCE_CREATE` / default window). */
export function createTceWindow(o: TceWindowOptions = {}): TceWindow {
  return new TceWindow(o);
}

export { TCE_PCI_READ, TCE_PCI_WRITE };
