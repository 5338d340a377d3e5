// Every ground-truth case the project carries, in every input form it offers, gives exactly
// the kernel's groups (the same check as shared/tools/check-groups, from fixtures).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { computeGroups } from "../../src/groups/compute.js";
import { parseLspci } from "../../src/import/lspci.js";
import { readSysfs } from "../../src/import/sysfs.js";
import type { HostInput } from "../../src/pci/function.js";
import { canonical, kernelOf, oracleCases, realHosts, truthOf } from "../support/fixtures.js";

function stripKernelAnswer(text: string): string {
  return text.split("\n").filter((l) => !/^\s*IOMMU group:/.test(l)).join("\n");
}

function check(caseDir: string, host: HostInput): void {
  host.hasKernelGroups = false;
  for (const f of host.functions) delete f.kernelGroup;
  const r = computeGroups(host, { kernel: kernelOf(caseDir) });
  const truth = truthOf(caseDir);
  assert.deepEqual(canonical(r.groups.map((g) => g.devices)), canonical(truth.groups));
  assert.deepEqual(new Set(r.ungrouped.map((u) => u.device)), truth.ungrouped);
}

describe("real hosts: lspci text gives the kernel's groups", () => {
  for (const dir of realHosts()) {
    it(`${basename(dir)} (kernel ${kernelOf(dir)})`, () => {
      check(dir, parseLspci(stripKernelAnswer(readFileSync(join(dir, "lspci.txt"), "latin1")), join(dir, "lspci.txt")));
    });
  }
});

describe("oracle corpus (QEMU + Linux 6.1): every input form gives the kernel's groups", () => {
  for (const dir of oracleCases()) {
    for (const name of ["lspci-vvvnn.txt", "lspci-vvvnnD-xxxx.txt"]) {
      if (!existsSync(join(dir, name))) continue;
      it(`${basename(dir)}/${name}`, () => check(dir, parseLspci(readFileSync(join(dir, name), "latin1"), join(dir, name))));
    }
    if (existsSync(join(dir, "sysfs"))) it(`${basename(dir)}/sysfs`, () => check(dir, readSysfs(join(dir, "sysfs"))));
  }
});
