// Where the VFIO backends get their IOMMU domains. The backends program the IOMMU only through
// the IommuDomain interface of src/iommu; this module picks the implementation for a host's
// IOMMU: the page-table models of src/iommu (issue 3) via the factory set by setDomainFactory(),
// or, until one is installed, the flat reference domain below (same interface, same rules for
// page sizes, aperture and reserved windows).

import { IommuError, type IommuDomain, type IovaRange, type DomainFormat, type DomainStats } from "../iommu/domain.js";
import { createVtdDomain } from "../iommu/vtd/domain.js";

export type IommuKind = "intel" | "amd" | "power";

export interface DomainSpec {
  kind: IommuKind;
  /** Address width of the aperture (intel-iommu in QEMU: 39). */
  addressWidth: number;
}

export type DomainFactory = (spec: DomainSpec) => IommuDomain;

let factory: DomainFactory | null = null;
/** Allocation hook for fault injection (fail_nth): called once per domain allocation. */
let allocHook: (() => boolean) | null = null;

export function setDomainFactory(f: DomainFactory | null): void {
  factory = f;
}

export function setAllocFailHook(h: (() => boolean) | null): void {
  allocHook = h;
}

/** Returns true when the next internal allocation must fail (fault injection). */
export function allocFails(): boolean {
  return allocHook !== null && allocHook();
}

/** The default: src/iommu's VT-d second-level tables for x86 (3 levels = 39 bits, 4 = 48);
 *  the flat reference domain for POWER windows (the sPAPR backend manages its TCE tables). */
export function defaultDomain(spec: DomainSpec): IommuDomain {
  if (spec.kind !== "power") return createVtdDomain({ levels: spec.addressWidth > 48 ? 5 : spec.addressWidth > 39 ? 4 : 3 });
  return new FlatDomain(spec);
}

export function createDomain(spec: DomainSpec): IommuDomain {
  return factory ? factory(spec) : defaultDomain(spec);
}

export const MSI_WINDOW: IovaRange = { start: 0xfee00000, last: 0xfeefffff };

/**
 * Reference domain: one entry per 4 KiB page in a Map, stats counted like a 3-level table
 * (one root, one table page per touched 1 GiB and per touched 2 MiB region).
 */
export class FlatDomain implements IommuDomain {
  readonly format: DomainFormat;
  readonly pageSizes: readonly number[];
  readonly pgsizeBitmap: number;
  readonly apertures: readonly IovaRange[];
  readonly reserved: readonly IovaRange[];
  readonly stats: DomainStats = { mapCalls: 0, unmapCalls: 0, tablePages: 1 };
  private readonly pages = new Map<number, number>();
  private readonly l2 = new Map<number, number>();
  private readonly l1 = new Map<number, number>();

  constructor(spec: DomainSpec) {
    this.format = spec.kind === "power" ? "power-tce" : spec.kind === "amd" ? "amd-v1" : "vtd-sl";
    this.pageSizes = spec.kind === "power" ? [0x1000, 0x10000] : [0x1000, 0x200000, 0x40000000];
    this.pgsizeBitmap = this.pageSizes.reduce((a, b) => a + b, 0);
    this.apertures = [{ start: 0, last: 2 ** spec.addressWidth - 1 }];
    this.reserved = spec.kind === "power" ? [] : [MSI_WINDOW];
  }

  map(iova: number, paddr: number, size: number, _prot: number): void {
    this.stats.mapCalls++;
    if (iova % 0x1000 || paddr % 0x1000 || size % 0x1000 || size <= 0) throw new IommuError("map", "EINVAL", "unaligned");
    const last = iova + size - 1;
    if (!this.apertures.some((a) => iova >= a.start && last <= a.last)) throw new IommuError("map", "EINVAL", "outside aperture");
    for (let o = 0; o < size; o += 0x1000) {
      if (this.pages.has((iova + o) / 0x1000)) throw new IommuError("map", "EEXIST", "already mapped");
    }
    for (let o = 0; o < size; o += 0x1000) {
      const pfn = (iova + o) / 0x1000;
      this.pages.set(pfn, paddr + o);
      this.ref(this.l2, Math.floor(pfn / 512), 1);
      this.ref(this.l1, Math.floor(pfn / 262144), 1);
    }
  }

  unmap(iova: number, size: number): number {
    this.stats.unmapCalls++;
    let n = 0;
    for (let o = 0; o < size; o += 0x1000) {
      const pfn = (iova + o) / 0x1000;
      if (this.pages.delete(pfn)) {
        n += 0x1000;
        this.ref(this.l2, Math.floor(pfn / 512), -1);
        this.ref(this.l1, Math.floor(pfn / 262144), -1);
      }
    }
    return n;
  }

  iovaToPhys(iova: number): number {
    const p = this.pages.get(Math.floor(iova / 0x1000));
    return p === undefined ? -1 : p + (iova % 0x1000);
  }

  /** Mapped pages (tests). */
  get mappedPages(): number {
    return this.pages.size;
  }

  destroy(): void {
    this.pages.clear();
    this.l1.clear();
    this.l2.clear();
    this.stats.tablePages = 0;
  }

  private ref(m: Map<number, number>, k: number, d: number): void {
    const v = (m.get(k) ?? 0) + d;
    if (v === 0) {
      m.delete(k);
      this.stats.tablePages--;
    } else {
      if (v === 1 && d > 0) this.stats.tablePages++;
      m.set(k, v);
    }
  }
}
