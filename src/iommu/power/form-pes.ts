// How PowerNV forms partitionable endpoints from the PCI functions of each PHB (power-pe-tce-eeh.md
// §2): one PE per bus with devices (`pnv_pci_configure_bus` → `pnv_ioda_setup_bus_PE`), a bus PE that
// spans secondary..subordinate when the bus's upstream bridge is PCIe-to-PCI (PNV_IODA_PE_BUS_ALL,
// bus counts 1/2/4/8/16/32 only), one PE per VF (`pnv_pci_sriov_enable`), PE numbers allocated from
// the top down (`pnv_ioda_alloc_pe`). Pure function: `vfio-lab groups --platform power` calls it.

/** One PCI function as the PE former needs it. pcieType 0xff = conventional PCI. */
export interface PowerPciFunction {
  bdf: string;
  domain: number;
  bus: number;
  devfn: number;
  isBridge: boolean;
  secondaryBus: number;
  subordinateBus: number;
  isVirtfn: boolean;
  physfn?: string;
  pcieType: number;
}

export interface PowerPe {
  peNumber: number;
  kind: "bus" | "device" | "vf";
  /** Functions whose DMA the PE carries (its IOMMU group); bridges get no group and are not listed. */
  devices: string[];
  reason: string;
}

export interface FormPesOptions {
  /** `ibm,opal-num-pes` (default 256). */
  totalPe?: number;
  /** `ibm,opal-reserved-pe` (default 0). */
  reservedPe?: number;
}

export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
const BUS_ALL_COUNTS = new Set([1, 2, 4, 8, 16, 32]);

/** PE number space of one PHB with the top-down allocator. */
export class PeNumberSpace {
  readonly used: Uint8Array;
  readonly rootPe: number;

  constructor(readonly total = 256, readonly reserved = 0) {
    this.used = new Uint8Array(total);
    if (reserved >= 0 && reserved < total) this.used[reserved] = 1;
    if (reserved === 0 && total > 1) this.rootPe = 1;
    else if (reserved === total - 1 && total > 1) this.rootPe = total - 2;
    else this.rootPe = this.alloc(1);
    if (this.rootPe >= 0) this.used[this.rootPe] = 1;
  }

  /** Lowest number of the highest free run of `count`, or -1 ("Not enough PE# available"). */
  alloc(count: number): number {
    let run = 0;
    for (let pe = this.total - 1; pe >= 0; pe--) {
      run = this.used[pe] ? 0 : run + 1;
      if (run === count) {
        this.used.fill(1, pe, pe + count);
        return pe;
      }
    }
    return -1;
  }
}

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, "0");
}

/** A PE with what the PHB model needs beyond the group view. */
export interface FormedPe extends PowerPe {
  domain: number;
  /** Bus range a bus PE matches (VF PEs: the VF's bus). */
  firstBus: number;
  lastBus: number;
  /** Bridges whose RIDs fall in this PE (no group, but they freeze with it). */
  bridges: string[];
  /** RIDs (bus << 8 | devfn) of every function in the PE. */
  rids: number[];
  /** PE of the bridge above this PE's first bus (PELT-V parent), -1 at the root. */
  parentPe: number;
}

