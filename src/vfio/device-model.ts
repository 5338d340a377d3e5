// What vfio-pci reports for a device: regions (BARs, ROM, config, VGA), IRQ indexes and whether
// a function reset works. BAR *sizes* are not in config space (sizing needs writes to the live
// device), so they come from a table of the QEMU device models the oracle boots, keyed by
// vendor:device (sizes as the real kernel reported them in the oracle's examples); other devices
// get the generic rule below (documented approximation).

import type { HostDevice, VfioHost } from "./host.js";
import { decodeBars, decodeVfBars, decodeIrqCaps, decodeResetCaps, type BarReg, cfg32 } from "./pci-config.js";
import {
  VFIO_REGION_INFO_FLAG_READ as R, VFIO_REGION_INFO_FLAG_WRITE as W, VFIO_REGION_INFO_FLAG_MMAP as M,
  VFIO_REGION_INFO_FLAG_CAPS as C,
} from "./uapi.js";

export interface Region {
  flags: number;
  size: number;
}

export interface DeviceModel {
  /** Regions 0..8 (BAR0-5, ROM, CONFIG, VGA); null = EINVAL (VGA on a non-VGA device). */
  regions: (Region | null)[];
  /** IRQ counts for INTX, MSI, MSIX, ERR, REQ; ERR is null (EINVAL) for conventional PCI. */
  irqCount: (number | null)[];
  hasMsix: boolean;
  /** The open-time function reset works (FLR, AF FLR, PM reset, or a secondary bus reset). */
  resetWorks: boolean;
  /** Which reset, for documentation and tests. */
  resetMethod: "flr" | "af_flr" | "pm" | "bus" | "none";
  pcie: boolean;
}

interface KnownModel {
  bars: number[];
  rom: number;
}

/** QEMU's device models (BAR sizes, ROM BAR size) by vendor:device[:vf]. */
export const KNOWN_MODELS: ReadonlyMap<string, KnownModel> = new Map([
  ["8086:10d3", { bars: [0x20000, 0x20000, 0x20, 0x4000, 0, 0], rom: 0x40000 }], // e1000e (82574L)
  ["8086:100e", { bars: [0x20000, 0x40, 0, 0, 0, 0], rom: 0x40000 }], // e1000 (82540EM)
  ["1b36:0010", { bars: [0x4000, 0, 0, 0, 0, 0], rom: 0 }], // QEMU NVMe controller
  ["1b36:0010:vf", { bars: [0x4000, 0, 0, 0, 0, 0], rom: 0 }], // its VFs
  ["1234:1111", { bars: [0x1000000, 0, 0x1000, 0, 0, 0], rom: 0x20000 }], // QEMU std VGA: the boot VGA, its ROM is the 128 KiB shadow (recorded: vga.trace)
  ["8086:2922", { bars: [0, 0, 0, 0, 0x20, 0x1000], rom: 0 }], // ICH9 AHCI
  ["8086:2930", { bars: [0, 0, 0, 0, 0x40, 0], rom: 0 }], // ICH9 SMBus
  ["8086:2918", { bars: [0, 0, 0, 0, 0, 0], rom: 0 }], // ICH9 LPC
  ["8086:29c0", { bars: [0, 0, 0, 0, 0, 0], rom: 0 }], // q35 host bridge
]);

/** Generic rule: a BAR's size is the largest power of two its assigned address is aligned to,
 *  capped at 1 MiB for memory and 256 bytes for I/O; a ROM BAR likewise capped at 256 KiB. */
function genericSize(b: BarReg): number {
  if (!b.present) return 0;
  const a = b.addr;
  const cap = b.io ? 0x100 : 0x100000;
  if (a === 0) return cap;
  let s = 1;
  while (s < cap && a % (s * 2) === 0) s *= 2;
  return Math.max(s, b.io ? 4 : 16);
}

function parentBridge(host: VfioHost, d: HostDevice): HostDevice | null {
  for (const b of host.devices) {
    if (b.headerType !== 1 || b.domain !== d.domain) continue;
    if ((b.config[0x19] ?? -1) === d.bus) return b;
  }
  return null;
}

export function deviceModel(host: VfioHost, d: HostDevice): DeviceModel {
  const c = d.config;
  const irq = decodeIrqCaps(c);
  const rc = decodeResetCaps(c);
  const pcie = rc.pcieType >= 0;
  const pf = d.physfn ? host.byBdf.get(d.physfn) : undefined;
  const bars = d.isVirtfn && pf ? decodeVfBars(pf.config) : decodeBars(c, d.headerType);
  const known = KNOWN_MODELS.get(
    `${d.vendor.toString(16).padStart(4, "0")}:${d.device.toString(16).padStart(4, "0")}${d.isVirtfn ? ":vf" : ""}`);
  const regions: (Region | null)[] = [];
  for (let i = 0; i < 6; i++) {
    const b = bars[i]!;
    const size = b.present ? (known ? known.bars[i]! : genericSize(b)) : 0;
    if (!size) {
      regions.push({ flags: 0, size: 0 });
      continue;
    }
    let flags = R | W;
    if (!b.io) {
      flags |= M;
      if (i === irq.msixBar) flags |= C; // MSIX_MAPPABLE capability
    }
    regions.push({ flags, size });
  }
  // ROM: the ROM BAR register (0x30 for type 0); VFs have none.
  const romReg = d.headerType === 0 && !d.isVirtfn ? cfg32(c, 0x30) : 0;
  const romAddr = romReg & 0xfffff800;
  const romSize = romAddr ? (known ? known.rom : lowBit(romAddr)) : 0;
  regions.push(romSize ? { flags: R, size: romSize } : { flags: 0, size: 0 });
  regions.push({ flags: R | W, size: d.cfgSize });
  // VGA: class 0x0300 with the legacy ranges.
  regions.push(d.classCode >> 8 === 0x0300 ? { flags: R | W, size: 0xc0000 } : null);

  const intx = d.isVirtfn ? 0 : irq.pin ? 1 : 0;
  const irqCount: (number | null)[] = [intx, irq.msiVectors, irq.msixVectors, pcie ? 1 : null, 1];

  let resetMethod: DeviceModel["resetMethod"] = "none";
  if (rc.flr) resetMethod = "flr";
  else if (rc.afFlr) resetMethod = "af_flr";
  else if (rc.pmReset) resetMethod = "pm";
  else if (!d.isVirtfn && d.headerType === 0) {
    // secondary bus reset: not on a root bus, a bridge above, the only device on its bus
    const bridge = d.bus === 0 ? null : parentBridge(host, d);
    if (bridge) {
      let alone = true;
      for (const o of host.devices) if (o !== d && o.domain === d.domain && o.bus === d.bus) alone = false;
      if (alone) resetMethod = "bus";
    }
  }
  return { regions, irqCount, hasMsix: irq.msixVectors > 0, resetWorks: resetMethod !== "none", resetMethod, pcie };
}

function lowBit(a: number): number {
  let s = 0x800;
  while (s < 0x40000 && a % (s * 2) === 0) s *= 2;
  return s;
}
