// Plain-word descriptions of one function's isolation facts, shared by group reasons and --explain.

import { acsFlagsShort, NOT_PCIE, pcieTypeName, PCI_ACS_EC, REQ_ACS_FLAGS } from "../pci/regs.js";
import { FN_HAS_ACS, FN_MULTIFUNCTION, type Topology } from "../pci/topology.js";
import { AcsWhy, type AcsState } from "./acs.js";

export function kindOf(topo: Topology, i: number): string {
  const t = topo.pcieType[i]!;
  const claimed = topo.claimedPcieType[i]!;
  let s = t === NOT_PCIE ? (topo.flags[i]! & 4 ? "conventional PCI bridge" : "conventional PCI function") : pcieTypeName(t);
  if (claimed !== t) s += ` (claims ${pcieTypeName(claimed)}; the kernel's set_pcie_port_type() rewrite leaves it reading as ${pcieTypeName(t)})`;
  if (topo.flags[i]! & FN_MULTIFUNCTION) s = `multifunction ${s}`;
  return s;
}

/** Why pci_acs_enabled(dev, REQ_ACS_FLAGS) is what it is, in words. */
export function describeAcs(topo: Topology, acs: AcsState, i: number): string {
  const ok = acs.enabled[i] === 1;
  const verdict = ok ? "isolates" : "does not isolate";
  const kind = kindOf(topo, i);
  switch (acs.why[i] as AcsWhy) {
    case AcsWhy.Quirk: {
      const e = acs.quirkEntry(i)!;
      return `${kind} ${verdict}: decided by the kernel's ACS quirk for ${e.what} (pci_quirk_${e.handler}_acs)`;
    }
    case AcsWhy.OverrideId:
      return `${kind} isolates only because pcie_acs_override=id: names it (no real ACS)`;
    case AcsWhy.OverrideDownstream:
      return `${kind} isolates only because of pcie_acs_override=downstream (no ACS capability)`;
    case AcsWhy.OverrideMultifunction:
      return `${kind} isolates only because of pcie_acs_override=multifunction (no ACS capability)`;
    case AcsWhy.NotPcie:
      return `${kind}: not PCI Express, so the kernel never treats it as ACS-isolated`;
    case AcsWhy.BridgeTypeNever:
      return `${kind}: this bridge type is never ACS-isolated (pci_acs_enabled)`;
    case AcsWhy.SingleFunction:
      return `single-function ${kind} ${verdict}: it cannot send peer-to-peer traffic inside its own slot`;
    case AcsWhy.OtherType:
      return `${kind} counts as isolated (pci_acs_enabled passes this type)`;
    case AcsWhy.PortFlags:
    case AcsWhy.MultifunctionFlags: {
      if (!(topo.flags[i]! & FN_HAS_ACS)) return `${kind} has no ACS capability, so it ${verdict}`;
      const need = REQ_ACS_FLAGS & (acs.cap[i]! | PCI_ACS_EC);
      const missing = need & ~acs.ctrl[i]!;
      if (!missing) {
        const hardwired = REQ_ACS_FLAGS & ~acs.cap[i]!;
        return `${kind} ${verdict}: ACS ${acsFlagsShort(need)} enabled` + (hardwired ? ` (${acsFlagsShort(hardwired)} not implemented, counted as hard-wired)` : "");
      }
      return `${kind} ${verdict}: ACS capability present but ${acsFlagsShort(missing)} not enabled (control ${acsFlagsShort(acs.ctrl[i]!)})`;
    }
    default:
      return `${kind} ${verdict}`;
  }
}

/** First function on the path from i to the root whose ACS check fails, or -1. */
export function firstNonIsolating(topo: Topology, acs: AcsState, i: number): number {
  let d = i;
  while (d >= 0) {
    if (!acs.enabled[d]) return d;
    const b = topo.busOf[d]!;
    if (topo.busParent[b] === -1) return -1;
    d = topo.busSelf[b]!;
  }
  return -1;
}
