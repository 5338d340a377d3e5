// SR-IOV extended capability (ID 0x10), pci-topology.md §8.

import type { SriovInfo } from "../function.js";
import {
  PCI_SRIOV_CTRL, PCI_SRIOV_INITIAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_VF_DID,
  PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE,
} from "../regs.js";
import { readU16 } from "./bytes.js";

export function decodeSriov(bytes: Uint8Array, offset: number): SriovInfo | undefined {
  const did = readU16(bytes, offset + PCI_SRIOV_VF_DID);
  if (did === undefined) return undefined;
  const r = (reg: number): number => readU16(bytes, offset + reg)!;
  return {
    offset,
    ctrl: r(PCI_SRIOV_CTRL),
    initialVfs: r(PCI_SRIOV_INITIAL_VF),
    totalVfs: r(PCI_SRIOV_TOTAL_VF),
    numVfs: r(PCI_SRIOV_NUM_VF),
    firstVfOffset: r(PCI_SRIOV_VF_OFFSET),
    vfStride: r(PCI_SRIOV_VF_STRIDE),
    vfDeviceId: did,
  };
}
