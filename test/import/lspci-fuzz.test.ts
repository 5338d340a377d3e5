// Fuzz: mutated real dumps and sysfs config files either parse or fail with an InputError that
// names the file and a line in range — never another exception (issue 2, "Speed and bad input").

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InputError } from "../../src/import/errors.js";
import { parseLspci } from "../../src/import/lspci.js";
import { decodeConfigSpace } from "../../src/pci/config.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures");
const DUMPS = [
  "realdata/dell-t330-pve8/lspci.txt",
  "realdata/gb-b550aorus-deb12/lspci.txt",
  "realdata/dell-r720-pve8/groups.txt",
  "oracle/seed-0001/lspci-vvvnn.txt",
  "oracle/seed-0001/lspci-vvvnnD-xxxx.txt",
].map((rel) => ({ name: rel, lines: readFileSync(path.join(FIXTURES, rel), "utf8").split("\n") }));
const CONFIGS = ["0000:00:02.0", "0000:01:00.0", "0000:00:03.0"].map((b) => new Uint8Array(readFileSync(path.join(FIXTURES, "oracle/seed-0001/sysfs", b, "config"))));

type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "flip"; line: number; at: number; ch: string }
  | { kind: "splice"; line: number; at: number; text: string }
  | { kind: "duplicate" | "delete"; line: number; count: number }
  | { kind: "swap"; line: number; other: number };

const fragments = fc.constantFrom("pcilib: Error reading /sys/bus/pci/devices/0000:00:00.0/label", "\0", "\t", "\n", "\n\n", "00:", "ff0: ", "\tBus: primary=zz", "[ffff:ffff]", "Capabilities: [100 v1] Access Control Services", "\uFFFD", "IOMMU Group 3:", "00:1f.7 ", " (rev ");
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("flip" as const), line: fc.nat(), at: fc.nat(), ch: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom("\0", "\t", ":", ".", "g", " ")) }),
  fc.record({ kind: fc.constant("splice" as const), line: fc.nat(), at: fc.nat(), text: fc.oneof(fragments, fc.string({ maxLength: 20 })) }),
  fc.record({ kind: fc.constantFrom("duplicate" as const, "delete" as const), line: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant("swap" as const), line: fc.nat(), other: fc.nat() }),
);

function mutate(lines: string[], m: Mutation): string {
  const out = lines.slice();
  const n = out.length;
  switch (m.kind) {
    case "truncate":
      return out.join("\n").slice(0, m.at % (out.join("\n").length + 1));
    case "flip": {
      const l = out[m.line % n]!;
      const at = m.at % (l.length + 1);
      out[m.line % n] = l.slice(0, at) + m.ch + l.slice(at + 1);
      break;
    }
    case "splice": {
      const l = out[m.line % n]!;
      const at = m.at % (l.length + 1);
      out[m.line % n] = l.slice(0, at) + m.text + l.slice(at);
      break;
    }
    case "duplicate":
      out.splice(m.line % n, 0, ...out.slice(m.line % n, (m.line % n) + m.count));
      break;
    case "delete":
      out.splice(m.line % n, m.count);
      break;
    case "swap": {
      const a = m.line % n;
      const b = m.other % n;
      [out[a], out[b]] = [out[b]!, out[a]!];
      break;
    }
  }
  return out.join("\n");
}

function parsesOrInputError(text: string, file: string): void {
  try {
    const host = parseLspci(text, file);
    assert.ok(host.functions.length > 0);
    for (const f of host.functions) {
      assert.ok(f.bus >= 0 && f.bus <= 0xff && f.devfn >= 0 && f.devfn <= 0xff);
      assert.ok(Array.isArray(f.hidden));
    }
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    assert.equal(e.file, file);
    const lines = text.split("\n").length;
    assert.ok(e.line !== undefined && Number.isInteger(e.line) && e.line >= 1 && e.line <= lines, `line ${e.line} of ${lines}`);
    assert.ok(e.message.startsWith(`${file}:${e.line}: `));
  }
}

describe("lspci fuzz", () => {
  for (const dump of DUMPS) {
    it(`mutated ${dump.name}`, () => {
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
        let text = dump.lines.join("\n");
        for (const m of ms) text = mutate(text.split("\n"), m);
        parsesOrInputError(text, "fuzz.txt");
      }), { numRuns: 150 });
    });
  }
  it("arbitrary text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => parsesOrInputError(text, "any.txt")), { numRuns: 500 });
  });
});

describe("config-space fuzz", () => {
  it("mutated sysfs config files decode or fail with InputError", () => {
    const arb = fc.record({
      which: fc.nat(CONFIGS.length - 1),
      length: fc.oneof(fc.constantFrom(0, 63, 64, 65, 255, 256, 257, 300, 1024, 4095, 4096), fc.nat(4096)),
      flips: fc.array(fc.tuple(fc.nat(4095), fc.nat(255)), { maxLength: 16 }),
    });
    fc.assert(fc.property(arb, ({ which, length, flips }) => {
      const base = CONFIGS[which]!;
      const bytes = new Uint8Array(length);
      bytes.set(base.subarray(0, Math.min(length, base.length)));
      for (const [at, v] of flips) if (at < length) bytes[at] = v;
      try {
        const f = decodeConfigSpace(bytes, { domain: 0, bus: 1, devfn: 0 }, { file: "config" });
        assert.ok(f.headerType >= -1 && f.headerType <= 2);
        if (f.pcie) assert.ok(f.pcie.offset >= 0x40 && f.pcie.offset < Math.min(256, length));
        if (f.acs) assert.ok(f.acs.offset >= 0x100 && f.acs.offset < length);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        assert.ok(length < 64);
        assert.equal(e.file, "config");
      }
    }), { numRuns: 1000 });
  });
  it("random bytes of any length ≥ 64 always decode", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 4096 }), (bytes) => {
      decodeConfigSpace(bytes, { domain: 0, bus: 0, devfn: 0 }, { file: "config" });
    }), { numRuns: 500 });
  });
});
