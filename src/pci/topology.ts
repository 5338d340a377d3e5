// The PCI tree as flat arrays, in the kernel's probe order (boot-time functions in enumeration
// order, then SR-IOV VFs). Index i is a function; buses are a second index space. Grouping
// (src/groups) works only on these arrays, so a million-function host costs a few dozen bytes
// per function and no object graph.

import { formatBdf } from "./address.js";
import type { PciFunction } from "./function.js";
import { NOT_PCIE, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_PCIE_BRIDGE, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM } from "./regs.js";

export const FN_MULTIFUNCTION = 1 << 0;
export const FN_VIRTFN = 1 << 1;
/** Type 1 header (PCI-PCI bridge or port). */
export const FN_BRIDGE = 1 << 2;
export const FN_HAS_ACS = 1 << 3;
/** The input hides something about this function (see its record's `hidden`). */
export const FN_HIDDEN = 1 << 4;
/** Multifunction flag inferred, not read from the header. */
export const FN_MF_INFERRED = 1 << 5;
/** ACS control dword at +8 is known (Intel SPT quirk). */
export const FN_ACS_CTRL8 = 1 << 6;

export class TopologyError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = "TopologyError";
  }
}

/** Values of one function handed to the builder (reused, no allocation per function). */
export interface FunctionFields {
  domain: number;
  bus: number;
  devfn: number;
  vendor: number;
  device: number;
  subVendor: number;
  subDevice: number;
  classCode: number;
  /** Claimed PCIe type, NOT_PCIE for conventional. */
  pcieType: number;
  flags: number;
  acsCap: number;
  acsCtrl: number;
  acsCtrl8: number;
  secondaryBus: number;
  subordinateBus: number;
  /** Index (in this topology) of the PF for a VF, else -1. */
  physfn: number;
}

export function blankFields(): FunctionFields {
  return {
    domain: 0, bus: 0, devfn: 0, vendor: 0xffff, device: 0xffff, subVendor: 0, subDevice: 0, classCode: 0,
    pcieType: NOT_PCIE, flags: 0, acsCap: 0, acsCtrl: 0, acsCtrl8: 0, secondaryBus: -1, subordinateBus: -1, physfn: -1,
  };
}

export class Topology {
  count = 0;
  domain: Uint16Array;
  bus: Uint8Array;
  devfn: Uint8Array;
  vendor: Uint16Array;
  device: Uint16Array;
  subVendor: Uint16Array;
  subDevice: Uint16Array;
  classCode: Uint32Array;
  /** PCIe type after set_pcie_port_type() correction; NOT_PCIE for conventional. */
  pcieType: Uint8Array;
  /** PCIe type as the function claims it. */
  claimedPcieType: Uint8Array;
  flags: Uint16Array;
  acsCap: Uint16Array;
  acsCtrl: Uint16Array;
  acsCtrl8: Uint32Array;
  secondaryBus: Int16Array;
  subordinateBus: Int16Array;
  physfn: Int32Array;
  /** Bus index of the function's bus. */
  busOf: Int32Array;
  /** Bus index of the bridge's secondary bus, -1 if none has functions. */
  childBus: Int32Array;
  /** Next function on the same bus, and on the same bus and slot, in probe order (-1 = end). */
  busNext: Int32Array;
  slotNext: Int32Array;
  /** First function of the same bus/slot in probe order. */
  slotHead: Int32Array;

  busCount = 0;
  busNumber: Int32Array;
  busDomain: Int32Array;
  /** The bridge above the bus (bus->self), -1 for root buses and VF virtual buses. */
  busSelf: Int32Array;
  /** Parent bus index, -1 for root buses. */
  busParent: Int32Array;
  busHead: Int32Array;
  busTail: Int32Array;
  /** 1 for a VF virtual bus (no bridge, parent = PF's bus). */
  busVirtual: Uint8Array;

  /** Functions [0, bootCount) exist at boot; the rest are VFs added later. */
  bootCount = 0;
  /** Import records in topology order, when built from an import (absent for synthetic hosts). */
  records: PciFunction[] | null = null;

  constructor(capacity: number) {
    const n = Math.max(1, capacity);
    this.domain = new Uint16Array(n);
    this.bus = new Uint8Array(n);
    this.devfn = new Uint8Array(n);
    this.vendor = new Uint16Array(n);
    this.device = new Uint16Array(n);
    this.subVendor = new Uint16Array(n);
    this.subDevice = new Uint16Array(n);
    this.classCode = new Uint32Array(n);
    this.pcieType = new Uint8Array(n);
    this.claimedPcieType = new Uint8Array(n);
    this.flags = new Uint16Array(n);
    this.acsCap = new Uint16Array(n);
    this.acsCtrl = new Uint16Array(n);
    this.acsCtrl8 = new Uint32Array(n);
    this.secondaryBus = new Int16Array(n);
    this.subordinateBus = new Int16Array(n);
    this.physfn = new Int32Array(n);
    this.busOf = new Int32Array(n);
    this.childBus = new Int32Array(n);
    this.busNext = new Int32Array(n);
    this.slotNext = new Int32Array(n);
    this.slotHead = new Int32Array(n);
    this.busNumber = new Int32Array(n);
    this.busDomain = new Int32Array(n);
    this.busSelf = new Int32Array(n);
    this.busParent = new Int32Array(n);
    this.busHead = new Int32Array(n);
    this.busTail = new Int32Array(n);
    this.busVirtual = new Uint8Array(n);
  }

