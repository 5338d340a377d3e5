// `npm run bench [-- --json]`: every benchmark of the project. With --json, one JSON object per
// line and nothing else on stdout.

import { runGroupsBench } from "./groups.js";
import { runPagetableBench } from "./pagetable.js";

const json = process.argv.includes("--json");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice(7);

function emit(obj: object): void {
  if (json) process.stdout.write(JSON.stringify(obj) + "\n");
  else {
    const { workload, ...rest } = obj as { workload: string };
    process.stdout.write(`${workload.padEnd(16)} ${Object.entries(rest).map(([k, v]) => `${k}=${v}`).join("  ")}\n`);
  }
}

async function main(): Promise<void> {
  const progress = (s: string): void => {
    if (!json) process.stderr.write(`running ${s}...\n`);
  };
  if (!only || only === "pagetable") {
    progress("page-table workloads");
    for (const r of await runPagetableBench()) emit(r);
  }
  if (!only || only === "groups") {
    progress("grouping of generated hosts");
    for (const r of runGroupsBench()) emit(r);
  }
  if (!only || only === "replay") {
    try {
      const replayModule = "./replay.js"; // written by the VFIO layer; optional here
      const mod = (await import(replayModule)) as { runReplayBench?: () => Promise<object[]> };
      if (mod.runReplayBench) {
        progress("trace replay");
        for (const r of await mod.runReplayBench()) emit(r);
      }
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
  }
}

await main();
