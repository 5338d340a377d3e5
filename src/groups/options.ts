// Everything besides the topology that decides the groups: kernel version, IOMMU kind, boot-time
// facts, and the out-of-tree ACS override.

import type { KernelVersion } from "../pci/version.js";

export type IommuKind = "intel" | "amd" | "none";

export interface AcsOverride {
  downstream: boolean;
  multifunction: boolean;
  /** vendor << 16 | device */
  ids: number[];
  /** LF Edge EVE's variant: also covers ports whose ACS capability lacks needed bits. */
  ignoreAcsCapability: boolean;
  text: string;
}

export interface GroupingOptions {
  kernel: KernelVersion;
  iommu: IommuKind;
  /** ACSCtl in the input is what the booted kernel wrote (dumps of running hosts). */
  acsCtrlIsLive: boolean;
  override: AcsOverride | null;
  /** dmesg said "Failed to enable Intel PCH ACS quirk". */
  pchQuirkFailed: boolean;
  /** AMD IVRS ranges cover functions below the IOMMU's devfn (firmware-dependent; default no). */
  ivrsCoversRootComplex: boolean;
}

/** pcie_acs_override= parsing as the out-of-tree patch does (iommu-groups.md §8). */
export function parseAcsOverride(text: string, ignoreAcsCapability = false): AcsOverride | string {
  const o: AcsOverride = { downstream: false, multifunction: false, ids: [], ignoreAcsCapability, text };
  for (const raw of text.split(",")) {
    const tok = raw.trim();
    if (!tok) continue;
    if (tok.startsWith("downstream")) o.downstream = true;
    else if (tok.startsWith("multifunction")) o.multifunction = true;
    else if (tok.startsWith("id:")) {
      const m = /^id:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(tok);
      if (!m) return `bad override token "${tok}": expected id:vvvv:dddd (4 hex digits each)`;
      // The patch keeps at most 15 ids (array of 16, check >= 15); the rest are dropped.
      if (o.ids.length >= 15) return `too many id: entries; the patch accepts at most 15`;
      o.ids.push((parseInt(m[1]!, 16) << 16) | parseInt(m[2]!, 16));
    } else return `unknown override token "${tok}": expected downstream, multifunction or id:vvvv:dddd`;
  }
  return o;
}
