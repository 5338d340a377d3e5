// Register layout constants, as in include/uapi/linux/pci_regs.h.

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CLASS_REVISION = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_MASK = 0x7f;
export const PCI_HEADER_TYPE_MFD = 0x80;
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_CB_CAPABILITY_LIST = 0x14;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_FIND_CAP_TTL = 48;

export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_CARDBUS = 2;

export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_SSVID = 0x0d;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;

export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_FLAGS_SLOT = 0x0100;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_DEVCTL2 = 0x28;
export const PCI_EXP_DEVCAP2_ARI = 0x20;
export const PCI_EXP_DEVCTL2_ARI = 0x20;

/** PCIe Device/Port Type values (PCI_EXP_TYPE_*). */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_LEG_END = 0x1;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_TYPE_RC_EC = 0xa;
/** Our marker for "no PCI Express capability" (conventional PCI). */
export const NOT_PCIE = 0xff;

export const PCI_EXT_CAP_ID_ACS = 0x0d;
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;
export const PCI_CFG_SPACE_SIZE = 256;
export const PCI_CFG_SPACE_EXP_SIZE = 4096;

export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_CTRL = 0x06;
export const PCI_ACS_SV = 0x0001;
export const PCI_ACS_TB = 0x0002;
export const PCI_ACS_RR = 0x0004;
export const PCI_ACS_CR = 0x0008;
export const PCI_ACS_UF = 0x0010;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_DT = 0x0040;
/** drivers/iommu/iommu.c REQ_ACS_FLAGS */
export const REQ_ACS_FLAGS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_CTRL_VFE = 0x01;
export const PCI_SRIOV_CTRL_ARI = 0x10;
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a;

export const ACS_BIT_NAMES = ["SrcValid", "TransBlk", "ReqRedir", "CmpltRedir", "UpstreamFwd", "EgressCtrl", "DirectTrans"] as const;

export const PCIE_TYPE_NAMES: Record<number, string> = {
  0x0: "Endpoint",
  0x1: "Legacy Endpoint",
  0x4: "Root Port",
  0x5: "Upstream Port",
  0x6: "Downstream Port",
  0x7: "PCI-Express to PCI/PCI-X Bridge",
  0x8: "PCI/PCI-X to PCI-Express Bridge",
  0x9: "Root Complex Integrated Endpoint",
  0xa: "Root Complex Event Collector",
};

export function pcieTypeName(type: number): string {
  if (type === NOT_PCIE) return "conventional PCI";
  return PCIE_TYPE_NAMES[type] ?? `Unknown type ${type}`;
}

/** Names the bits of an ACS word the way lspci does, e.g. "SrcValid+ TransBlk- ...". */
export function acsBitsText(word: number): string {
  return ACS_BIT_NAMES.map((n, i) => `${n}${word & (1 << i) ? "+" : "-"}`).join(" ");
}

/** Short list of the set ACS bits: "SV|RR|CR|UF". */
export function acsFlagsShort(word: number): string {
  const short = ["SV", "TB", "RR", "CR", "UF", "EC", "DT"];
  const out = short.filter((_, i) => word & (1 << i));
  return out.length ? out.join("|") : "none";
}
