// --explain BDF: the decision for one device, step by step as pci_device_group() takes it, and
// what would isolate it.

import { NOT_PCIE, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE, PCI_EXP_TYPE_ROOT_PORT } from "../pci/regs.js";
import { FN_MULTIFUNCTION, FN_VIRTFN, type Topology } from "../pci/topology.js";
import { BRIDGE_NO_ALIAS, BRIDGE_XLATE_ROOT } from "./aliases.js";
import type { GroupingRun } from "./compute.js";
import { describeAcs, firstNonIsolating, kindOf } from "./describe.js";
import { Join } from "./device-group.js";
import { memberReason } from "./reasons.js";

export interface Explanation {
  device: string;
  group: number | null;
  steps: string[];
  members: string[];
  toIsolate: string[];
}

export function explainDevice(topo: Topology, run: GroupingRun, i: number): Explanation {
  const { acs, aliases, assignment: a } = run;
  const steps: string[] = [];
  const me = topo.bdf(i);
  steps.push(`${me} is a ${kindOf(topo, i)}${topo.flags[i]! & FN_VIRTFN ? `, an SR-IOV VF of ${topo.bdf(topo.physfn[i]!)}` : ""}; ${describeAcs(topo, acs, i)}.`);
  if (a.join[i] === Join.NoGroup) {
    const u = run.ungrouped.find((x) => x.device === me);
    steps.push(`The IOMMU driver gives it no group: ${u?.reason ?? "not covered"}.`);
    return { device: me, group: null, steps, members: [], toIsolate: [] };
  }
  // Step 1: the alias walk.
  const bridges: string[] = [];
  for (let b = topo.busOf[i]!; topo.busParent[b] !== -1; b = topo.busParent[b]!) {
    const br = topo.busSelf[b]!;
    if (br < 0) {
      bridges.push(`bus ${topo.busNumber[b]!.toString(16).padStart(2, "0")} is an SR-IOV virtual bus without a bridge (skipped)`);
      continue;
    }
    if (aliases.bridgeFlags[br]! & BRIDGE_XLATE_ROOT) {
      bridges.push(`${topo.bdf(br)} is where translation happens (BRIDGE_XLATE_ROOT): the walk stops`);
      break;
    }
    const t = topo.pcieType[br]!;
    const aliasing = t === NOT_PCIE || t === PCI_EXP_TYPE_PCIE_BRIDGE || (t === PCI_EXP_TYPE_PCI_BRIDGE && !(aliases.bridgeFlags[br]! & BRIDGE_NO_ALIAS));
    bridges.push(`${topo.bdf(br)} (${kindOf(topo, br)}) ${aliasing ? "takes over the requester ID of traffic from below: DMA is attributed to it" : "forwards requester IDs unchanged"}`);
  }
  steps.push(bridges.length ? `Step 1, DMA aliases up the tree: ${bridges.join("; ")}.` : "Step 1, DMA aliases up the tree: it sits on a root bus, nothing above it.");
  const mask = aliases.maskWhy.get(i);
  if (mask) steps.push(`It also has DMA aliases on its own bus: ${mask}.`);
  // Step 2: ACS path check.
  if (a.join[i] !== Join.AliasBridge) {
    const checks: string[] = [];
    for (let d = topo.upstreamBridge(i); d >= 0; d = topo.upstreamBridge(d)) {
      checks.push(`${topo.bdf(d)}: ${describeAcs(topo, acs, d)}`);
    }
    steps.push(checks.length ? `Step 2, ACS on the path to the root: ${checks.join("; ")}.` : "Step 2, ACS on the path to the root: nothing to check (root bus).");
  }
  // Step 4: the slot.
  if (topo.flags[i]! & FN_MULTIFUNCTION) {
    const sib: string[] = [];
    for (let t = topo.slotHead[i]!; t !== -1; t = topo.slotNext[t]!) if (t !== i) sib.push(`${topo.bdf(t)} ${acs.enabled[t] ? "isolated" : "not isolated"}`);
    steps.push(`Step 4, its multifunction slot: ${acs.enabled[i] ? "it isolates itself, so its siblings are not pulled in" : "it does not isolate itself"}${sib.length ? `; siblings: ${sib.join(", ")}` : ""}.`);
  }
  steps.push(`Result: ${memberReason(topo, acs, aliases, a, i)}.`);
  const g = a.groupOf[i]!;
  const members: string[] = [];
  for (let t = 0; t < topo.count; t++) if (a.groupOf[t] === g) members.push(topo.bdf(t));
  return { device: me, group: g, steps, members, toIsolate: isolationAdvice(topo, run, i, members.length) };
}

function isolationAdvice(topo: Topology, run: GroupingRun, i: number, size: number): string[] {
  const { acs, assignment: a } = run;
  if (size <= 1) return ["It is already alone in its group: it can be assigned by itself."];
  const out: string[] = [];
  switch (a.join[i] as Join) {
    case Join.AliasBridge:
      out.push("Nothing in software splits devices behind a PCIe-to-PCI or conventional bridge: the IOMMU cannot tell their DMA apart. Assign the whole group, or move the card to a native PCIe slot.");
      break;
    case Join.UpstreamNotIsolated:
    case Join.NewGroup: {
      const bad = firstNonIsolating(topo, acs, topo.upstreamBridge(i));
      if (bad >= 0) {
        out.push(`Move the card to a slot whose path to the root has ACS (a CPU root port with ACS rather than one behind ${topo.bdf(bad)}).`);
        const t = topo.pcieType[bad]!;
        if (t === PCI_EXP_TYPE_ROOT_PORT || t === PCI_EXP_TYPE_DOWNSTREAM) out.push(`pcie_acs_override=downstream would make ${topo.bdf(bad)} count as isolating, but only pretends: peer-to-peer traffic below it is still not redirected to the IOMMU.`);
      }
      break;
    }
    case Join.SameSlot:
      out.push("Its siblings in the same multifunction slot share the group: assign all of them together (for a GPU, its audio function too). pcie_acs_override=multifunction would split them, but only pretends isolation.");
      break;
    default:
      break;
  }
  if (!out.length) out.push("Assign every device of the group together, with vfio-pci bound to each endpoint (bridges and ports may keep their drivers).");
  return out;
}
