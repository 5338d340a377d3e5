// `groups --platform power`: PowerNV partitionable endpoints (src/iommu/power) shown as groups.

import type { GroupingResult } from "../groups/compute.js";
import { formPowerPes, type PowerPciFunction } from "../iommu/power/form-pes.js";
import { FN_BRIDGE, FN_VIRTFN } from "../pci/topology.js";

export interface PowerOutput {
  source: string;
  platform: "power";
  groups: { id: number; devices: string[]; certain: boolean; reasons: string[]; pe: number; kind: string }[];
  ungrouped: { device: string; reason: string }[];
  warnings: string[];
  text: string[];
}

export function powerGroups(r: GroupingResult): PowerOutput {
  const t = r.topology;
  const fns: PowerPciFunction[] = [];
  for (let i = 0; i < t.count; i++) {
    const f: PowerPciFunction = {
      bdf: t.bdf(i), domain: t.domain[i]!, bus: t.bus[i]!, devfn: t.devfn[i]!, isBridge: (t.flags[i]! & FN_BRIDGE) !== 0,
      secondaryBus: t.secondaryBus[i]!, subordinateBus: t.subordinateBus[i]!, isVirtfn: (t.flags[i]! & FN_VIRTFN) !== 0, pcieType: t.pcieType[i]!,
    };
    if (t.physfn[i]! >= 0) f.physfn = t.bdf(t.physfn[i]!);
    fns.push(f);
  }
  const pes = formPowerPes(fns);
  const grouped = new Set(pes.flatMap((p) => p.devices));
  const groups = pes.map((p, id) => ({ id, devices: p.devices, certain: true, reasons: [p.reason], pe: p.peNumber, kind: p.kind }));
  const ungrouped = fns.filter((f) => !grouped.has(f.bdf)).map((f) => ({ device: f.bdf, reason: f.isBridge ? "a bridge: PowerNV PEs carry the DMA of the devices below it, not the bridge's" : "in no PE" }));
  const text = [`PowerNV partitionable endpoints of ${r.source} (one IOMMU group and one TCE window per PE; EEH freezes a PE alone)`];
  for (const g of groups) text.push(`PE ${g.pe} (${g.kind}): ${g.devices.join(", ")}`, `    ${g.reasons[0]}`);
  for (const u of ungrouped) text.push(`no PE: ${u.device}: ${u.reason}`);
  return { source: r.source, platform: "power", groups, ungrouped, warnings: r.warnings, text };
}
