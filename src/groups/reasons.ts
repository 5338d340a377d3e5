// One sentence per member of a group: how it got there (the step of pci_device_group() that
// decided) and, for the device that started the group, why nothing above it pulled it in.

import { NOT_PCIE, PCI_EXP_TYPE_PCI_BRIDGE } from "../pci/regs.js";
import type { Topology } from "../pci/topology.js";
import type { AcsState } from "./acs.js";
import { BRIDGE_PCIE_ALIAS, type AliasInfo } from "./aliases.js";
import { describeAcs, firstNonIsolating } from "./describe.js";
import { Join, type GroupAssignment } from "./device-group.js";

export function groupReasons(topo: Topology, acs: AcsState, aliases: AliasInfo, a: GroupAssignment, members: number[]): string[] {
  return members.map((i) => memberReason(topo, acs, aliases, a, i));
}

export function memberReason(topo: Topology, acs: AcsState, aliases: AliasInfo, a: GroupAssignment, i: number): string {
  const me = topo.bdf(i);
  const via = a.via[i]!;
  switch (a.join[i] as Join) {
    case Join.AliasBridge:
      return `${me} sits behind ${bridgeAliasText(topo, aliases, via)}: the IOMMU sees its DMA as the bridge's, so it joins ${topo.bdf(via)}'s group`;
    case Join.UpstreamNotIsolated: {
      const bad = firstNonIsolating(topo, acs, via);
      return `${me} joins ${topo.bdf(via)}'s group: the path to the root is not ACS-isolated at ${topo.bdf(bad >= 0 ? bad : via)} (${describeAcs(topo, acs, bad >= 0 ? bad : via)})`;
    }
    case Join.BusAlias:
      return `${me} is a DMA alias of ${via >= 0 ? topo.bdf(via) : "a function"} on the same bus${aliasWhy(topo, aliases, i, via)}: both use one requester ID, so they share a group`;
    case Join.SameSlot:
      return `${me} shares multifunction slot ${slotText(topo, i)} with ${via >= 0 ? topo.bdf(via) : "a sibling"}; neither isolates peer-to-peer inside the slot (${describeAcs(topo, acs, i)})`;
    case Join.NewGroup:
      return `${me} starts this group: ${isolationText(topo, acs, a, i)}`;
    case Join.NoGroup:
      return `${me} has no group`;
  }
}

function isolationText(topo: Topology, acs: AcsState, a: GroupAssignment, i: number): string {
  const anchor = a.anchor[i]!;
  const parts: string[] = [];
  if (anchor >= 0 && anchor !== i) parts.push(`DMA below ${topo.bdf(anchor)} is attributed to it (${describeAcs(topo, acs, anchor)})`);
  const p = anchor >= 0 ? anchor : i;
  const up = topo.upstreamBridge(p);
  if (topo.isRootBus(topo.busOf[p]!)) parts.push("on a root bus, so no upstream port needs checking");
  else if (up >= 0) {
    const chain: string[] = [];
    for (let d = up; d >= 0; d = topo.upstreamBridge(d)) chain.push(`${topo.bdf(d)} ${describeAcs(topo, acs, d)}`);
    parts.push(`every bridge up to the root isolates (${chain.join("; ")})`);
  } else parts.push("its bus has no bridge above it (SR-IOV virtual bus)");
  return parts.join("; ");
}

function bridgeAliasText(topo: Topology, aliases: AliasInfo, b: number): string {
  const bdf = topo.bdf(b);
  const sec = topo.secondaryBus[b]!.toString(16).padStart(2, "0");
  if (topo.pcieType[b] === PCI_EXP_TYPE_PCI_BRIDGE) return `PCIe-to-PCI bridge ${bdf}, which takes ownership of conventional transactions (requester ID ${sec}:00.0)`;
  if (topo.pcieType[b] !== NOT_PCIE) return `PCI/PCI-X-to-PCIe bridge ${bdf} (requester ID of the bridge)`;
  if (aliases.bridgeFlags[b]! & BRIDGE_PCIE_ALIAS) return `conventional bridge ${bdf}, flagged by the kernel to alias as ${sec}:00.0`;
  return `conventional PCI bridge ${bdf} (requester ID of the bridge itself)`;
}

function aliasWhy(_topo: Topology, aliases: AliasInfo, i: number, via: number): string {
  const w = aliases.maskWhy.get(i) ?? (via >= 0 ? aliases.maskWhy.get(via) : undefined);
  return w ? ` (quirk: ${w})` : "";
}

function slotText(topo: Topology, i: number): string {
  return topo.bdf(i).slice(0, -2);
}
