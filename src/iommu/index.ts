// Public surface of src/iommu: factories for every format behind IommuDomain.
export * from "./domain.js";
export { TablePool, TABLE_BYTES } from "./table-pool.js";
export { VtdPageTable, DMA_PTE_READ, DMA_PTE_WRITE, DMA_PTE_LARGE_PAGE, DMA_PTE_SNP } from "./vtd/pagetable.js";
export { VtdDomain, createVtdDomain, X86_MSI_WINDOW, VTD_DEFAULT_PGSIZE_BITMAP, type VtdDomainOptions, type InvalidationSink } from "./vtd/domain.js";
export { FlushQueue, IOVA_DEFAULT_FQ_SIZE, IOVA_DEFAULT_FQ_TIMEOUT_MS } from "./flush-queue.js";
export { Iotlb, type IotlbCounters } from "./iotlb.js";
export { FaultRecorder, FaultReason, FAULT_REASON_STRINGS, formatFault, type FaultRecord } from "./faults.js";
export { RootContextTables, DomainIdSpace, CONTEXT_TT_MULTI_LEVEL, CONTEXT_TT_DEV_IOTLB, CONTEXT_TT_PASS_THROUGH, type ContextEntry } from "./vtd/context.js";
export { VtdUnit, createVtdUnit, type VtdUnitOptions, type InvalidationEvent } from "./vtd/unit.js";
export { calculatePsiAlignedAddress, iotlbDescriptor } from "./vtd/invalidation.js";
export { TceTable, makeTce, TCE_PCI_READ, TCE_PCI_WRITE, POWERNV_IOMMU_DEFAULT_LEVELS, POWERNV_IOMMU_MAX_LEVELS, type TceTableOptions } from "./power/tce.js";
export { TceWindow, createTceWindow, TVE1_BUS_START, type TceWindowOptions } from "./power/window.js";
export { formPowerPes, formPhbPes, PeNumberSpace, PCI_EXP_TYPE_PCI_BRIDGE, type PowerPciFunction, type PowerPe as PowerPeGroup, type FormedPe, type FormPesOptions } from "./power/form-pes.js";
export { Phb, PowerPe, createPhb, type PhbOptions } from "./power/phb.js";
export * from "./power/eeh.js";
export * from "./power/hcall.js";
export { AmdV1Domain, createAmdV1Domain, AMD_PTE_PR, AMD_PTE_IR_HI, AMD_PTE_IW_HI, AMD_PTE_NL_SIZE, type AmdV1Options } from "./amd/v1.js";

import type { IommuDomain } from "./domain.js";
import { createVtdDomain as vtd, type VtdDomainOptions as VtdOpts } from "./vtd/domain.js";
import { createAmdV1Domain as amd, type AmdV1Options as AmdOpts } from "./amd/v1.js";
import { createTceWindow as tce, type TceWindowOptions as TceOpts } from "./power/window.js";

/** One entry point for the VFIO layer: a domain of the platform's format (x86 default = QEMU intel-iommu). */
export function createIommuDomain(format: "vtd-sl", opts?: VtdOpts): IommuDomain;
export function createIommuDomain(format: "amd-v1", opts?: AmdOpts): IommuDomain;
export function createIommuDomain(format: "power-tce", opts?: TceOpts): IommuDomain;
export function createIommuDomain(format: "vtd-sl" | "amd-v1" | "power-tce", opts: object = {}): IommuDomain {
  if (format === "amd-v1") return amd(opts as AmdOpts);
  if (format === "power-tce") return tce(opts as TceOpts);
  return vtd(opts as VtdOpts);
}
