// DMA aliases: the per-device alias mask (header-fixup quirks, AMD IVRS) and the bridge flags
// that change pci_for_each_dma_alias() (search.c).

import { pciDevfn, pciFunc, pciSlot } from "../pci/address.js";
import { NOT_PCIE, PCI_EXP_TYPE_PCI_BRIDGE } from "../pci/regs.js";
import { FN_BRIDGE, type Topology } from "../pci/topology.js";
import { kernelAtLeast, type KernelVersion } from "../pci/version.js";
import { ADAPTEC_FIXED_ALIAS_SUBSYSTEMS, ALIAS_QUIRK_TABLE, BRIDGE_FLAG_TABLE, SWITCHTEC_NTB_IDS, type AliasQuirkEntry } from "./quirks/alias-table.js";

export const BRIDGE_PCIE_ALIAS = 1;
export const BRIDGE_XLATE_ROOT = 2;
export const BRIDGE_NO_ALIAS = 4;

export interface AliasInfo {
  /** Sparse: function index → 256-bit devfn mask on its own bus. */
  masks: Map<number, Uint8Array>;
  /** Which quirk added each function's aliases (for explanations). */
  maskWhy: Map<number, string>;
  /** Buses (index) that hold at least one function with an alias mask. */
  busesWithAliases: Set<number>;
  bridgeFlags: Uint8Array;
  /** Functions whose aliases the input cannot carry (Switchtec NTB proxy IDs in MMIO). */
  unknowable: Map<number, string>;
}

export function setAlias(mask: Uint8Array, devfn: number): void {
  mask[devfn >> 3]! |= 1 << (devfn & 7);
}

export function hasAlias(mask: Uint8Array | undefined, devfn: number): boolean {
  return mask !== undefined && (mask[devfn >> 3]! & (1 << (devfn & 7))) !== 0;
}

export function computeAliases(topo: Topology, kernel: KernelVersion, extra: (i: number) => readonly number[] | undefined): AliasInfo {
  const info: AliasInfo = { masks: new Map(), maskWhy: new Map(), busesWithAliases: new Set(), bridgeFlags: new Uint8Array(topo.count), unknowable: new Map() };
  const byVendor = new Map<number, AliasQuirkEntry[]>();
  for (const e of ALIAS_QUIRK_TABLE) {
    if (!kernelAtLeast(kernel, e.since[0], e.since[1])) continue;
    const l = byVendor.get(e.vendor);
    if (l) l.push(e);
    else byVendor.set(e.vendor, [e]);
  }
  const add = (i: number, devfns: number[], why: string): void => {
    if (!devfns.length) return;
    let m = info.masks.get(i);
    if (!m) info.masks.set(i, (m = new Uint8Array(32)));
    for (const d of devfns) setAlias(m, d);
    info.maskWhy.set(i, info.maskWhy.has(i) ? `${info.maskWhy.get(i)}; ${why}` : why);
    info.busesWithAliases.add(topo.busOf[i]!);
  };
  for (let i = 0; i < topo.count; i++) {
    const v = topo.vendor[i]!;
    const d = topo.device[i]!;
    const devfn = topo.devfn[i]!;
    const entries = byVendor.get(v);
    if (entries) {
      for (const e of entries) if (e.devices.includes(d)) add(i, aliasDevfns(e, topo, i, devfn), e.what);
    }
    if (v === 0x11f8 && SWITCHTEC_NTB_IDS.has(d) && topo.classCode[i]! >> 8 === 0x0680) {
      info.unknowable.set(i, "Switchtec NTB: its proxy-ID DMA aliases live in device MMIO, not in config space");
    }
    if (v === 0x1055 && d >= 0x1001 && d <= 0x1006) {
      info.unknowable.set(i, "Switchtec NTB: its proxy-ID DMA aliases live in device MMIO, not in config space");
    }
    const ex = extra(i);
    if (ex?.length) add(i, [...ex], "alias given by the input (e.g. AMD IVRS)");
  }
  // Bridge flags (header fixups).
  const flagVendors = new Set(BRIDGE_FLAG_TABLE.map((e) => e.vendor));
  for (let i = 0; i < topo.count; i++) {
    if (!flagVendors.has(topo.vendor[i]!)) continue;
    for (const e of BRIDGE_FLAG_TABLE) {
      if (e.vendor !== topo.vendor[i] || !e.devices.includes(topo.device[i]!) || !kernelAtLeast(kernel, e.since[0], e.since[1])) continue;
      if (e.flag === "pcie_bridge_alias") {
        // quirk_use_pcie_bridge_dma_alias(): a conventional bridge below a PCIe (non PCIe-to-PCI) bridge.
        const up = topo.upstreamBridge(i);
        if (!topo.isRootBus(topo.busOf[i]!) && topo.flags[i]! & FN_BRIDGE && topo.pcieType[i] === NOT_PCIE && up >= 0 && topo.pcieType[up] !== NOT_PCIE && topo.pcieType[up] !== PCI_EXP_TYPE_PCI_BRIDGE) {
          info.bridgeFlags[i]! |= BRIDGE_PCIE_ALIAS;
        }
      } else if (e.flag === "xlate_root") info.bridgeFlags[i]! |= BRIDGE_XLATE_ROOT;
      else info.bridgeFlags[i]! |= BRIDGE_NO_ALIAS;
    }
  }
  return info;
}

function aliasDevfns(e: AliasQuirkEntry, topo: Topology, i: number, devfn: number): number[] {
  switch (e.kind) {
    case "func0":
      return pciFunc(devfn) !== 0 ? [pciDevfn(pciSlot(devfn), 0)] : [];
    case "func1":
      return pciFunc(devfn) !== 1 ? [pciDevfn(pciSlot(devfn), 1)] : [];
    case "fixed":
      return ADAPTEC_FIXED_ALIAS_SUBSYSTEMS.some(([sv, sd]) => topo.subVendor[i] === sv && topo.subDevice[i] === sd) ? [pciDevfn(1, 0)] : [];
    case "mic_x200":
      return [pciDevfn(0x10, 0), pciDevfn(0x11, 0), pciDevfn(0x12, 3)];
    case "pex_vca": {
      const out: number[] = [];
      for (let s = 0; s < 32; s++) for (let f = 0; f < 5; f++) out.push(pciDevfn(s, f));
      return out;
    }
    case "plx_ntb":
      return Array.from({ length: 256 }, (_, k) => k);
    case "switchtec_ntb":
      return [];
  }
}
