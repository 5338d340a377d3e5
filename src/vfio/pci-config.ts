// Small decoders of PCI config space for what vfio-pci reports: BARs, capabilities (PM, MSI,
// MSI-X, PCIe, AF), the interrupt pin, the SR-IOV VF BARs. Offsets from the PCI spec (include/uapi/linux/pci_regs.h).

import { findCapability, findExtCapability } from "../pci/caps/walk.js";

export const CAP_PM = 0x01, CAP_MSI = 0x05, CAP_PCIE = 0x10, CAP_MSIX = 0x11, CAP_AF = 0x13;
export const EXT_CAP_SRIOV = 0x0010;

export function cfg8(c: Uint8Array, o: number): number {
  return o < c.length ? c[o]! : 0;
}
export function cfg16(c: Uint8Array, o: number): number {
  return cfg8(c, o) | (cfg8(c, o + 1) << 8);
}
export function cfg32(c: Uint8Array, o: number): number {
  return (cfg16(c, o) | (cfg16(c, o + 2) << 16)) >>> 0;
}

/** Offset of the first standard capability with this id, or 0 (the kernel's walk, src/pci). */
export function findCap(c: Uint8Array, id: number): number {
  return Math.max(0, findCapability(c, id));
}

/** Offset of the first extended capability with this id, or 0. */
export function findExtCap(c: Uint8Array, id: number): number {
  return Math.max(0, findExtCapability(c, id));
}

export interface BarReg {
  /** 0 = not implemented (register 0, or upper half of a 64-bit BAR). */
  present: boolean;
  io: boolean;
  is64: boolean;
  prefetch: boolean;
  /** Address bits as assigned (memory: & ~0xf; I/O: & ~0x3). */
  addr: number;
}

/** BAR registers 0..5 of a type-0 header (type-1 headers have two). */
export function decodeBars(c: Uint8Array, headerType: number): BarReg[] {
  const n = headerType === 0 ? 6 : headerType === 1 ? 2 : 0;
  const out: BarReg[] = [];
  for (let i = 0; i < 6; i++) out.push({ present: false, io: false, is64: false, prefetch: false, addr: 0 });
  for (let i = 0; i < n; i++) {
    const v = cfg32(c, 0x10 + 4 * i);
    if (v === 0) continue;
    const io = (v & 1) === 1;
    const is64 = !io && ((v >>> 1) & 3) === 2;
    let addr = io ? v & ~3 : v & ~0xf;
    if (is64 && i < 5) addr = (addr >>> 0) + cfg32(c, 0x10 + 4 * (i + 1)) * 0x100000000;
    out[i] = { present: true, io, is64, prefetch: !io && (v & 8) !== 0, addr: addr >>> 0 === addr ? addr : addr };
    if (is64) i++;
  }
  return out;
}

/** VF BARs from the PF's SR-IOV capability (at +0x24). */
export function decodeVfBars(pfConfig: Uint8Array): BarReg[] {
  const out: BarReg[] = [];
  for (let i = 0; i < 6; i++) out.push({ present: false, io: false, is64: false, prefetch: false, addr: 0 });
  const pos = findExtCap(pfConfig, EXT_CAP_SRIOV);
  if (!pos) return out;
  for (let i = 0; i < 6; i++) {
    const v = cfg32(pfConfig, pos + 0x24 + 4 * i);
    if (v === 0) continue;
    const is64 = ((v >>> 1) & 3) === 2;
    out[i] = { present: true, io: false, is64, prefetch: (v & 8) !== 0, addr: v & ~0xf };
    if (is64) i++;
  }
  return out;
}

export interface SriovCap {
  offset: number;
  ctrl: number;
  totalVfs: number;
  numVfs: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
}

export function decodeSriov(c: Uint8Array): SriovCap | null {
  const pos = findExtCap(c, EXT_CAP_SRIOV);
  if (!pos) return null;
  return {
    offset: pos,
    ctrl: cfg16(c, pos + 0x08),
    totalVfs: cfg16(c, pos + 0x0e),
    numVfs: cfg16(c, pos + 0x10),
    firstVfOffset: cfg16(c, pos + 0x14),
    vfStride: cfg16(c, pos + 0x16),
    vfDeviceId: cfg16(c, pos + 0x1a),
  };
}

export interface IrqCaps {
  pin: number;
  msiVectors: number;
  msixVectors: number;
  msixBar: number;
}

export function decodeIrqCaps(c: Uint8Array): IrqCaps {
  const msi = findCap(c, CAP_MSI);
  const msix = findCap(c, CAP_MSIX);
  return {
    pin: cfg8(c, 0x3d),
    msiVectors: msi ? 1 << ((cfg16(c, msi + 2) & 0x0e) >> 1) : 0,
    msixVectors: msix ? (cfg16(c, msix + 2) & 0x7ff) + 1 : 0,
    msixBar: msix ? cfg32(c, msix + 4) & 7 : -1,
  };
}

export interface ResetCaps {
  /** PCIe DevCap Function Level Reset Capability (bit 28). */
  flr: boolean;
  /** Conventional PCI Advanced Features: TP and FLR. */
  afFlr: boolean;
  /** PM capability present and No_Soft_Reset clear in PMCSR. */
  pmReset: boolean;
  /** PCIe device/port type (DevType field), -1 for conventional PCI. */
  pcieType: number;
}

export function decodeResetCaps(c: Uint8Array): ResetCaps {
  const pcie = findCap(c, CAP_PCIE);
  const af = findCap(c, CAP_AF);
  const pm = findCap(c, CAP_PM);
  return {
    flr: pcie ? (cfg32(c, pcie + 4) & (1 << 28)) !== 0 : false,
    afFlr: af ? (cfg8(c, af + 3) & 3) === 3 : false,
    pmReset: pm ? (cfg16(c, pm + 4) & 0x8) === 0 : false,
    pcieType: pcie ? (cfg16(c, pcie + 2) >> 4) & 0xf : -1,
  };
}
