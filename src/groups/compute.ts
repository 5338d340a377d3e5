// Entry point of the grouping layer: imported host → topology → ACS/alias facts → groups with
// reasons, uncertainty and the kernel's own answer beside ours.

import { formatBdf } from "../pci/address.js";
import type { HostInput, PciFunction } from "../pci/function.js";
import { topologyFromHost } from "../pci/from-host.js";
import { FN_HIDDEN, FN_MF_INFERRED, FN_MULTIFUNCTION, type Topology } from "../pci/topology.js";
import { inStableRange, NEWEST_KERNEL, parseKernelVersion, type KernelVersion } from "../pci/version.js";
import { PCI_EXP_TYPE_UPSTREAM } from "../pci/regs.js";
import { AcsState, AcsWhy } from "./acs.js";
import { applyAssumptions, hidesOnlyExtendedCaps } from "./assume.js";
import { computeAliases, type AliasInfo } from "./aliases.js";
import { assignGroups, type GroupAssignment } from "./device-group.js";
import { groupReasons } from "./reasons.js";
import { detectIommu, findUngrouped } from "./no-group.js";
import type { AcsOverride, GroupingOptions, IommuKind } from "./options.js";

export interface GroupInfo {
  id: number;
  /** Function indexes in probe order. */
  members: number[];
  devices: string[];
  certain: boolean;
  reasons: string[];
}

export interface GroupingRun {
  options: GroupingOptions;
  acs: AcsState;
  aliases: AliasInfo;
  assignment: GroupAssignment;
  groups: GroupInfo[];
  ungrouped: { device: string; reason: string }[];
  /** Per function: what the input hides that this function's group depends on. */
  doubts: Map<number, string[]>;
}

export interface GroupingResult {
  source: string;
  platform: "x86" | "power";
  kernel: KernelVersion;
  iommu: IommuKind;
  topology: Topology;
  /** Records in topology order, VFs resolved (vendor = PF vendor, device = VF Device ID). */
  functions: (PciFunction & { physfn?: string })[];
  run: GroupingRun;
  /** The same host with pcie_acs_override= applied, when asked. */
  overrideRun?: GroupingRun;
  groups: GroupInfo[];
  ungrouped: { device: string; reason: string }[];
  kernelGroups?: { id: number; devices: string[] }[];
  warnings: string[];
  groupOf(bdf: string): number | undefined;
}

export interface ComputeOptions {
  kernel?: string;
  acsOverride?: AcsOverride | null;
  iommu?: IommuKind;
}

export class GroupingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GroupingError";
  }
}

export function computeGroups(host: HostInput, opts: ComputeOptions = {}): GroupingResult {
  const kernelText = opts.kernel ?? host.kernelRelease ?? NEWEST_KERNEL;
  const kernel = parseKernelVersion(kernelText);
  if (!kernel) throw new GroupingError(`--kernel ${kernelText}: not a kernel version (expected e.g. 6.1, 6.12.80, 7.0)`);
  applyAssumptions(host);
  const { topology, warnings } = topologyFromHost(host);
  const iommu = opts.iommu ?? host.iommu ?? detectIommu(topology);
  const base: GroupingOptions = {
    kernel, iommu, acsCtrlIsLive: host.acsCtrlIsLive, override: null,
    pchQuirkFailed: host.settings?.pchAcsQuirkFailed ?? false,
    ivrsCoversRootComplex: host.settings?.ivrsCoversRootComplex ?? false,
  };
  const records = topology.records!;
  const allWarnings = [...host.warnings, ...warnings];
  if (host.acsCtrlIsLive && (inStableRange(kernel, 6, 12, 75, 82))) {
    allWarnings.push(`kernel ${kernel.text} wrote ACS only at driver bind, after the groups were formed (bad stable backport, reverted in 6.12.83): the kernel's groups followed the firmware's ACS control values, which the dump no longer shows`);
  }
  const run = runGrouping(topology, base, records);
  const result: GroupingResult = {
    source: host.source, platform: "x86", kernel, iommu, topology,
    functions: records.map((r, i) => {
      const pf = topology.physfn[i]!;
      return pf >= 0 ? { ...r, vendor: topology.vendor[i]!, device: topology.device[i]!, isVirtfn: true, physfn: topology.bdf(pf) } : r;
    }),
    run, groups: run.groups, ungrouped: run.ungrouped, warnings: allWarnings,
    groupOf(bdf: string) {
      const i = bdfIndex(topology).get(bdf);
      if (i === undefined) return undefined;
      const g = run.assignment.groupOf[i]!;
      return g >= 0 ? g : undefined;
    },
  };
  if (opts.acsOverride) result.overrideRun = runGrouping(topology, { ...base, override: opts.acsOverride }, records);
  if (host.hasKernelGroups) {
    const byId = new Map<number, string[]>();
    for (const r of records) {
      if (r.kernelGroup === undefined) continue;
      const l = byId.get(r.kernelGroup);
      const bdf = formatBdf(r.domain, r.bus, r.devfn);
      if (l) l.push(bdf);
      else byId.set(r.kernelGroup, [bdf]);
    }
    result.kernelGroups = [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([id, devices]) => ({ id, devices }));
  }
  return result;
}