  bdf(i: number): string {
    return formatBdf(this.domain[i]!, this.bus[i]!, this.devfn[i]!);
  }

  /** The bridge directly above function i (pci_upstream_bridge), or -1. */
  upstreamBridge(i: number): number {
    return this.busSelf[this.busOf[i]!]!;
  }

  isRootBus(b: number): boolean {
    return this.busParent[b] === -1;
  }

  /** Index of a function by full BDF, or -1 (linear; for the CLI, not hot paths). */
  indexOf(bdf: string): number {
    for (let i = 0; i < this.count; i++) if (this.bdf(i) === bdf) return i;
    return -1;
  }

  /** Appends one function; call in probe order. Grows the arrays when full. */
  add(f: FunctionFields): number {
    if (this.count === this.domain.length) this.grow(this.count * 2);
    const i = this.count++;
    this.domain[i] = f.domain;
    this.bus[i] = f.bus;
    this.devfn[i] = f.devfn;
    this.vendor[i] = f.vendor;
    this.device[i] = f.device;
    this.subVendor[i] = f.subVendor;
    this.subDevice[i] = f.subDevice;
    this.classCode[i] = f.classCode;
    this.pcieType[i] = f.pcieType;
    this.claimedPcieType[i] = f.pcieType;
    this.flags[i] = f.flags;
    this.acsCap[i] = f.acsCap;
    this.acsCtrl[i] = f.acsCtrl;
    this.acsCtrl8[i] = f.acsCtrl8 >>> 0;
    this.secondaryBus[i] = f.secondaryBus;
    this.subordinateBus[i] = f.subordinateBus;
    this.physfn[i] = f.physfn;
    if (!(f.flags & FN_VIRTFN)) this.bootCount = i + 1;
    return i;
  }

