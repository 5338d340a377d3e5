// The one interface above every IOMMU format (x86 VT-d / AMD-Vi page tables, POWER TCE windows).
// The VFIO backends (src/vfio) program the hardware only through this, like the kernel's
// iommu_domain_ops. Addresses are JS numbers: page-aligned values are exact far beyond 2^53
// (a 4 KiB-aligned 64-bit address has at most 52 significant bits), so no BigInt is needed.

export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;

/** Inclusive IOVA range [start, last]. */
export interface IovaRange {
  start: number;
  last: number;
}

export type DomainFormat = "vtd-sl" | "amd-v1" | "power-tce";

export interface DomainStats {
  /** Calls of map()/unmap() made on this domain: the cost the seed's argument is about. */
  mapCalls: number;
  unmapCalls: number;
  /** Page-table (or TCE table) memory in use, in 4 KiB pages. */
  tablePages: number;
}

/** Failure of a domain operation; errno is the kernel's (e.g. "EINVAL", "ENOMEM", "EEXIST", "EFAULT"). */
export class IommuError extends Error {
  constructor(
    readonly op: "map" | "unmap" | "translate" | "attach" | "detach" | "alloc" | "invalidate" | "window" | "eeh",
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = "IommuError";
  }
}

export interface IommuDomain {
  readonly format: DomainFormat;
  /** Supported page sizes: a list of byte sizes, ascending (like iova_pgsizes / pgsize_bitmap). */
  readonly pageSizes: readonly number[];
  /** iova_pgsizes as the UAPI reports it (for sizes < 2^53; a number, use arithmetic not bit ops). */
  readonly pgsizeBitmap: number;
  /** IOVA ranges the domain can translate (the aperture / DMA windows). */
  readonly apertures: readonly IovaRange[];
  /** Ranges that must never be mapped (x86 MSI window 0xfee00000-0xfeefffff, ...). */
  readonly reserved: readonly IovaRange[];
  /** Maps [iova, iova+size) to [paddr, ...), choosing the largest page sizes that fit. Throws IommuError. */
  map(iova: number, paddr: number, size: number, prot: number): void;
  /** Unmaps; returns the bytes actually unmapped (may exceed size for a superpage, kernel rule). */
  unmap(iova: number, size: number): number;
  /** Physical address for iova, or -1 when not mapped. */
  iovaToPhys(iova: number): number;
  readonly stats: DomainStats;
  /** Frees every table page. */
  destroy(): void;
}
