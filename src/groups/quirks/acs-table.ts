// pci_dev_acs_enabled[] (drivers/pci/quirks.c) in table order, as data. `since` is the mainline
// release that first carried the entry (quirks.md §3); many were backported to stable series.

export type AcsQuirkHandler =
  | "amd_sb"
  | "mf_endpoint"
  | "rciep"
  | "qcom_rp"
  | "nxp_rp"
  | "xgene"
  | "brcm"
  | "loongson"
  | "cavium"
  | "al"
  | "zhaoxin_pcie_ports"
  | "wangxun_nic"
  | "intel_pch"
  | "intel_spt_pch";

export const ANY_ID = -1;

/** Entries present in 6.1 and every older kernel this tool models. */
export const ALWAYS = [0, 0] as const;

export interface AcsQuirkEntry {
  vendor: number;
  /** Device IDs, or [ANY_ID]. */
  devices: readonly number[];
  handler: AcsQuirkHandler;
  since: readonly [number, number];
  what: string;
}

export function idRange(first: number, last: number): number[] {
  const out: number[] = [];
  for (let d = first; d <= last; d++) out.push(d);
  return out;
}

const I = 0x8086;

export const ACS_QUIRK_TABLE: readonly AcsQuirkEntry[] = [
  { vendor: 0x1002, devices: [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399], handler: "amd_sb", since: ALWAYS, what: "ATI SBx00 southbridge functions" },
  { vendor: 0x1022, devices: [0x780f, 0x7809], handler: "amd_sb", since: ALWAYS, what: "AMD FCH PCI bridge / OHCI" },
  { vendor: 0x1924, devices: [0x0903, 0x0923, 0x0a03], handler: "mf_endpoint", since: ALWAYS, what: "Solarflare multifunction NIC" },
  {
    vendor: I,
    devices: [0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514, 0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558],
    handler: "mf_endpoint", since: ALWAYS, what: "Intel 82598/82599/X520/X540 NIC",
  },
  {
    vendor: I,
    devices: [
      0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516, 0x1527, // 82580
      0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526, // 82576
      0x10a7, 0x10a9, 0x10d6, // 82575
      0x1521, 0x1522, 0x1523, 0x1524, // I350
      0x105e, 0x105f, 0x1060, 0x10d9, // 82571
      0x15b7, 0x15b8, // I219
    ],
    handler: "mf_endpoint", since: ALWAYS, what: "Intel 82575/82576/82580/I350/82571/I219 NIC",
  },
  { vendor: I, devices: [ANY_ID], handler: "rciep", since: ALWAYS, what: "Intel root-complex integrated endpoints" },
  { vendor: 0x17cb, devices: [0x0400, 0x0401], handler: "qcom_rp", since: ALWAYS, what: "Qualcomm QDF2xxx root port" },
  { vendor: 0x17cb, devices: [0x0115], handler: "qcom_rp", since: [6, 12], what: "Qualcomm SA8775P root port" },
  { vendor: 0x17cb, devices: [0x0111, 0x0120], handler: "qcom_rp", since: [7, 0], what: "Qualcomm Hamoa/Glymur root port" },
  { vendor: 0x1dbf, devices: [0x0401], handler: "qcom_rp", since: ALWAYS, what: "HXT root port" },
  { vendor: I, devices: [ANY_ID], handler: "intel_pch", since: ALWAYS, what: "Intel PCH root ports without ACS capability" },
  { vendor: I, devices: [ANY_ID], handler: "intel_spt_pch", since: ALWAYS, what: "Intel Sunrise/Union Point root ports (ACS control at +8)" },
  { vendor: 0x19a2, devices: [0x0710], handler: "mf_endpoint", since: ALWAYS, what: "Emulex BE3-R" },
  { vendor: 0x10df, devices: [0x0720], handler: "mf_endpoint", since: ALWAYS, what: "Emulex Skyhawk-R" },
  { vendor: 0x177d, devices: [ANY_ID], handler: "cavium", since: ALWAYS, what: "Cavium ThunderX root ports" },
  { vendor: 0x177d, devices: [0xa026, 0xa059, 0xa060], handler: "mf_endpoint", since: ALWAYS, what: "Cavium multifunction endpoints" },
  { vendor: 0x10e8, devices: [0xe004], handler: "xgene", since: ALWAYS, what: "APM X-Gene root port" },
  { vendor: 0x1def, devices: idRange(0xe005, 0xe00c), handler: "xgene", since: ALWAYS, what: "Ampere root ports" },
  { vendor: 0x14e4, devices: [0x16d7], handler: "mf_endpoint", since: ALWAYS, what: "Broadcom BCM57414" },
  { vendor: 0x14e4, devices: [0x1750, 0x1751, 0x1752], handler: "mf_endpoint", since: [6, 0], what: "Broadcom BCM5750X" },
  { vendor: 0x14e4, devices: [0x1760, 0x1761, 0x1762, 0x1763], handler: "mf_endpoint", since: [6, 11], what: "Broadcom BCM5760X" },
  { vendor: 0x14e4, devices: [0xd714], handler: "brcm", since: ALWAYS, what: "Broadcom iProc PAXB root port" },
  {
    vendor: 0x0014, devices: [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69],
    handler: "loongson", since: [6, 16], what: "Loongson root ports",
  },
  { vendor: 0x1c36, devices: [0x0031], handler: "al", since: ALWAYS, what: "Amazon Annapurna Labs root port" },
  { vendor: 0x1d17, devices: [0x3038, 0x3104, 0x9083], handler: "mf_endpoint", since: ALWAYS, what: "Zhaoxin multifunction endpoints" },
  {
    vendor: 0x1957,
    devices: [...idRange(0x8d80, 0x8d83), ...idRange(0x8d88, 0x8d8b), ...idRange(0x8d90, 0x8d93), ...idRange(0x8d98, 0x8d9b), 0x8da0, 0x8da1, 0x8da8, 0x8da9, 0x8db0, 0x8db1, 0x8db8, 0x8db9],
    handler: "nxp_rp", since: ALWAYS, what: "NXP LX2xx0 root ports",
  },
  { vendor: 0x1d17, devices: [ANY_ID], handler: "zhaoxin_pcie_ports", since: ALWAYS, what: "Zhaoxin root/downstream ports" },
  { vendor: 0x8088, devices: [ANY_ID], handler: "wangxun_nic", since: [6, 1], what: "Wangxun NICs" /* 6.3, backported to 6.1.y */ },
];

