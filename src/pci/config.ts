// One decoder for raw config space: lspci hex blocks and sysfs `config` files alike.
// Register layout: pci-topology.md §2–§8; walks as in drivers/pci/pci.c and probe.c.

import { InputError } from "../import/errors.js";
import type { PciAddress } from "./address.js";
import { decodeAcs } from "./caps/acs.js";
import { decodeAri } from "./caps/ari.js";
import { readU16, readU32, readU8 } from "./caps/bytes.js";
import { decodePcie } from "./caps/pcie.js";
import { decodeSriov } from "./caps/sriov.js";
import { CAP_UNKNOWN, extendedSpaceReadable, findCapability, findExtCapability } from "./caps/walk.js";
import { emptyFunction, type PciFunction, type SourceRef } from "./function.js";
import {
  PCI_CAP_ID_EXP, PCI_CAP_ID_SSVID, PCI_CLASS_REVISION, PCI_DEVICE_ID,
  PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_SRIOV, PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_BRIDGE, PCI_HEADER_TYPE_CARDBUS, PCI_HEADER_TYPE_MASK, PCI_HEADER_TYPE_MFD,
  PCI_HEADER_TYPE_NORMAL, PCI_PRIMARY_BUS, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS,
  PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID,
} from "./regs.js";

export { CAP_UNKNOWN, findCapability, findExtCapability } from "./caps/walk.js";

/** Hidden reasons the decoder gives; importers that fill the gap from elsewhere remove them. */
export const HIDDEN_CAPS_BEYOND_HEADER = "capabilities not visible: config space ends at the 64-byte header (ACS, ARI, SR-IOV, PCIe type unknown)";
export const HIDDEN_NO_EXTENDED_CAPS = "no extended capabilities in a 256-byte dump: ACS, ARI, SR-IOV unknown";

const PCI_CAP_ID_PCIX = 0x07;
const PCI_X_STATUS = 4;
const PCI_X_STATUS_266MHZ = 0x40000000;
const PCI_X_STATUS_533MHZ = 0x80000000;
const PCI_CB_SUBSYSTEM_VENDOR_ID = 0x40;
const PCI_CB_SUBSYSTEM_ID = 0x42;
const PCI_CLASS_BRIDGE_HOST = 0x0600;

export interface DecodeOptions {
  /**
   * The byte count is the kernel's own cfg_size (a sysfs `config` file read as root: 256 means
   * the kernel found no extended space), so a 256-byte PCIe function hides nothing.
   */
  lengthIsKernelCfgSize?: boolean;
}

const hex2 = (v: number): string => v.toString(16).padStart(2, "0");

/** Decodes 64, 256, 4096 (or any other length ≥ 64) bytes of config space into a PciFunction. */
export function decodeConfigSpace(bytes: Uint8Array, addr: PciAddress, source: SourceRef, options: DecodeOptions = {}): PciFunction {
  if (bytes.length < 64) {
    throw new InputError(`config space of ${bytes.length} bytes: at least the 64-byte header is needed`, source.file, source.line);
  }
  const fn = emptyFunction(addr.domain, addr.bus, addr.devfn, source);
  fn.config = bytes;
  fn.vendor = readU16(bytes, PCI_VENDOR_ID)!;
  fn.device = readU16(bytes, PCI_DEVICE_ID)!;
  const classRev = readU32(bytes, PCI_CLASS_REVISION)!;
  fn.revision = classRev & 0xff;
  fn.classCode = classRev >>> 8;
  const header = readU8(bytes, PCI_HEADER_TYPE)!;
  const layout = header & PCI_HEADER_TYPE_MASK;
  if (layout > PCI_HEADER_TYPE_CARDBUS) {
    // pci_setup_device(): "unknown header type %02x, ignoring device".
    fn.headerType = -1;
    fn.hidden.push(`unknown header type ${hex2(layout)}: config space unreadable when dumped`);
    return fn;
  }
  fn.headerType = layout;
  fn.multifunctionBit = (header & PCI_HEADER_TYPE_MFD) !== 0;
  if (layout === PCI_HEADER_TYPE_BRIDGE) {
    fn.primaryBus = bytes[PCI_PRIMARY_BUS]!;
    fn.secondaryBus = bytes[PCI_SECONDARY_BUS]!;
    fn.subordinateBus = bytes[PCI_SUBORDINATE_BUS]!;
  }
  decodeSubsystem(bytes, layout, fn);

  const expOffset = findCapability(bytes, PCI_CAP_ID_EXP);
  if (expOffset === CAP_UNKNOWN) {
    fn.hidden.push(HIDDEN_CAPS_BEYOND_HEADER);
    return fn;
  }
  fn.pcie = expOffset ? decodePcie(bytes, expOffset) ?? null : null;
  if (!hasExtendedConfigSpace(bytes, fn)) return fn;
  const readable = extendedSpaceReadable(bytes);
  if (readable === undefined) {
    if (!options.lengthIsKernelCfgSize && fn.pcie) fn.hidden.push(HIDDEN_NO_EXTENDED_CAPS);
    return fn;
  }
  if (!readable) return fn;
  decodeExtendedCaps(bytes, fn);
  return fn;
}

