// Printing `vfio-lab groups`: the JSON object of the contract, or a table for people.

import type { GroupingResult, GroupingRun } from "../groups/compute.js";
import type { Explanation } from "../groups/explain.js";
import { AcsWhy } from "../groups/acs.js";
import { describeAcs } from "../groups/describe.js";
import { deviceName, hex4 } from "./names.js";
import { padEnd, style, truncate, visibleLength, wrap } from "./style.js";

export function groupsJson(r: GroupingResult, explanation: Explanation | null): object {
  const groupsOf = (run: GroupingRun) => run.groups.map((g) => ({ id: g.id, devices: g.devices, certain: g.certain, reasons: g.reasons }));
  const out: Record<string, unknown> = {
    source: r.source,
    platform: r.platform,
    kernel: r.kernel.text,
    iommu: r.iommu,
    groups: groupsOf(r.overrideRun ?? r.run),
    ungrouped: r.ungrouped,
  };
  if (r.kernelGroups) out.kernelGroups = r.kernelGroups;
  const warnings = [...r.warnings];
  if (r.overrideRun) {
    const pretended = pretendedIsolation(r);
    out.acsOverride = { spec: r.overrideRun.options.override!.text, withoutOverride: groupsOf(r.run), pretended };
    warnings.push(...pretended.map((p) => p.warning));
  }
  out.warnings = warnings;
  if (explanation) out.explain = explanation;
  return out;
}

export interface Pretended {
  device: string;
  warning: string;
}

/** Devices the override declares isolating although they do not block peer-to-peer traffic. */
export function pretendedIsolation(r: GroupingResult): Pretended[] {
  const o = r.overrideRun;
  if (!o) return [];
  const t = r.topology;
  const out: Pretended[] = [];
  for (let i = 0; i < t.count; i++) {
    const w = o.acs.why[i] as AcsWhy;
    if (w !== AcsWhy.OverrideDownstream && w !== AcsWhy.OverrideMultifunction && w !== AcsWhy.OverrideId) continue;
    if (r.run.acs.enabled[i]) continue;
    out.push({
      device: t.bdf(i),
      warning: `${t.bdf(i)}: ${describeAcs(t, o.acs, i)}; peer-to-peer DMA ${w === AcsWhy.OverrideDownstream ? "between devices below it" : "between it and its slot siblings"} is still not redirected through the IOMMU, so the separate groups the override makes around it are not real isolation`,
    });
  }
  return out;
}

export function printGroups(r: GroupingResult, log: (s: string) => void): void {
  const run = r.overrideRun ?? r.run;
  const t = r.topology;
  const rec = r.functions;
  const title = `IOMMU groups of ${r.source}: kernel ${r.kernel.text} rules, ${r.iommu === "amd" ? "AMD-Vi" : r.iommu === "intel" ? "Intel VT-d" : "no"} IOMMU, ${r.platform}`;
  log(style.bold(title) + (r.overrideRun ? style.yellow(`  [with pcie_acs_override=${r.overrideRun.options.override!.text}]`) : ""));
  const width = Math.max(60, Math.min(process.stdout.columns ?? 120, 160));
  const nameWidth = Math.max(20, width - 45);
  const rows: { g: number; cells: string[] }[] = [];
  for (const g of run.groups) {
    for (const i of g.members) {
      const f = rec[i]!;
      const name = truncate(deviceName(f, t.vendor[i]!, t.device[i]!), nameWidth);
      rows.push({ g: g.id, cells: [t.bdf(i), `${hex4(t.vendor[i]!)}:${hex4(t.device[i]!)}`, name, f.driver ?? "-"] });
    }
  }
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r2) => visibleLength(r2.cells[c]!)), 4));
  for (const g of run.groups) {
    const tag = g.certain ? "" : style.yellow("  (uncertain)");
    log("");
    log(style.cyan(style.bold(`Group ${g.id}`)) + style.dim(`  ${g.members.length} device${g.members.length === 1 ? "" : "s"}`) + tag);
    for (const row of rows.filter((x) => x.g === g.id)) {
      const [bdf, id, name, drv] = row.cells as [string, string, string, string];
      log(`  ${padEnd(bdf, w[0]!)}  ${style.dim(padEnd(id, w[1]!))}  ${padEnd(name, w[2]!)}  ${drv === "vfio-pci" ? style.green(drv) : style.dim(drv)}`);
    }
    for (const reason of g.reasons) log(style.dim(`    · ${wrap(reason, width - 6, "      ")}`));
  }
  if (run.ungrouped.length) {
    log("");
    log(style.bold("No IOMMU group"));
    for (const u of run.ungrouped) log(`  ${u.device}  ${style.dim(wrap(u.reason, width - 16, "                "))}`);
  }
  log("");
  log(`${run.groups.length} groups, ${run.ungrouped.length} device${run.ungrouped.length === 1 ? "" : "s"} without a group, ${t.count} functions.`);
  if (r.overrideRun) printOverrideComparison(r, log);
  if (r.kernelGroups) printKernelComparison(r, log);
  for (const wmsg of r.warnings) log(style.yellow(`warning: ${wmsg}`));
}

function printOverrideComparison(r: GroupingResult, log: (s: string) => void): void {
  const before = r.run.groups.length;
  const after = r.overrideRun!.groups.length;
  log("");
  log(style.bold(`Without the override the kernel makes ${before} groups; with it, ${after}.`));
  for (const g of r.run.groups) {
    const split = new Set(g.members.map((i) => r.overrideRun!.assignment.groupOf[i]!));
    if (split.size > 1) log(`  today's group ${g.id} {${g.devices.join(", ")}} splits into ${split.size}`);
  }
  for (const p of pretendedIsolation(r)) log(style.red(`  ! ${p.warning}`));
}

function printKernelComparison(r: GroupingResult, log: (s: string) => void): void {
  const key = (devs: string[]): string => [...devs].sort().join(",");
  const ours = new Set(r.run.groups.map((g) => key(g.devices)));
  const theirs = new Set(r.kernelGroups!.map((g) => key(g.devices)));
  const onlyKernel = r.kernelGroups!.filter((g) => !ours.has(key(g.devices)));
  const onlyOurs = r.run.groups.filter((g) => !theirs.has(key(g.devices)));
  log("");
  if (!onlyKernel.length && !onlyOurs.length) {
    log(style.green(`The kernel's own groups in the input agree with these (${theirs.size} groups).`));
    return;
  }
  log(style.red(style.bold(`The kernel's own groups in the input differ:`)));
  for (const g of onlyKernel) log(style.red(`  kernel group ${g.id}: {${g.devices.join(", ")}}`));
  for (const g of onlyOurs) log(style.red(`  ours, group ${g.id}: {${g.devices.join(", ")}}`));
}

export function printExplanation(e: Explanation, log: (s: string) => void): void {
  const width = Math.max(60, Math.min(process.stdout.columns ?? 120, 160));
  log(style.bold(`Why ${e.device} is ${e.group === null ? "without a group" : `in group ${e.group}`}`));
  e.steps.forEach((s, k) => log(`  ${k + 1}. ${wrap(s, width - 6, "     ")}`));
  if (e.members.length) log(`  Group ${e.group}: ${e.members.join(", ")}`);
  for (const a of e.toIsolate) log(style.cyan(`  → ${wrap(a, width - 6, "    ")}`));
}
