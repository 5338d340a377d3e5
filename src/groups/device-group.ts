// pci_device_group() (drivers/iommu/iommu.c) run over every function in probe order. Groups are
// never merged: each device joins the first existing group found, or starts a new one.

import { NOT_PCIE, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE } from "../pci/regs.js";
import { FN_MULTIFUNCTION, type Topology } from "../pci/topology.js";
import type { AcsState } from "./acs.js";
import { BRIDGE_NO_ALIAS, BRIDGE_XLATE_ROOT, hasAlias, type AliasInfo } from "./aliases.js";

/** How a device got its group. */
export const enum Join {
  NewGroup = 0,
  /** Step 1: an aliasing bridge above it (PCIe-to-PCI / conventional bridge) already had a group. */
  AliasBridge = 1,
  /** Step 2: a bridge above it fails the ACS path check and already had a group. */
  UpstreamNotIsolated = 2,
  /** Step 3: a DMA alias on the same bus. */
  BusAlias = 3,
  /** Step 4: a function of the same multifunction slot without ACS. */
  SameSlot = 4,
  /** The IOMMU driver gives it no group at all. */
  NoGroup = 5,
}

export class GroupAssignment {
  readonly groupOf: Int32Array;
  readonly join: Uint8Array;
  /** The device whose existing group was joined (-1 for new groups). */
  readonly via: Int32Array;
  /** After the alias walk and ACS walk: the device whose isolation was checked last (P). */
  readonly anchor: Int32Array;
  groupCount = 0;

  constructor(n: number) {
    this.groupOf = new Int32Array(n).fill(-1);
    this.join = new Uint8Array(n);
    this.via = new Int32Array(n).fill(-1);
    this.anchor = new Int32Array(n).fill(-1);
  }
}

export function assignGroups(topo: Topology, acs: AcsState, aliases: AliasInfo, noGroup: Uint8Array): GroupAssignment {
  const n = topo.count;
  const a = new GroupAssignment(n);
  const { groupOf } = a;
  const visited = new Uint8Array(32);
  const acsOk = acs.enabled;
  const flags = topo.flags;
  let current = 0;
  let via: number;

  const exists = (t: number): boolean => t < topo.bootCount || t <= current;

  const aliasGroup = (p: number): number => {
    const devfn = topo.devfn[p]!;
    if (visited[devfn >> 3]! & (1 << (devfn & 7))) return -1;
    visited[devfn >> 3]! |= 1 << (devfn & 7);
    if (groupOf[p]! >= 0) {
      via = p;
      return groupOf[p]!;
    }
    const b = topo.busOf[p]!;
    if (!aliases.busesWithAliases.has(b)) return -1;
    const pm = aliases.masks.get(p);
    for (let t = topo.busHead[b]!; t !== -1; t = topo.busNext[t]!) {
      if (t === p || !exists(t)) continue;
      if (!hasAlias(pm, topo.devfn[t]!) && !hasAlias(aliases.masks.get(t), devfn)) continue;
      let g = aliasGroup(t);
      if (g >= 0) return g;
      g = functionGroup(t);
      if (g >= 0) return g;
    }
    return -1;
  };

  const functionGroup = (p: number): number => {
    if (!(flags[p]! & FN_MULTIFUNCTION) || acsOk[p]) return -1;
    for (let t = topo.slotHead[p]!; t !== -1; t = topo.slotNext[t]!) {
      if (t === p || !exists(t) || acsOk[t]) continue;
      const g = aliasGroup(t);
      if (g >= 0) return g;
    }
    return -1;
  };

  for (let f = 0; f < n; f++) {
    current = f;
    if (noGroup[f]) {
      a.join[f] = Join.NoGroup;
      continue;
    }
    // 1. pci_for_each_dma_alias() with get_pci_alias_or_group(): aliasing bridges above F.
    let last = f;
    let found = -1;
    let bus = topo.busOf[f]!;
    while (topo.busParent[bus] !== -1) {
      const br = topo.busSelf[bus]!;
      if (br >= 0) {
        if (aliases.bridgeFlags[br]! & BRIDGE_XLATE_ROOT) break;
        const type = topo.pcieType[br]!;
        const aliasing = type === NOT_PCIE || type === PCI_EXP_TYPE_PCIE_BRIDGE || (type === PCI_EXP_TYPE_PCI_BRIDGE && !(aliases.bridgeFlags[br]! & BRIDGE_NO_ALIAS));
        if (aliasing) {
          last = br;
          if (groupOf[br]! >= 0) {
            found = groupOf[br]!;
            a.join[f] = Join.AliasBridge;
            a.via[f] = br;
            break;
          }
        }
      }
      bus = topo.busParent[bus]!;
    }
    if (found < 0) {
      // 2. Walk up while the path to the root is not ACS-isolated.
      let p = last;
      bus = topo.busOf[p]!;
      while (topo.busParent[bus] !== -1) {
        const br = topo.busSelf[bus]!;
        if (br >= 0) {
          if (acs.pathEnabled(br)) break;
          p = br;
          if (groupOf[br]! >= 0) {
            found = groupOf[br]!;
            a.join[f] = Join.UpstreamNotIsolated;
            a.via[f] = br;
            break;
          }
        }
        bus = topo.busParent[bus]!;
      }
      a.anchor[f] = p;
      if (found < 0) {
        // 3./4. Same-bus DMA aliases, then multifunction siblings without ACS.
        visited.fill(0);
        via = -1;
        found = aliasGroup(p);
        if (found >= 0) a.join[f] = Join.BusAlias;
        else {
          found = functionGroup(p);
          if (found >= 0) a.join[f] = Join.SameSlot;
        }
        if (found >= 0) a.via[f] = via;
      }
    }
    if (found < 0) {
      found = a.groupCount++;
      a.join[f] = Join.NewGroup;
    }
    groupOf[f] = found;
  }
  return a;
}
