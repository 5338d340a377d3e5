// PCI Express capability (ID 0x10), pci-topology.md §5.

import type { PcieInfo } from "../function.js";
import {
  PCI_EXP_DEVCAP2, PCI_EXP_DEVCAP2_ARI, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI, PCI_EXP_FLAGS,
  PCI_EXP_FLAGS_SLOT, PCI_EXP_FLAGS_TYPE,
} from "../regs.js";
import { readU16, readU32 } from "./bytes.js";

/** Decodes the capability at `offset`; undefined when its registers are not in the bytes. */
export function decodePcie(bytes: Uint8Array, offset: number): PcieInfo | undefined {
  const flags = readU16(bytes, offset + PCI_EXP_FLAGS);
  if (flags === undefined) return undefined;
  const version = flags & 0xf;
  // pcie_capability_reg_implemented(): DevCap2/DevCtl2 exist only from capability version 2.
  const v2 = version > 1;
  const devcap2 = v2 ? readU32(bytes, offset + PCI_EXP_DEVCAP2) ?? 0 : 0;
  const devctl2 = v2 ? readU16(bytes, offset + PCI_EXP_DEVCTL2) ?? 0 : 0;
  return {
    offset,
    type: (flags & PCI_EXP_FLAGS_TYPE) >> 4,
    version,
    slotImplemented: (flags & PCI_EXP_FLAGS_SLOT) !== 0,
    ariForwardingSupported: (devcap2 & PCI_EXP_DEVCAP2_ARI) !== 0,
    ariForwardingEnabled: (devctl2 & PCI_EXP_DEVCTL2_ARI) !== 0,
  };
}
