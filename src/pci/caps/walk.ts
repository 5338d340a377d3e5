// Capability list walks exactly as the kernel does them (drivers/pci/pci.c).

import {
  PCI_CAPABILITY_LIST, PCI_CB_CAPABILITY_LIST, PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE,
  PCI_FIND_CAP_TTL, PCI_HEADER_TYPE, PCI_HEADER_TYPE_CARDBUS, PCI_HEADER_TYPE_MASK, PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from "../regs.js";
import { readU16, readU32, readU8 } from "./bytes.js";

/** Returned by the walks when the bytes end before the answer is known (a short dump). */
export const CAP_UNKNOWN = -1;

/** __pci_bus_find_cap_start(): 0 when Status has no capability list. */
function capStart(bytes: Uint8Array): number | undefined {
  const status = readU16(bytes, PCI_STATUS);
  const header = readU8(bytes, PCI_HEADER_TYPE);
  if (status === undefined || header === undefined) return undefined;
  if (!(status & PCI_STATUS_CAP_LIST)) return 0;
  return (header & PCI_HEADER_TYPE_MASK) === PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST;
}

/**
 * pci_find_capability() / __pci_find_next_cap_ttl(): offset of the first capability `id`,
 * 0 when absent, CAP_UNKNOWN when the walk needs bytes the dump does not have.
 */
export function findCapability(bytes: Uint8Array, id: number): number {
  const start = capStart(bytes);
  if (start === undefined) return CAP_UNKNOWN;
  if (start === 0) return 0;
  let pos = readU8(bytes, start);
  if (pos === undefined) return CAP_UNKNOWN;
  for (let ttl = PCI_FIND_CAP_TTL; ttl > 0; ttl--) {
    if (pos < 0x40) break;
    pos &= ~3;
    const ent = readU16(bytes, pos);
    if (ent === undefined) return CAP_UNKNOWN;
    const capId = ent & 0xff;
    if (capId === 0xff) break;
    if (capId === id) return pos;
    pos = ent >> 8;
  }
  return 0;
}

/**
 * pci_find_ext_capability(): offset of the first extended capability `id`, 0 when absent,
 * CAP_UNKNOWN when the chain leads past the bytes given. The caller decides first whether the
 * function has extended config space at all (hasExtendedConfigSpace).
 */
export function findExtCapability(bytes: Uint8Array, id: number): number {
  let pos = PCI_CFG_SPACE_SIZE;
  let header = readU32(bytes, pos);
  if (header === undefined) return CAP_UNKNOWN;
  if (header === 0) return 0;
  // (4096 - 256) / 8 steps, as PCI_FIND_CAP_TTL's extended sibling.
  for (let ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; ttl > 0; ttl--) {
    if ((header & 0xffff) === id) return pos;
    pos = (header >>> 20) & 0xffc;
    if (pos < PCI_CFG_SPACE_SIZE) break;
    header = readU32(bytes, pos);
    if (header === undefined) return CAP_UNKNOWN;
  }
  return 0;
}

/**
 * pci_cfg_space_size_ext(): the dword at 0x100 must not read all ones and must not alias
 * offset 0 at every 256-byte step (pci_ext_cfg_is_aliased()). Undefined when the bytes end at 256.
 */
export function extendedSpaceReadable(bytes: Uint8Array): boolean | undefined {
  const first = readU32(bytes, PCI_CFG_SPACE_SIZE);
  if (first === undefined) return undefined;
  if (first === 0xffffffff) return false;
  const header = readU32(bytes, 0);
  for (let pos = PCI_CFG_SPACE_SIZE; pos < PCI_CFG_SPACE_EXP_SIZE; pos += PCI_CFG_SPACE_SIZE) {
    const v = readU32(bytes, pos);
    if (v === undefined || v !== header) return true;
  }
  return false;
}
