// groups100k / groups1m: all IOMMU groups of a generated host, timed from the flat topology.

import { groupTopology } from "../src/groups/compute.js";
import type { GroupingOptions } from "../src/groups/options.js";
import { generateSyntheticHost } from "../src/import/synth.js";
import { Topology } from "../src/pci/topology.js";
import { parseKernelVersion } from "../src/pci/version.js";

export function buildSyntheticTopology(n: number): Topology {
  // The generator may overshoot by one root-port subtree: size generously, then link.
  const topo = new Topology(n);
  generateSyntheticHost(n, (f) => {
    topo.add(f);
  });
  topo.link();
  return topo;
}

export function runGroupsBench(sizes: [string, number][] = [["groups100k", 100_000], ["groups1m", 1_000_000]]): object[] {
  const options: GroupingOptions = { kernel: parseKernelVersion("6.12")!, iommu: "intel", acsCtrlIsLive: true, override: null, pchQuirkFailed: false, ivrsCoversRootComplex: false };
  const out: object[] = [];
  for (const [name, n] of sizes) {
    const t0 = performance.now();
    const topo = buildSyntheticTopology(n);
    const t1 = performance.now();
    const heapBefore = process.memoryUsage().heapUsed;
    // Best of 3: the first run also pays for JIT warm-up.
    let best = Infinity;
    let groups = 0;
    for (let k = 0; k < 3; k++) {
      const s = performance.now();
      const r = groupTopology(topo, options);
      best = Math.min(best, performance.now() - s);
      groups = r.assignment.groupCount;
    }
    const heapAfter = process.memoryUsage().heapUsed;
    out.push({
      workload: name, functions: topo.count, groups, ms_total: round(best), ms_build_topology: round(t1 - t0),
      bytes_per_function: Math.round((topologyBytes(topo) + Math.max(0, heapAfter - heapBefore) / 3) / topo.count),
    });
  }
  return out;
}

function topologyBytes(t: Topology): number {
  let b = 0;
  for (const v of Object.values(t)) if (ArrayBuffer.isView(v)) b += v.byteLength;
  return b;
}

const round = (x: number): number => Math.round(x * 100) / 100;
