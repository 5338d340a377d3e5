// Trace parsing as the real-kernel runner does it: exit 2 naming the line, lines before it
// printed; numbers, names, flags; the default (sample) host.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runTrace } from "../../src/vfio/replay/run.js";
import { parseNumber, tokenize, parseBdf } from "../../src/vfio/replay/parse.js";
import { loadVfioHost } from "../../src/vfio/host.js";
import { replayHost } from "./helpers.js";

test("tokenize: comments, tabs, repeated spaces", () => {
  assert.deepEqual(tokenize("ioctl c  VFIO_GET_API_VERSION\t# x"), ["ioctl", "c", "VFIO_GET_API_VERSION"]);
  assert.deepEqual(tokenize("   "), []);
  assert.deepEqual(tokenize("# only a comment"), []);
  assert.deepEqual(tokenize(" a b "), ["a", "b"]);
});

test("numbers: decimal, hex, u64 range, overflow is not a number", () => {
  assert.equal(parseNumber("0x1000"), 4096);
  assert.equal(parseNumber("12"), 12);
  assert.equal(parseNumber("0xffffffffffffffff"), 0xffffffffffffffffn);
  assert.equal(parseNumber("0x10000000000000000"), null);
  assert.equal(parseNumber("-1"), null);
  assert.equal(parseNumber("0x"), null);
  assert.equal(parseBdf("01:00.0"), "0000:01:00.0");
  assert.throws(() => parseBdf("0000:01:20.0"));
  assert.throws(() => parseBdf("0000:01:00.8"));
});

const bad: [string, RegExp][] = [
  ["ioctl c VFIO_NO_SUCH_REQUEST", /unknown request/],
  ["ioctl c VFIO_IOMMU_MAP_DMA flags=READ|BOGUS", /unknown flag/],
  ["ioctl c VFIO_DEVICE_GET_REGION_INFO index=0x100000000", /does not fit/],
  ["ioctl c VFIO_IOMMU_GET_INFO flags=1", /not an input/],
  ["ioctl c VFIO_IOMMU_MAP_DMA nosuch=1", /has no field/],
  ["ioctl x VFIO_GET_API_VERSION", /not bound/],
  ["ioctl c VFIO_CHECK_EXTENSION arg=c", /is a file/],
  ["bind 0000:01:00.0", /expected bind/],
  ["bind 1:0.0 vfio-pci", /not a PCI address/],
  ["x = close c", /nothing to bind/],
  ["frobnicate", /unknown call/],
  ["open /dev/vfio/vfio", /needs a name/],
  ["m = mem lots", /expected NAME = mem/],
  ["setrlimit nofile 1", /expected setrlimit/],
];

for (const [line, re] of bad) {
  test(`exit 2 for '${line}'`, () => {
    const r = runTrace(`c = open /dev/vfio/vfio\nioctl c VFIO_GET_API_VERSION\n${line}\nioctl c VFIO_GET_API_VERSION\n`, replayHost(), { traceName: "t.trace" });
    assert.equal(r.exitCode, 2);
    assert.deepEqual(r.lines, ["1 ok 0", "2 ok 0"]);
    assert.match(r.error ?? "", /^t\.trace:3: /);
    assert.match(r.error ?? "", re);
  });
}

test("the built-in sample host (no host option) runs a trace", () => {
  const host = loadVfioHost({});
  assert.ok(host.devices.length > 0);
  const r = runTrace("c = open /dev/vfio/vfio\nioctl c VFIO_CHECK_EXTENSION arg=VFIO_TYPE1v2_IOMMU\nbind 0000:99:00.0 vfio-pci\n", host);
  assert.deepEqual(r.lines, ["1 ok 0", "2 ok 1", "3 err ENODEV"]);
});

test("the replay host read from its lspci hex dump gives the same answers as from sysfs for a single-device session", () => {
  const lspci = loadVfioHost({ lspci: new URL("../../../fixtures/oracle/replay-host/lspci-vvvnnD-xxxx.txt", import.meta.url).pathname, kernel: "6.1" });
  const g = lspci.byBdf.get("0000:01:00.0");
  assert.ok(g);
  assert.equal(g.group >= 0, true);
});
