// Builds the flat Topology from imported function records: recognises VFs, infers the
// multifunction flag where the input lacks the header byte, and orders functions as the kernel
// probes them.

import { formatBdf, pciFunc, pciSlot } from "./address.js";
import { emptyFunction, type HostInput, type PciFunction } from "./function.js";
import { NOT_PCIE, PCI_EXP_TYPE_ENDPOINT, PCI_HEADER_TYPE_BRIDGE } from "./regs.js";
import { blankFields, FN_ACS_CTRL8, FN_BRIDGE, FN_HAS_ACS, FN_HIDDEN, FN_MF_INFERRED, FN_MULTIFUNCTION, FN_VIRTFN, Topology, TopologyError } from "./topology.js";
import { hasEnabledVfs, vfAddress } from "./vfs.js";

const keyOf = (domain: number, bus: number, devfn: number): number => (domain * 256 + bus) * 256 + devfn;

export interface HostTopology {
  topology: Topology;
  /** Notes about what was inferred (missing VFs, guessed multifunction flags). */
  warnings: string[];
}

export function topologyFromHost(host: HostInput): HostTopology {
  const warnings: string[] = [];
  const byKey = new Map<number, PciFunction>();
  for (const f of host.functions) {
    const k = keyOf(f.domain, f.bus, f.devfn);
    const prev = byKey.get(k);
    if (prev) {
      throw new TopologyError(`${formatBdf(f.domain, f.bus, f.devfn)} appears twice (first at line ${prev.source.line ?? "?"})`, f.source.file, f.source.line);
    }
    byKey.set(k, f);
  }

  // 1. VFs: every function at an address an enabled PF computes is that PF's VF.
  const vfOf = new Map<PciFunction, { pf: PciFunction; index: number }>();
  const pfs = host.functions.filter((f) => !f.isVirtfn && hasEnabledVfs(f));
  const synthesized: PciFunction[] = [];
  for (const pf of pfs) {
    const s = pf.sriov!;
    for (let n = 0; n < s.numVfs; n++) {
      const a = vfAddress(pf.bus, pf.devfn, s.firstVfOffset, s.vfStride, n);
      if (!a) {
        warnings.push(`${bdfOf(pf)}: VF ${n} would sit on a bus above ff; the kernel refuses to enable it`);
        break;
      }
      let vf = byKey.get(keyOf(pf.domain, a.bus, a.devfn));
      if (!vf) {
        if (!host.source.startsWith("topology") && host.source !== "sample") {
          warnings.push(`${bdfOf(pf)} has ${s.numVfs} VFs enabled but VF ${n} (${formatBdf(pf.domain, a.bus, a.devfn)}) is not in the input`);
          continue;
        }
        vf = emptyFunction(pf.domain, a.bus, a.devfn, pf.source);
        vf.pcie = { offset: 0, type: PCI_EXP_TYPE_ENDPOINT, version: 2, slotImplemented: false, ariForwardingSupported: false, ariForwardingEnabled: false };
        vf.classCode = pf.classCode;
        vf.headerType = 0;
        vf.multifunctionBit = false;
        synthesized.push(vf);
        byKey.set(keyOf(vf.domain, vf.bus, vf.devfn), vf);
      }
      if (vf === pf) continue;
      vfOf.set(vf, { pf, index: n });
    }
  }
  const all = synthesized.length ? host.functions.concat(synthesized) : host.functions;
  const boot = all.filter((f) => !vfOf.has(f));
  for (const f of boot) {
    if (f.isVirtfn) warnings.push(`${bdfOf(f)} is marked as a VF but no enabled PF in the input computes its address`);
  }
  boot.sort((a, b) => keyOf(a.domain, a.bus, a.devfn) - keyOf(b.domain, b.bus, b.devfn));
  const vfs = [...vfOf.entries()].sort((x, y) => boot.indexOf(x[1].pf) - boot.indexOf(y[1].pf) || x[1].index - y[1].index);

  // 2. Multifunction, per pci-topology.md §2 (pci_setup_device(), pci_scan_slot(), next_ari_fn()).
  const bridgeBySecondary = new Map<number, PciFunction>();
  for (const f of boot) {
    if (f.headerType === PCI_HEADER_TYPE_BRIDGE && f.secondaryBus > f.bus) bridgeBySecondary.set(f.domain * 256 + f.secondaryBus, f);
  }
  const bootKeys = new Set(boot.map((f) => keyOf(f.domain, f.bus, f.devfn)));
  const busHasOtherFunctions = (f: PciFunction): boolean => {
    for (let d = 0; d < 256; d++) if (d !== f.devfn && bootKeys.has(keyOf(f.domain, f.bus, d))) return true;
    return false;
  };
  const slotHasOtherFunctions = (f: PciFunction): boolean => {
    for (let fn = 0; fn < 8; fn++) {
      const d = (pciSlot(f.devfn) << 3) | fn;
      if (d !== f.devfn && bootKeys.has(keyOf(f.domain, f.bus, d))) return true;
    }
    return false;
  };
  const mf = new Map<PciFunction, { value: boolean; inferred: boolean }>();
  for (const f of boot) {
    const parent = bridgeBySecondary.get(f.domain * 256 + f.bus);
    const ari = parent?.pcie?.ariForwardingEnabled === true;
    if (f.devfn !== 0 && (ari || pciFunc(f.devfn) !== 0)) {
      mf.set(f, { value: true, inferred: f.multifunctionBit === null });
    } else if (f.multifunctionBit !== null) {
      mf.set(f, { value: f.multifunctionBit, inferred: false });
    } else {
      const others = ari ? busHasOtherFunctions(f) : slotHasOtherFunctions(f);
      mf.set(f, { value: others, inferred: true });
    }
  }

  // 3. Fill the arrays in probe order.
  const order = boot.concat(vfs.map((v) => v[0]));
  const topo = new Topology(order.length);
  const index = new Map<PciFunction, number>();
  const fields = blankFields();
  for (const f of order) {
    const vf = vfOf.get(f);
    fields.domain = f.domain;
    fields.bus = f.bus;
    fields.devfn = f.devfn;
    fields.vendor = vf ? vf.pf.vendor : f.vendor;
    fields.device = vf ? vf.pf.sriov!.vfDeviceId : f.device;
    fields.subVendor = f.subsystemVendor ?? 0;
    fields.subDevice = f.subsystemDevice ?? 0;
    fields.classCode = f.classCode;
    fields.pcieType = f.pcie ? f.pcie.type : vf ? PCI_EXP_TYPE_ENDPOINT : NOT_PCIE;
    let flags = 0;
    const m = mf.get(f);
    if (m?.value) flags |= FN_MULTIFUNCTION;
    if (m?.inferred) flags |= FN_MF_INFERRED;
    if (vf) flags |= FN_VIRTFN;
    if (f.headerType === PCI_HEADER_TYPE_BRIDGE) flags |= FN_BRIDGE;
    if (f.acs) flags |= FN_HAS_ACS;
    if (f.acs?.ctrlDword8 !== undefined) flags |= FN_ACS_CTRL8;
    if (f.hidden.length) flags |= FN_HIDDEN;
    fields.flags = flags;
    fields.acsCap = f.acs?.cap ?? 0;
    fields.acsCtrl = f.acs?.ctrl ?? 0;
    fields.acsCtrl8 = f.acs?.ctrlDword8 ?? 0;
    fields.secondaryBus = f.headerType === PCI_HEADER_TYPE_BRIDGE ? f.secondaryBus : -1;
    fields.subordinateBus = f.headerType === PCI_HEADER_TYPE_BRIDGE ? f.subordinateBus : -1;
    fields.physfn = vf ? index.get(vf.pf)! : -1;
    index.set(f, topo.add(fields));
    if (vf) f.isVirtfn = true;
  }
  topo.records = order;
  topo.link((i) => order[i]!.source);
  return { topology: topo, warnings };
}

const bdfOf = (f: PciFunction): string => formatBdf(f.domain, f.bus, f.devfn);
