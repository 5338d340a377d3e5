// SR-IOV VF addresses (iov.c: pci_iov_virtfn_bus(), pci_iov_virtfn_devfn()) and recognising VFs
// in a dump, where they look like ordinary functions.

import type { PciFunction } from "./function.js";
import { PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_RC_END, PCI_SRIOV_CTRL_VFE } from "./regs.js";

export interface VfAddress {
  bus: number;
  devfn: number;
}

/** Address of VF n (0-based): r = devfn + offset + stride*n; bus += r >> 8. Bus > 255 → null. */
export function vfAddress(pfBus: number, pfDevfn: number, offset: number, stride: number, n: number): VfAddress | null {
  const r = pfDevfn + offset + stride * n;
  const bus = pfBus + (r >> 8);
  if (bus > 0xff) return null;
  return { bus, devfn: r & 0xff };
}

/** sriov_init() sets up only Endpoints and RCiEPs as PFs; VFs exist while VF Enable is set. */
export function hasEnabledVfs(f: PciFunction): boolean {
  if (!f.sriov || !f.pcie) return false;
  if (f.pcie.type !== PCI_EXP_TYPE_ENDPOINT && f.pcie.type !== PCI_EXP_TYPE_RC_END) return false;
  return (f.sriov.ctrl & PCI_SRIOV_CTRL_VFE) !== 0 && f.sriov.numVfs > 0;
}
