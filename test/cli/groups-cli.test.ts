// The command line as users and outside checks run it: exit statuses, the JSON contract,
// errors naming file and line, --explain, --acs-override.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, ROOT } from "../support/fixtures.js";

const BIN = join(ROOT, "bin", "vfio-lab.js");
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const tmp = mkdtempSync(join(tmpdir(), "vfio-lab-test-"));

describe("vfio-lab groups", () => {
  it("prints the sample host's groups with reasons (npm start)", () => {
    const r = run("groups", "--sample");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /0000:06:00\.0 .*10de:2484/);
    assert.match(r.stdout, /shares multifunction slot 0000:06:00/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stdout, /\x1b\[/, "NO_COLOR respected");
  });

  it("--json follows the contract", () => {
    const r = run("groups", "--lspci", join(FIXTURES, "realdata", "gb-b550aorus-deb12", "lspci.txt"), "--json", "--kernel", "6.1");
    assert.equal(r.status, 0);
    const out = JSON.parse(r.stdout);
    assert.equal(out.platform, "x86");
    assert.ok(out.source.startsWith("lspci:"));
    for (const g of out.groups) {
      assert.equal(typeof g.id, "number");
      assert.equal(typeof g.certain, "boolean");
      assert.ok(g.reasons.length >= g.devices.length);
      for (const d of g.devices) assert.match(d, /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/);
    }
    assert.deepEqual(out.ungrouped.map((u: { device: string }) => u.device).sort(), ["0000:00:00.0", "0000:00:00.2"]);
    assert.ok(Array.isArray(out.kernelGroups), "the dump carries IOMMU group lines");
    assert.ok(Array.isArray(out.warnings));
  });

  it("--explain says why, step by step", () => {
    const r = run("groups", "--sample", "--explain", "04:00.0");
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Why 0000:04:00\.0 is in group/);
    assert.match(r.stdout, /0000:03:08\.0.*no ACS capability/);
    assert.match(r.stdout, /pcie_acs_override=downstream would make 0000:03:08\.0 count as isolating/);
  });

  it("--acs-override shows the patched groups and warns about pretended isolation", () => {
    const r = run("groups", "--sample", "--acs-override", "downstream,multifunction", "--json");
    assert.equal(r.status, 0);
    const out = JSON.parse(r.stdout);
    assert.ok(out.groups.length > out.acsOverride.withoutOverride.length);
    assert.ok(out.warnings.some((w: string) => /0000:03:08\.0.*not real isolation/.test(w)));
    assert.equal(run("groups", "--sample", "--acs-override", "sideways").status, 2);
  });

  it("bad input exits 2 naming the file and line, never a stack trace", () => {
    const garbage = join(tmp, "garbage.txt");
    writeFileSync(garbage, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0xfe]));
    for (const args of [["--lspci", garbage], ["--lspci", join(tmp, "missing.txt")], ["--sysfs", tmp], ["--topology", garbage]]) {
      const r = run("groups", ...args);
      assert.equal(r.status, 2, args.join(" "));
      assert.match(r.stderr, /garbage\.txt|missing\.txt|vfio-lab-test/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
    const uncovered = join(tmp, "uncovered.yaml");
    writeFileSync(uncovered, `functions:\n  - { bdf: "00:01.0", id: "8086:1901", type: root-port, bus: { secondary: 1, subordinate: 4 } }\n  - { bdf: "03:00.0", id: "8086:1533", type: endpoint }\n`);
    const r = run("groups", "--topology", uncovered);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /uncovered\.yaml:3: .*no bridge has it as its secondary bus/);
    const badField = join(tmp, "bad.yaml");
    writeFileSync(badField, `functions:\n  - bdf: "00:01.0"\n    id: "8086:1901"\n    type: rooot-port\n`);
    assert.match(run("groups", "--topology", badField).stderr, /bad\.yaml:4: functions\.0\.type/);
  });

  it("--help everywhere, unknown options are usage errors", () => {
    for (const c of [[], ["groups"], ["synth"], ["snapshot"]]) assert.equal(run(...c, "--help").status, 0);
    assert.equal(run("groups", "--bogus").status, 2);
  });
});

describe("vfio-lab synth and snapshot", () => {
  it("synth writes a topology that loads back and groups", () => {
    const file = join(tmp, "synth.json");
    assert.equal(run("synth", "--functions", "2000", "--seed", "3", "-o", file).status, 0);
    const r = run("groups", "--topology", file, "--json");
    assert.equal(r.status, 0);
    const out = JSON.parse(r.stdout);
    const n = out.groups.reduce((s: number, g: { devices: string[] }) => s + g.devices.length, 0);
    assert.ok(n >= 2000);
  });

  it("snapshot of a sysfs copy loads again with the same groups and the kernel's answer", () => {
    const sysfs = join(FIXTURES, "oracle", "replay-host", "sysfs");
    const file = join(tmp, "snap.json");
    assert.equal(run("snapshot", "--sysfs", sysfs, "-o", file).status, 0);
    const a = JSON.parse(run("groups", "--sysfs", sysfs, "--json", "--kernel", "6.1").stdout);
    const b = JSON.parse(run("groups", "--snapshot", file, "--json", "--kernel", "6.1").stdout);
    assert.deepEqual(b.groups.map((g: { devices: string[] }) => g.devices), a.groups.map((g: { devices: string[] }) => g.devices));
    assert.deepEqual(b.kernelGroups, a.kernelGroups);
    assert.ok(a.kernelGroups.length > 0);
  });
});
