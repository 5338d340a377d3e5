// Paths of the project's fixtures and the kernel's ground truth in both case formats
// (a TypeScript port of shared/tools/groups_truth.py).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../../..");
export const FIXTURES = join(ROOT, "fixtures");

const BDF = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])\b/;

export function fullBdf(text: string): string {
  const m = BDF.exec(text.toLowerCase());
  if (!m) throw new Error(`not a BDF: ${text}`);
  return `${m[1] ?? "0000"}:${m[2]}:${m[3]}.${m[4]}`;
}

export interface Truth {
  groups: string[][];
  ungrouped: Set<string>;
}

export function truthOf(caseDir: string): Truth {
  const lines = readFileSync(join(caseDir, "groups.txt"), "utf8").split("\n").filter((l) => l.trim());
  const by = new Map<string, string[]>();
  const ungrouped = new Set<string>();
  if (lines[0]!.startsWith("IOMMU Group")) {
    for (const l of lines) {
      const m = /^IOMMU Group (\d+): (\S+)/.exec(l)!;
      by.set(m[1]!, [...(by.get(m[1]!) ?? []), fullBdf(m[2]!)]);
    }
    const grouped = new Set([...by.values()].flat());
    for (const l of readFileSync(join(caseDir, "lspci.txt"), "latin1").split("\n")) {
      if (!BDF.test(l) || l.startsWith("\t")) continue;
      const d = fullBdf(l.split(/\s/)[0]!);
      if (!grouped.has(d)) ungrouped.add(d);
    }
  } else {
    for (const l of lines) {
      const [bdf, g] = l.split(/\s+/);
      if (g === "none") ungrouped.add(fullBdf(bdf!));
      else by.set(g!, [...(by.get(g!) ?? []), fullBdf(bdf!)]);
    }
  }
  return { groups: [...by.values()], ungrouped };
}

/** The kernel that made a case's groups: source.txt `kernel:` line, else 6.1 for oracle cases. */
export function kernelOf(caseDir: string): string {
  const src = join(caseDir, "source.txt");
  if (existsSync(src)) {
    const m = /^kernel:\s*(\d+\.\d+)/m.exec(readFileSync(src, "utf8"));
    if (m) return m[1]!;
  }
  return "6.1";
}

export const realHosts = (): string[] => readdirSync(join(FIXTURES, "realdata")).filter((d) => existsSync(join(FIXTURES, "realdata", d, "groups.txt"))).map((d) => join(FIXTURES, "realdata", d));
export const oracleCases = (): string[] => readdirSync(join(FIXTURES, "oracle")).filter((d) => d.startsWith("seed-")).map((d) => join(FIXTURES, "oracle", d));

/** Sorted canonical form of a partition, for exact comparison. */
export function canonical(groups: string[][]): string[] {
  return groups.map((g) => [...g].sort().join(",")).sort();
}