/** pci_cfg_space_size(): host bridges, PCIe functions and PCI-X 266/533 may have 4096 bytes. */
function hasExtendedConfigSpace(bytes: Uint8Array, fn: PciFunction): boolean {
  if (fn.classCode >>> 8 === PCI_CLASS_BRIDGE_HOST || fn.pcie) return true;
  const pcix = findCapability(bytes, PCI_CAP_ID_PCIX);
  if (pcix <= 0) return false;
  const status = readU32(bytes, pcix + PCI_X_STATUS) ?? 0;
  return (status & (PCI_X_STATUS_266MHZ | PCI_X_STATUS_533MHZ)) !== 0;
}

function decodeExtendedCaps(bytes: Uint8Array, fn: PciFunction): void {
  let chainCut = false;
  const find = (id: number): number => {
    const off = findExtCapability(bytes, id);
    if (off === CAP_UNKNOWN) chainCut = true;
    return off > 0 ? off : 0;
  };
  const acsOff = find(PCI_EXT_CAP_ID_ACS);
  fn.acs = acsOff ? decodeAcs(bytes, acsOff) ?? null : null;
  const ariOff = find(PCI_EXT_CAP_ID_ARI);
  fn.ari = ariOff ? decodeAri(bytes, ariOff) ?? null : null;
  const sriovOff = find(PCI_EXT_CAP_ID_SRIOV);
  fn.sriov = sriovOff ? decodeSriov(bytes, sriovOff) ?? null : null;
  const cut = (acsOff && !fn.acs) || (ariOff && !fn.ari) || (sriovOff && !fn.sriov);
  if (chainCut || cut) {
    fn.hidden.push(`extended capability chain runs past the ${bytes.length} bytes given: ACS, ARI, SR-IOV may be missing`);
  }
}

function decodeSubsystem(bytes: Uint8Array, layout: number, fn: PciFunction): void {
  let vendorOff = 0;
  if (layout === PCI_HEADER_TYPE_NORMAL) vendorOff = PCI_SUBSYSTEM_VENDOR_ID;
  else if (layout === PCI_HEADER_TYPE_CARDBUS) vendorOff = PCI_CB_SUBSYSTEM_VENDOR_ID;
  else {
    // Type 1: the Bridge Subsystem Vendor ID capability (0x0d), +4 vendor, +6 device.
    const ssvid = findCapability(bytes, PCI_CAP_ID_SSVID);
    if (ssvid > 0) vendorOff = ssvid + 4;
  }
  if (!vendorOff) return;
  const deviceOff = layout === PCI_HEADER_TYPE_NORMAL ? PCI_SUBSYSTEM_ID : layout === PCI_HEADER_TYPE_CARDBUS ? PCI_CB_SUBSYSTEM_ID : vendorOff + 2;
  const vendor = readU16(bytes, vendorOff);
  const device = readU16(bytes, deviceOff);
  if (vendor === undefined || device === undefined) return;
  fn.subsystemVendor = vendor;
  fn.subsystemDevice = device;
}
