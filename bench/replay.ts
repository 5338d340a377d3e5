// Trace replay speed: simple calls (CHECK_EXTENSION, GET_STATUS, GET_API_VERSION) and a
// map/unmap workload, per second, on the replay host.

import { fileURLToPath } from "node:url";
import { loadSysfsHost } from "../src/vfio/host.js";
import { runTrace } from "../src/vfio/replay/run.js";

const SYSFS = fileURLToPath(new URL("../../fixtures/oracle/replay-host/sysfs", import.meta.url));

function setup(): string[] {
  return [
    "c = open /dev/vfio/vfio",
    "bind 0000:01:00.0 vfio-pci",
    "g = open /dev/vfio/group-of 0000:01:00.0",
    "ioctl g VFIO_GROUP_SET_CONTAINER container_fd=c",
    "ioctl c VFIO_SET_IOMMU arg=VFIO_TYPE1v2_IOMMU",
    "setrlimit memlock 0x40000000",
    "ram = mem 0x100000",
  ];
}

function time(text: string, calls: number, sysfs: string): number {
  const host = loadSysfsHost(sysfs);
  runTrace(text, host, { kernel: "6.1", onLine: () => {} }); // warm-up
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    runTrace(text, host, { kernel: "6.1", onLine: () => { n++; } });
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n < calls) throw new Error("replay bench: fewer result lines than calls");
    best = Math.min(best, dt);
  }
  return Math.round(calls / best);
}

export async function runReplayBench(sysfs = SYSFS): Promise<object[]> {
  const simple = setup();
  const N = 300000;
  const ops = [
    "ioctl c VFIO_CHECK_EXTENSION arg=VFIO_TYPE1v2_IOMMU",
    "ioctl g VFIO_GROUP_GET_STATUS",
    "ioctl c VFIO_GET_API_VERSION",
  ];
  for (let i = 0; i < N; i++) simple.push(ops[i % 3]!);
  const simpleRate = time(simple.join("\n") + "\n", N, sysfs);

  const mm = setup();
  const M = 50000;
  for (let i = 0; i < M; i++) {
    const iova = "0x" + ((i % 256) * 0x1000).toString(16);
    mm.push(i % 2 === 0
      ? `ioctl c VFIO_IOMMU_MAP_DMA flags=READ|WRITE vaddr=ram+${iova} iova=${iova} size=0x1000`
      : `ioctl c VFIO_IOMMU_UNMAP_DMA iova=0x${(((i - 1) % 256) * 0x1000).toString(16)} size=0x1000`);
  }
  const mapRate = time(mm.join("\n") + "\n", M, sysfs);
  return [
    { workload: "replay_simple", calls_per_s: simpleRate, calls: N },
    { workload: "replay_map_unmap", calls_per_s: mapRate, calls: M },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await runReplayBench()) process.stdout.write(JSON.stringify(r) + "\n");
}