const bdfIndexCache = new WeakMap<Topology, Map<string, number>>();
export function bdfIndex(topo: Topology): Map<string, number> {
  let m = bdfIndexCache.get(topo);
  if (!m) {
    m = new Map();
    for (let i = 0; i < topo.count; i++) m.set(topo.bdf(i), i);
    bdfIndexCache.set(topo, m);
  }
  return m;
}

/** The grouping alone, no strings: what the benchmark times. */
export function groupTopology(topo: Topology, options: GroupingOptions, extraAliases: (i: number) => readonly number[] | undefined = () => undefined) {
  const acs = new AcsState(topo, options);
  const aliases = computeAliases(topo, options.kernel, extraAliases);
  const noGroup = findUngrouped(topo, options);
  const assignment = assignGroups(topo, acs, aliases, noGroup.flags);
  return { acs, aliases, noGroup, assignment };
}

export function runGrouping(topo: Topology, options: GroupingOptions, records: PciFunction[] | null): GroupingRun {
  const { acs, aliases, noGroup, assignment } = groupTopology(topo, options, (i) => records?.[i]?.extraDmaAliases);
  const members: number[][] = Array.from({ length: assignment.groupCount }, () => []);
  const ungrouped: { device: string; reason: string }[] = [];
  for (let i = 0; i < topo.count; i++) {
    const g = assignment.groupOf[i]!;
    if (g >= 0) members[g]!.push(i);
    else ungrouped.push({ device: topo.bdf(i), reason: noGroup.reasons.get(i) ?? "no IOMMU covers it" });
  }
  const doubts = collectDoubts(topo, records, aliases, acs);
  const groups = members.map((m, id) => {
    const groupDoubts = new Set<string>();
    for (const i of m) for (const d of doubtsFor(topo, doubts, i)) groupDoubts.add(d);
    return {
      id, members: m, devices: m.map((i) => topo.bdf(i)), certain: groupDoubts.size === 0,
      reasons: [...groupReasons(topo, acs, aliases, assignment, m), ...[...groupDoubts].map((d) => `uncertain: ${d}`)],
    };
  });
  return { options, acs, aliases, assignment, groups, ungrouped, doubts };
}

/**
 * What the input hides, per function, kept only where it can change an answer: a hidden ACS
 * capability matters only where pci_acs_enabled() reads the capability.
 */
function collectDoubts(topo: Topology, records: PciFunction[] | null, aliases: AliasInfo, acs: AcsState): Map<number, string[]> {
  const doubts = new Map<number, string[]>();
  const add = (i: number, why: string): void => {
    const l = doubts.get(i);
    if (l) l.push(why);
    else doubts.set(i, [why]);
  };
  for (let i = 0; i < topo.count; i++) {
    if (topo.flags[i]! & FN_HIDDEN && records) {
      const why = acs.why[i] as AcsWhy;
      const readsCap = why === AcsWhy.PortFlags || why === AcsWhy.MultifunctionFlags || (why === AcsWhy.Quirk && acs.quirkEntry(i)?.handler === "intel_spt_pch");
      for (const h of records[i]!.hidden) if (readsCap || !hidesOnlyExtendedCaps(h)) add(i, `${topo.bdf(i)}: ${h}`);
    }
    // Function 0 alone in its slot without the header byte: assumed single-function. That only
    // matters for a switch Upstream Port (MF would make it need ACS on the path check).
    if (topo.flags[i]! & FN_MF_INFERRED && !(topo.flags[i]! & FN_MULTIFUNCTION) && topo.pcieType[i] === PCI_EXP_TYPE_UPSTREAM) {
      add(i, `${topo.bdf(i)}: multifunction bit not in the input; assumed single-function`);
    }
    const u = aliases.unknowable.get(i);
    if (u) add(i, `${topo.bdf(i)}: ${u}`);
  }
  return doubts;
}

/** Doubts that can move function i: its own and its slot's when multifunction, every bridge above it. */
function doubtsFor(topo: Topology, doubts: Map<number, string[]>, i: number): string[] {
  if (doubts.size === 0) return [];
  const out: string[] = [];
  if (topo.flags[i]! & FN_MULTIFUNCTION) {
    for (let t = topo.slotHead[i]!; t !== -1; t = topo.slotNext[t]!) out.push(...(doubts.get(t) ?? []));
  } else out.push(...(doubts.get(i) ?? []).filter((d) => !/extended capabilities|ACS assumed/.test(d)));
  for (let d = topo.upstreamBridge(i); d >= 0; d = topo.upstreamBridge(d)) out.push(...(doubts.get(d) ?? []));
  return out;
}
