// One PCI function as read from any source (config bytes, lspci text, sysfs, topology file).
// This is the import-level record: small hosts keep one per function; the grouping code works on
// the flat arrays of `Topology` (topology.ts), which synthetic million-function hosts fill directly.

/** Where a fact came from, so errors and uncertainty can name the file and line. */
export interface SourceRef {
  file: string;
  line?: number;
}

export interface PcieInfo {
  /** Capability offset in config space. */
  offset: number;
  /** Device/Port Type as the function claims it (before set_pcie_port_type() correction). */
  type: number;
  version: number;
  slotImplemented: boolean;
  /** DevCap2 ARI Forwarding Supported (ports). */
  ariForwardingSupported: boolean;
  /** DevCtl2 ARI Forwarding Enable (ports). */
  ariForwardingEnabled: boolean;
}

export interface AcsInfo {
  offset: number;
  /** ACS Capability word (+4). */
  cap: number;
  /** ACS Control word (+6), as read. */
  ctrl: number;
  /** Dword at +8 where known (Intel SPT root ports keep their real control there). */
  ctrlDword8?: number;
}

export interface SriovInfo {
  offset: number;
  ctrl: number;
  initialVfs: number;
  totalVfs: number;
  numVfs: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
}

export interface PciFunction {
  domain: number;
  bus: number;
  devfn: number;
  /** IDs as the device line / config space show them (VFs may read 0xffff). */
  vendor: number;
  device: number;
  subsystemVendor?: number;
  subsystemDevice?: number;
  /** 24-bit class code (base, sub, prog-if). */
  classCode: number;
  revision: number;
  /** Header layout 0/1/2; -1 when unreadable (lspci "Unknown header type 7f"). */
  headerType: number;
  /** Header Type bit 7; null when the input does not carry it (lspci text without hex). */
  multifunctionBit: boolean | null;
  /** Type 1 only, else -1. */
  primaryBus: number;
  secondaryBus: number;
  subordinateBus: number;
  /** null = conventional PCI (no capability 0x10). undefined never. */
  pcie: PcieInfo | null;
  acs: AcsInfo | null;
  ari: { offset: number; nextFunction: number } | null;
  sriov: SriovInfo | null;
  /** Raw config bytes when the source has them (64, 256 or 4096 bytes). */
  config?: Uint8Array;
  /** Names from the dump (lspci device line) when present. */
  names?: { className?: string; vendor?: string; device?: string; line?: string };
  /** Bound driver (sysfs `driver` link, lspci "Kernel driver in use"). */
  driver?: string;
  /** The kernel's own group number when the input carries it. */
  kernelGroup?: number;
  /** Facts the input hides about this function; non-empty makes results depending on it uncertain. */
  hidden: string[];
  /** Function is an SR-IOV VF (set by the source, e.g. sysfs `physfn`, or by VF resolution). */
  isVirtfn?: boolean;
  /** Extra DMA aliases (devfns on the own bus) known from the source (e.g. AMD IVRS), beyond quirks. */
  extraDmaAliases?: number[];
  source: SourceRef;
}

export function emptyFunction(domain: number, bus: number, devfn: number, source: SourceRef): PciFunction {
  return {
    domain, bus, devfn, vendor: 0xffff, device: 0xffff, classCode: 0, revision: 0, headerType: 0,
    multifunctionBit: null, primaryBus: -1, secondaryBus: -1, subordinateBus: -1,
    pcie: null, acs: null, ari: null, sriov: null, hidden: [], source,
  };
}

/** A whole host as imported: functions in input order plus what the input says about the host. */
export interface HostInput {
  /** "lspci:FILE", "sysfs:DIR", "topology:FILE", "sample". */
  source: string;
  functions: PciFunction[];
  /** ACSCtl values are what a booted kernel wrote (true for dumps of running hosts). */
  acsCtrlIsLive: boolean;
  /** Kernel release string if the input names one (snapshots). */
  kernelRelease?: string;
  /** Whether the input carried the kernel's own groups. */
  hasKernelGroups: boolean;
  /** Host-level notes (e.g. pcilib noise skipped). */
  warnings: string[];
  /** Platform hints from the input: IOMMU kind when stated. */
  iommu?: "intel" | "amd" | "none";
  /** Optional per-host settings from a topology file. */
  settings?: HostSettings;
}

export interface HostSettings {
  /** AMD: firmware IVRS covers functions below the IOMMU's devfn (default false). */
  ivrsCoversRootComplex?: boolean;
  /** Intel PCH ACS enable hook failed at boot (default false). */
  pchAcsQuirkFailed?: boolean;
  /** Kernel command line fragments that change grouping. */
  cmdline?: string;
}
