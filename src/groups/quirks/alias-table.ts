// DMA-alias and bridge-flag quirks (quirks.md §5, §6) as data. All header fixups: they run at
// enumeration, before IOMMU probing.

import { ALWAYS } from "./acs-table.js";

export type AliasQuirkKind = "func0" | "func1" | "fixed" | "mic_x200" | "pex_vca" | "plx_ntb" | "switchtec_ntb";

export interface AliasQuirkEntry {
  vendor: number;
  devices: readonly number[];
  kind: AliasQuirkKind;
  since: readonly [number, number];
  what: string;
}

export const ALIAS_QUIRK_TABLE: readonly AliasQuirkEntry[] = [
  { vendor: 0x1180, devices: [0xe832, 0xe476], kind: "func0", since: ALWAYS, what: "Ricoh card reader (DMA from function 0)" },
  { vendor: 0x6766, devices: [0x3d40, 0x3d41], kind: "func0", since: [6, 12], what: "Glenfly GPU audio (DMA from function 0)" },
  {
    vendor: 0x1b4b,
    devices: [0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0, 0x9215, 0x9220, 0x9230, 0x9235],
    kind: "func1", since: ALWAYS, what: "Marvell SATA (phantom function 1)",
  },
  { vendor: 0x1103, devices: [0x0642, 0x0645], kind: "func1", since: ALWAYS, what: "HighPoint/TTI RAID (phantom function 1)" },
  { vendor: 0x197b, devices: [0x2392], kind: "func1", since: ALWAYS, what: "JMicron JMB388 ESD (phantom function 1)" },
  { vendor: 0x1c28, devices: [0x0122], kind: "func1", since: ALWAYS, what: "Plextor M6E (phantom function 1)" },
  { vendor: 0x9005, devices: [0x0285], kind: "fixed", since: ALWAYS, what: "Adaptec 3405/3805 (alias 01.0)" },
  { vendor: 0x8086, devices: [0x2260, 0x2264], kind: "mic_x200", since: ALWAYS, what: "Intel MIC x200 NTB" },
  { vendor: 0x8086, devices: [0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a], kind: "pex_vca", since: ALWAYS, what: "Intel Visual Compute Accelerator" },
  { vendor: 0x10b5, devices: [0x87b0, 0x87b1], kind: "plx_ntb", since: ALWAYS, what: "PLX NTB (every devfn of its bus)" },
  { vendor: 0x1055, devices: [0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006], kind: "switchtec_ntb", since: ALWAYS, what: "EFAR Switchtec NTB" },
];

const switchtecGen3Gen4 = [
  0x8531, 0x8532, 0x8533, 0x8534, 0x8535, 0x8536, 0x8541, 0x8542, 0x8543, 0x8544, 0x8545, 0x8546,
  0x8551, 0x8552, 0x8553, 0x8554, 0x8555, 0x8556, 0x8561, 0x8562, 0x8563, 0x8564, 0x8565, 0x8566,
  0x8571, 0x8572, 0x8573, 0x8574, 0x8575, 0x8576, 0x4000, 0x4084, 0x4068, 0x4052, 0x4036, 0x4028,
  0x4100, 0x4184, 0x4168, 0x4152, 0x4136, 0x4128, 0x4200, 0x4284, 0x4268, 0x4252, 0x4236, 0x4228,
  0x4352, 0x4336, 0x4328, 0x4452, 0x4436, 0x4428, 0x4552, 0x4536, 0x4528, 0x5000, 0x5084, 0x5068,
  0x5052, 0x5036, 0x5028, 0x5100, 0x5184, 0x5168, 0x5152, 0x5136, 0x5128, 0x5200, 0x5284, 0x5268,
  0x5252, 0x5236, 0x5228, 0x5300, 0x5384, 0x5368, 0x5352, 0x5336, 0x5328, 0x5400, 0x5484, 0x5468,
  0x5452, 0x5436, 0x5428, 0x5500, 0x5584, 0x5568, 0x5552, 0x5536, 0x5528,
];
/** quirk_switchtec_ntb_dma_alias: class 0x0680 only; aliases come from device MMIO. */
export const SWITCHTEC_NTB_IDS: ReadonlySet<number> = new Set(switchtecGen3Gen4);

/** Adaptec subsystems that get the fixed 01.0 alias (quirk_fixed_dma_alias). */
export const ADAPTEC_FIXED_ALIAS_SUBSYSTEMS = [
  [0x9005, 0x02bb],
  [0x9005, 0x02bc],
] as const;

export interface BridgeFlagEntry {
  vendor: number;
  devices: readonly number[];
  flag: "pcie_bridge_alias" | "xlate_root" | "no_alias";
  since: readonly [number, number];
  what: string;
}

export const BRIDGE_FLAG_TABLE: readonly BridgeFlagEntry[] = [
  { vendor: 0x1b21, devices: [0x1080], flag: "pcie_bridge_alias", since: ALWAYS, what: "ASMedia ASM1083/1085 PCI bridge" },
  { vendor: 0x10e3, devices: [0x8113], flag: "pcie_bridge_alias", since: ALWAYS, what: "Tundra Tsi381 PCI bridge" },
  { vendor: 0x1283, devices: [0x8892, 0x8893], flag: "pcie_bridge_alias", since: ALWAYS, what: "ITE IT8892/8893 PCI bridge" },
  { vendor: 0x8086, devices: [0x244e], flag: "pcie_bridge_alias", since: ALWAYS, what: "Intel 82801 PCI bridge" },
  { vendor: 0x14e4, devices: [0x9000, 0x9084], flag: "xlate_root", since: ALWAYS, what: "Broadcom Vulcan/ThunderX2 root port" },
  // Posted 2025-26, seen only in trees newer than 6.18; merge release not verified (quirks.md §6).
  { vendor: 0x1a03, devices: [0x1150], flag: "no_alias", since: [7, 0], what: "ASPEED AST1150 PCIe-to-PCI bridge" },
];
