// Real-kernel identity: every trace under fixtures/traces (the oracle's examples and our own
// recordings) gives, line by line, what Linux 6.1 and 6.12 answered on the replay host.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadSysfsHost } from "../../src/vfio/host.js";
import { runTrace } from "../../src/vfio/replay/run.js";

const root = fileURLToPath(new URL("../../../fixtures/", import.meta.url));
const host = loadSysfsHost(root + "oracle/replay-host/sysfs");

for (const dir of ["traces/examples", "traces/recorded"]) {
  const d = root + dir;
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).filter((x) => x.endsWith(".trace")).sort()) {
    const name = f.slice(0, -6);
    for (const k of ["6.1", "6.12"]) {
      const resFile = `${d}/${name}.${k}.results`;
      if (!existsSync(resFile)) continue;
      test(`${dir}/${name} on ${k}`, () => {
        const expected = readFileSync(resFile, "utf8").split("\n").filter((l) => l.length > 0);
        const r = runTrace(readFileSync(`${d}/${f}`, "utf8"), host, { kernel: k, traceName: f });
        assert.deepEqual(r.lines, expected);
        const statusFile = `${d}/${name}.${k}.status`;
        const status = existsSync(statusFile) ? /exit status (\d+)/.exec(readFileSync(statusFile, "utf8")) : null;
        assert.equal(r.exitCode, status ? Number(status[1]) : 0);
      });
    }
  }
}