  private grow(capacity: number): void {
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(self)) {
      if (!ArrayBuffer.isView(v) || v instanceof DataView) continue;
      const old = v as unknown as { length: number; constructor: new (n: number) => { set(a: ArrayLike<number>): void } };
      const next = new old.constructor(capacity);
      next.set(old as unknown as ArrayLike<number>);
      self[k] = next;
    }
  }

  /**
   * Links functions into buses and bridges (pci_scan_bridge's tree), finds root and VF virtual
   * buses, checks the bridge windows, and applies set_pcie_port_type(). Throws TopologyError for
   * input no PCI hierarchy can have.
   */
  link(where: (i: number) => { file?: string; line?: number } = () => ({})): void {
    const n = this.count;
    const busIndex = new Map<number, number>();
    const key = (domain: number, bus: number): number => domain * 256 + bus;
    const slotIndex = new Map<number, number>();
    const slotTail = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const k = key(this.domain[i]!, this.bus[i]!);
      let b = busIndex.get(k);
      if (b === undefined) {
        b = this.busCount++;
        busIndex.set(k, b);
        this.busNumber[b] = this.bus[i]!;
        this.busDomain[b] = this.domain[i]!;
        this.busSelf[b] = -1;
        this.busParent[b] = -2;
        this.busHead[b] = i;
        this.busVirtual[b] = 0;
      } else {
        this.busNext[this.busTail[b]!] = i;
      }
      this.busTail[b] = i;
      this.busNext[i] = -1;
      this.busOf[i] = b;
      const sk = b * 32 + (this.devfn[i]! >> 3);
      const head = slotIndex.get(sk);
      this.slotNext[i] = -1;
      if (head === undefined) {
        slotIndex.set(sk, i);
        this.slotHead[i] = i;
      } else {
        this.slotNext[slotTail.get(sk)!] = i;
        this.slotHead[i] = head;
      }
      slotTail.set(sk, i);
      this.childBus[i] = -1;
    }
    // Bridges claim their secondary bus (bus->self); windows mark which buses lie below whom.
    const coverage = new Map<number, Int32Array>();
    for (let i = 0; i < this.bootCount; i++) {
      if (!(this.flags[i]! & FN_BRIDGE)) continue;
      const sec = this.secondaryBus[i]!;
      const sub = this.subordinateBus[i]!;
      if (sec <= this.bus[i]! || sec < 0) continue; // unconfigured bridge: no bus below it
      if (sub < sec) {
        const w = where(i);
        throw new TopologyError(`bridge ${this.bdf(i)}: subordinate bus ${hex2(sub)} is below its secondary bus ${hex2(sec)}`, w.file, w.line);
      }
      const d = this.domain[i]!;
      let cov = coverage.get(d);
      if (!cov) coverage.set(d, (cov = new Int32Array(256).fill(-1)));
      for (let x = sec; x <= sub; x++) if (cov[x] === -1 || this.secondaryBus[cov[x]!]! < sec) cov[x] = i;
      const b = busIndex.get(key(d, sec));
      if (b === undefined) continue;
      if (this.busSelf[b] !== -1) {
        const w = where(i);
        throw new TopologyError(`bus ${hex4(d)}:${hex2(sec)} is the secondary bus of two bridges, ${this.bdf(this.busSelf[b]!)} and ${this.bdf(i)}`, w.file, w.line);
      }
      this.busSelf[b] = i;
      this.childBus[i] = b;
    }
    for (let b = 0; b < this.busCount; b++) {
      const self = this.busSelf[b]!;
      if (self >= 0) {
        this.busParent[b] = this.busOf[self]!;
        continue;
      }
      const cov = coverage.get(this.busDomain[b]!);
      const coveringBridge = cov ? cov[this.busNumber[b]!]! : -1;
      if (coveringBridge < 0) {
        this.busParent[b] = -1; // a root bus (one per host bridge)
        continue;
      }
      // Inside a bridge window but claimed by no bridge: only SR-IOV VFs live on such a bus
      // (virtfn_add_bus(): a virtual bus whose parent is the PF's bus, with no bridge).
      let pf = -1;
      for (let i = this.busHead[b]!; i !== -1; i = this.busNext[i]!) {
        if (!(this.flags[i]! & FN_VIRTFN)) {
          pf = -2;
          break;
        }
        if (pf === -1) pf = this.physfn[i]!;
      }
      if (pf < 0) {
        const first = this.busHead[b]!;
        const w = where(first);
        throw new TopologyError(
          `bus ${hex4(this.busDomain[b]!)}:${hex2(this.busNumber[b]!)} (of ${this.bdf(first)}) lies inside the window of bridge ${this.bdf(coveringBridge)} [${hex2(this.secondaryBus[coveringBridge]!)}-${hex2(this.subordinateBus[coveringBridge]!)}] but no bridge has it as its secondary bus`,
          w.file, w.line,
        );
      }
      this.busVirtual[b] = 1;
      this.busParent[b] = this.busOf[pf]!;
    }
    // A parent bus must have a smaller number in the same domain: that rules out cycles.
    for (let b = 0; b < this.busCount; b++) {
      const p = this.busParent[b]!;
      if (p >= 0 && this.busNumber[p]! >= this.busNumber[b]!) {
        const self = this.busSelf[b]!;
        const w = where(self >= 0 ? self : this.busHead[b]!);
        throw new TopologyError(`bus ${hex2(this.busNumber[b]!)} hangs below bus ${hex2(this.busNumber[p]!)}: bus numbers must grow away from the root`, w.file, w.line);
      }
    }
    // Nested windows: a bridge's window lies inside its parent bridge's window.
    for (let i = 0; i < this.bootCount; i++) {
      const b = this.childBus[i]!;
      if (b < 0) continue;
      const up = this.upstreamBridge(i);
      if (up < 0) continue;
      if (this.subordinateBus[i]! > this.subordinateBus[up]!) {
        const w = where(i);
        throw new TopologyError(
          `bridge ${this.bdf(i)} window [${hex2(this.secondaryBus[i]!)}-${hex2(this.subordinateBus[i]!)}] is not inside its parent ${this.bdf(up)}'s [${hex2(this.secondaryBus[up]!)}-${hex2(this.subordinateBus[up]!)}]`,
          w.file, w.line,
        );
      }
    }
    this.correctPortTypes();
  }

  /**
   * set_pcie_port_type() (probe.c): a "Downstream Port" below a downstream-facing port becomes
   * Upstream, an "Upstream Port" below an Upstream Port becomes Downstream, but the kernel writes
   * the new value into bits 3:0 after clearing 7:4, so the type reads 0 (Endpoint) afterwards.
   */
  private correctPortTypes(): void {
    for (let i = 0; i < this.count; i++) {
      const t = this.pcieType[i]!;
      if (t !== PCI_EXP_TYPE_DOWNSTREAM && t !== PCI_EXP_TYPE_UPSTREAM) continue;
      const up = this.upstreamBridge(i);
      if (up < 0) continue;
      const ut = this.pcieType[up]!;
      const upIsDownstreamFacing = ut === PCI_EXP_TYPE_ROOT_PORT || ut === PCI_EXP_TYPE_DOWNSTREAM || ut === PCI_EXP_TYPE_PCIE_BRIDGE;
      if ((t === PCI_EXP_TYPE_DOWNSTREAM && upIsDownstreamFacing) || (t === PCI_EXP_TYPE_UPSTREAM && ut === PCI_EXP_TYPE_UPSTREAM)) {
        this.pcieType[i] = 0;
      }
    }
  }
}

const hex2 = (v: number): string => v.toString(16).padStart(2, "0");
const hex4 = (v: number): string => v.toString(16).padStart(4, "0");
