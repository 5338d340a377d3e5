// ACS extended capability (ID 0x0d), pci-topology.md §6.

import type { AcsInfo } from "../function.js";
import { PCI_ACS_CAP, PCI_ACS_CTRL } from "../regs.js";
import { readU16, readU32 } from "./bytes.js";

export function decodeAcs(bytes: Uint8Array, offset: number): AcsInfo | undefined {
  const cap = readU16(bytes, offset + PCI_ACS_CAP);
  const ctrl = readU16(bytes, offset + PCI_ACS_CTRL);
  if (cap === undefined || ctrl === undefined) return undefined;
  const info: AcsInfo = { offset, cap, ctrl };
  // Intel SPT/UPT root ports keep their real control at +8 (quirks.md §3.2).
  const dword8 = readU32(bytes, offset + 8);
  if (dword8 !== undefined) info.ctrlDword8 = dword8;
  return info;
}
