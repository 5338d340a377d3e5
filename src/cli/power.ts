// `groups --platform power`: PowerNV partitionable endpoints shown as groups.

import type { GroupingResult } from "../groups/compute.js";

export interface PowerOutput {
  source: string;
  platform: "power";
  groups: { id: number; devices: string[]; certain: boolean; reasons: string[] }[];
  ungrouped: { device: string; reason: string }[];
  warnings: string[];
  text: string[];
}

export function powerGroups(r: GroupingResult): PowerOutput {
  // Filled in by the POWER model (src/iommu/power); until it is wired, say so rather than guess.
  return {
    source: r.source, platform: "power", groups: [], ungrouped: [], warnings: ["POWER PE forming is not wired yet"], text: ["POWER PE forming is not wired yet"],
  };
}