/** pci_quirk_intel_pch_acs_ids: PCH root ports without an ACS capability (quirks.md §3.1). */
export const INTEL_PCH_ACS_ROOT_PORTS: ReadonlySet<number> = new Set([
  ...idRange(0x3b42, 0x3b51), // Ibex Peak
  ...idRange(0x1c10, 0x1c1f), // Cougar Point
  ...idRange(0x1e10, 0x1e1f), // Panther Point
  ...idRange(0x8c10, 0x8c1f), // Lynx Point-H
  ...idRange(0x9c10, 0x9c1b), // Lynx Point-LP
  ...idRange(0x9c90, 0x9c9b), // Wildcat Point
  0x1d10, 0x1d12, 0x1d14, 0x1d16, 0x1d18, 0x1d1a, 0x1d1c, 0x1d1e, // Patsburg
  ...idRange(0x8d10, 0x8d1e), // Wellsburg
  0x8c90, 0x8c92, 0x8c94, 0x8c96, 0x8c98, 0x8c9a, 0x8c9c, 0x8c9e, // 9-series
]);

/** pci_quirk_intel_spt_pch_acs_match(): Sunrise Point, Union Point, 7th/8th gen mobile. */
export const INTEL_SPT_ROOT_PORTS: ReadonlySet<number> = new Set([
  ...idRange(0xa110, 0xa11f), ...idRange(0xa167, 0xa16a), ...idRange(0xa290, 0xa29f), ...idRange(0xa2e7, 0xa2ee), ...idRange(0x9d10, 0x9d1b),
]);

/** pci_quirk_cavium_acs_match(): ThunderX1/2/3 root ports. */
export const isCaviumRootPortId = (d: number): boolean => (d >= 0xa000 && d <= 0xa7ff) || d === 0xaf84 || d === 0xb884;

/** Zhaoxin ports whose ACS works (pci_quirk_zhaoxin_pcie_ports_acs); every other Zhaoxin port is 0. */
export const isZhaoxinGoodPortId = (d: number): boolean => (d >= 0x0710 && d <= 0x071e) || d === 0x0721 || (d >= 0x0723 && d <= 0x0752);

/** Wangxun NIC IDs with working ACS (pci_quirk_wangxun_nic_acs); AML ids from 6.13. */
export function isWangxunGoodId(d: number, amlKnown: boolean): boolean {
  if ((d >= 0x0100 && d <= 0x010f) || d === 0x1001 || d === 0x2001) return true;
  return amlKnown && [0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140].includes(d);
}
