// Synthetic hosts of any size with a realistic mix: root ports with and without ACS, switches,
// multifunction endpoints, SR-IOV PFs with VFs, PCIe-to-PCI bridges with conventional devices.
// Functions are produced in probe order through a callback with one reused record, so a
// million-function host is generated without an object per function.

import { NOT_PCIE, PCI_ACS_CR, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_UF, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM } from "../pci/regs.js";
import { blankFields, FN_BRIDGE, FN_HAS_ACS, FN_MULTIFUNCTION, FN_VIRTFN, type FunctionFields } from "../pci/topology.js";

export interface SynthSriov {
  numVfs: number;
  offset: number;
  stride: number;
  vfDeviceId: number;
}

/** Receives each function; `f` is reused between calls. `sriov` is set for PFs. */
export type SynthSink = (f: FunctionFields, sriov: SynthSriov | null) => void;

const STD_ACS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/** Small fast deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Subtree = { kind: 0 | 1 | 2 | 3 | 4; width: number; acs: boolean; buses: number };

/** Generates about `target` functions (at least that many, overshooting by under one domain); returns the count. */
export function generateSyntheticHost(target: number, sink: SynthSink, seed = 1): number {
  const rnd = prng(seed);
  const f = blankFields();
  let produced = 0;
  let index = 0;
  let pendingVfs = 0;
  const vfQueue: { pf: number; domain: number; bus: number; devfn: number; s: SynthSriov }[] = [];
  const emit = (domain: number, bus: number, devfn: number, vendor: number, device: number, cls: number, type: number, flags: number, acs: boolean, sec = -1, sub = -1, sriov: SynthSriov | null = null): number => {
    f.domain = domain; f.bus = bus; f.devfn = devfn; f.vendor = vendor; f.device = device; f.classCode = cls; f.pcieType = type;
    f.flags = flags | (acs ? FN_HAS_ACS : 0) | (sec >= 0 ? FN_BRIDGE : 0);
    f.acsCap = acs ? STD_ACS : 0; f.acsCtrl = acs ? STD_ACS : 0; f.acsCtrl8 = 0; f.secondaryBus = sec; f.subordinateBus = sub; f.physfn = -1;
    f.subVendor = 0; f.subDevice = 0;
    sink(f, sriov);
    produced++;
    return index++;
  };
  for (let domain = 0; produced + pendingVfs < target && domain < 0x10000; domain++) {
    // Plan the root ports of this domain so bus numbers stay below 256.
    const plan: Subtree[] = [];
    let nextBus = 1;
    for (let slot = 1; slot < 0x1c; slot++) {
      const r = rnd();
      const kind = (r < 0.3 ? 0 : r < 0.5 ? 1 : r < 0.7 ? 2 : r < 0.9 ? 3 : 4) as Subtree["kind"];
      const width = kind === 3 ? 2 + Math.floor(rnd() * 4) : kind === 2 ? 4 + Math.floor(rnd() * 12) : 2 + Math.floor(rnd() * 3);
      const buses = kind === 3 ? 2 + width : kind === 4 ? 2 : 1;
      if (nextBus + buses > 0xff) break;
      plan.push({ kind, width, acs: rnd() < 0.75, buses });
      nextBus += buses;
    }
    // Root bus: host bridge, the root ports, a multifunction chipset slot (conventional PCI).
    emit(domain, 0, 0, 0x8086, 0x3e30, 0x060000, NOT_PCIE, 0, false);
    let bus = 1;
    plan.forEach((p, k) => {
      emit(domain, 0, (k + 1) << 3, 0x8086, 0x1901, 0x060400, PCI_EXP_TYPE_ROOT_PORT, 0, p.acs, bus, bus + p.buses - 1);
      bus += p.buses;
    });
    for (let fn = 0; fn < 4; fn++) emit(domain, 0, (0x1f << 3) | fn, 0x8086, 0xa305 + fn, 0x060100, NOT_PCIE, FN_MULTIFUNCTION, false);
    // Below each root port, in bus order.
    bus = 1;
    for (const p of plan) {
      const b = bus;
      switch (p.kind) {
        case 0: // single-function endpoint
          emit(domain, b, 0, 0x144d, 0xa808, 0x010802, PCI_EXP_TYPE_ENDPOINT, 0, false);
          break;
        case 1: // multifunction endpoint without ACS (a GPU and its audio, a dual-port NIC)
          for (let fn = 0; fn < p.width; fn++) emit(domain, b, fn, 0x10de, 0x2484 + fn, 0x030000, PCI_EXP_TYPE_ENDPOINT, FN_MULTIFUNCTION, false);
          break;
        case 2: { // SR-IOV PF; its VFs come after every boot-time function
          const s: SynthSriov = { numVfs: p.width, offset: 1, stride: 1, vfDeviceId: 0x101e };
          const pf = emit(domain, b, 0, 0x15b3, 0x101d, 0x020000, PCI_EXP_TYPE_ENDPOINT, 0, false, -1, -1, s);
          vfQueue.push({ pf, domain, bus: b, devfn: 0, s });
          pendingVfs += s.numVfs;
          break;
        }
        case 3: { // switch: upstream port, downstream ports (ACS on some), one endpoint each
          emit(domain, b, 0, 0x10b5, 0x8747, 0x060400, PCI_EXP_TYPE_UPSTREAM, 0, false, b + 1, b + p.buses - 1);
          for (let d = 0; d < p.width; d++) emit(domain, b + 1, d << 3, 0x10b5, 0x8748, 0x060400, PCI_EXP_TYPE_DOWNSTREAM, 0, d % 2 === 0, b + 2 + d, b + 2 + d);
          for (let d = 0; d < p.width; d++) emit(domain, b + 2 + d, 0, 0x8086, 0x1533, 0x020000, PCI_EXP_TYPE_ENDPOINT, 0, false);
          break;
        }
        case 4: // PCIe-to-PCI bridge with conventional PCI devices behind it
          emit(domain, b, 0, 0x1a03, 0x1150, 0x060400, PCI_EXP_TYPE_PCI_BRIDGE, 0, false, b + 1, b + 1);
          for (let d = 0; d < p.width; d++) emit(domain, b + 1, (d + 1) << 3, 0x1a03, 0x2000, 0x030000, NOT_PCIE, 0, false);
          break;
      }
      bus += p.buses;
    }
  }
  for (const v of vfQueue) {
    for (let n = 0; n < v.s.numVfs; n++) {
      const r = v.devfn + v.s.offset + v.s.stride * n;
      f.domain = v.domain; f.bus = v.bus + (r >> 8); f.devfn = r & 0xff; f.vendor = 0x15b3; f.device = v.s.vfDeviceId; f.classCode = 0x020000;
      f.pcieType = PCI_EXP_TYPE_ENDPOINT; f.flags = FN_VIRTFN; f.acsCap = 0; f.acsCtrl = 0; f.secondaryBus = -1; f.subordinateBus = -1; f.physfn = v.pf;
      sink(f, null);
      produced++;
      index++;
    }
  }
  return produced;
}
