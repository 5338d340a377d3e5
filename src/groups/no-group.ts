// Devices the IOMMU driver gives no group at all (iommu-groups.md §7): probe_device() -ENODEV.

import { formatBdf } from "../pci/address.js";
import type { Topology } from "../pci/topology.js";
import type { GroupingOptions, IommuKind } from "./options.js";

const isAmdIommuFunction = (topo: Topology, i: number): boolean => topo.vendor[i] === 0x1022 && topo.classCode[i]! >> 8 === 0x0806;

/** The IOMMU the host has, judged from its functions when the input does not say. */
export function detectIommu(topo: Topology): IommuKind {
  for (let i = 0; i < topo.count; i++) if (isAmdIommuFunction(topo, i)) return "amd";
  return "intel";
}

export interface NoGroupResult {
  flags: Uint8Array;
  reasons: Map<number, string>;
}

export function findUngrouped(topo: Topology, opts: GroupingOptions): NoGroupResult {
  const flags = new Uint8Array(topo.count);
  const reasons = new Map<number, string>();
  if (opts.iommu === "none") {
    flags.fill(1);
    for (let i = 0; i < topo.count; i++) reasons.set(i, "no IOMMU is enabled on this host: no device gets a group");
    return { flags, reasons };
  }
  if (opts.iommu !== "amd") return { flags, reasons };
  for (let i = 0; i < topo.count; i++) {
    if (!isAmdIommuFunction(topo, i)) continue;
    flags[i] = 1;
    reasons.set(i, "the AMD IOMMU's own PCI function: init_iommu_one() clears its entry from the device table on purpose");
    if (opts.ivrsCoversRootComplex) continue;
    // IVHD device ranges start just after the IOMMU's own RID on Zen-era firmware.
    for (let j = topo.busHead[topo.busOf[i]!]!; j !== -1; j = topo.busNext[j]!) {
      if (topo.devfn[j]! < topo.devfn[i]! && !flags[j]) {
        flags[j] = 1;
        reasons.set(
          j,
          `not covered by the firmware's IVRS device ranges, which start after the IOMMU ${formatBdf(topo.domain[i]!, topo.bus[i]!, topo.devfn[i]!)} (check_device() fails; firmware data the input cannot show: assumed as on Zen-era boards)`,
        );
      }
    }
  }
  return { flags, reasons };
}