/** Every PE of one PHB (domain), bridges-only PEs included. */
export function formPhbPes(fns: PowerPciFunction[], opts: FormPesOptions = {}): FormedPe[] {
  const out: FormedPe[] = [];
  const dom = fns.length ? fns[0].domain : 0;
  const space = new PeNumberSpace(opts.totalPe ?? 256, opts.reservedPe ?? 0);
  const secondaryOf = new Map<number, PowerPciFunction>(); // bus → upstream bridge
  for (const f of fns) if (f.isBridge && f.secondaryBus > 0) secondaryOf.set(f.secondaryBus, f);
  const physical = fns.filter((f) => !f.isVirtfn);
  const buses = [...new Set(physical.map((f) => f.bus))].sort((a, b) => a - b);
  const rootBus = buses.find((b) => !secondaryOf.has(b)) ?? buses[0];
  const busPe = new Map<number, number>(); // pe_rmap by bus for bus PEs
  const dom4 = hex(dom, 4);
  const parentOf = (bus: number): number => {
    const br = secondaryOf.get(bus);
    return br ? busPe.get(br.bus) ?? -1 : -1;
  };
  for (const bus of buses) {
    if (busPe.has(bus)) continue; // covered by a BUS_ALL PE above
    const bridge = secondaryOf.get(bus);
    const all = bridge !== undefined && bridge.pcieType === PCI_EXP_TYPE_PCI_BRIDGE;
    const pe = bus === rootBus ? space.rootPe : space.alloc(1);
    let last = bus;
    let how = `bus PE: every function on bus ${dom4}:${hex(bus, 2)} (PNV_IODA_PE_BUS)`;
    if (all && bridge) {
      const count = bridge.subordinateBus - bridge.secondaryBus + 1;
      if (BUS_ALL_COUNTS.has(count)) {
        last = bridge.subordinateBus;
        how = `bus PE below PCIe-to-PCI bridge ${bridge.bdf}: buses ${hex(bus, 2)}-${hex(last, 2)} share one PE (PNV_IODA_PE_BUS_ALL); conventional PCI requests carry the bridge's RID`;
      } else {
        how = `bus PE below PCIe-to-PCI bridge ${bridge.bdf}: ${count} subordinate buses is not 1/2/4/8/16/32, so exact bus match only`;
      }
    }
    const inPe = physical.filter((f) => f.bus >= bus && f.bus <= last);
    const base = {
      domain: dom, kind: "bus" as const, firstBus: bus, lastBus: last, parentPe: parentOf(bus),
      devices: inPe.filter((f) => !f.isBridge).map((f) => f.bdf), bridges: inPe.filter((f) => f.isBridge).map((f) => f.bdf),
      rids: inPe.map((f) => f.bus * 256 + f.devfn),
    };
    if (pe < 0) {
      out.push({ ...base, peNumber: -1, reason: `Not enough PE# available for bus ${dom4}:${hex(bus, 2)}: devices cannot be enabled` });
      continue;
    }
    for (let b = bus; b <= last; b++) busPe.set(b, pe);
    out.push({ ...base, peNumber: pe, reason: `PHB ${dom4} PE#${pe}: ${how}${bus === rootBus ? " (root bus PE)" : ""}` });
  }
  // VF PEs: at sriov_enable, one contiguous run of num_vfs PE#s per PF, VF i → base + i.
  const byPf = new Map<string, PowerPciFunction[]>();
  for (const f of fns.filter((x) => x.isVirtfn)) {
    const pf = f.physfn ?? "?";
    if (!byPf.has(pf)) byPf.set(pf, []);
    byPf.get(pf)?.push(f);
  }
  for (const [pf, vfs] of byPf) {
    vfs.sort((a, b) => a.bus * 256 + a.devfn - (b.bus * 256 + b.devfn));
    const first = space.alloc(vfs.length);
    vfs.forEach((vf, i) => {
      const pe = first < 0 ? -1 : first + i;
      out.push({
        domain: dom, kind: "vf", firstBus: vf.bus, lastBus: vf.bus, parentPe: parentOf(vf.bus), devices: [vf.bdf], bridges: [], rids: [vf.bus * 256 + vf.devfn], peNumber: pe,
        reason: pe < 0
          ? `no ${vfs.length} free PE#s for the VFs of ${pf}: sriov_enable fails with -EBUSY`
          : `PHB ${dom4} PE#${pe}: VF ${i} of ${pf} is its own PE (PNV_IODA_PE_VF), never shared with its PF or other VFs`,
      });
    });
  }
  return out;
}

/**
 * PEs as IOMMU groups for `vfio-lab groups --platform power`: one entry per PE that carries DMA
 * (PEs holding only bridges get no group), PHB by PHB (PCI domain), PE numbers per PHB.
 */
export function formPowerPes(functions: PowerPciFunction[], opts: FormPesOptions = {}): PowerPe[] {
  const out: PowerPe[] = [];
  const domains = [...new Set(functions.map((f) => f.domain))].sort((a, b) => a - b);
  for (const dom of domains) {
    for (const pe of formPhbPes(functions.filter((f) => f.domain === dom), opts)) {
      if (pe.devices.length === 0) continue;
      out.push({ peNumber: pe.peNumber, kind: pe.kind, devices: pe.devices, reason: pe.reason });
    }
  }
  return out;
}
