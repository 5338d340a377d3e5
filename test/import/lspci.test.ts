// lspci importer: the oracle corpus (text-only vs hex vs sysfs), the 12 real hosts, and
// hand-made dumps for every text form and error case.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/import/errors.js";
import { parseLspci } from "../../src/import/lspci.js";
import { formatBdf, parseBdf } from "../../src/pci/address.js";
import { decodeConfigSpace } from "../../src/pci/config.js";
import type { HostInput, PciFunction } from "../../src/pci/function.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures");
const read = (rel: string): string => readFileSync(path.join(FIXTURES, rel), "utf8");
const bdf = (f: PciFunction): string => formatBdf(f.domain, f.bus, f.devfn);
const byBdf = (h: HostInput): Map<string, PciFunction> => new Map(h.functions.map((f) => [bdf(f), f]));
const fn = (h: HostInput, addr: string): PciFunction => {
  const f = byBdf(h).get(addr);
  assert.ok(f, `${addr} parsed`);
  return f;
};

/** The fields IOMMU grouping depends on; SR-IOV control compared on its defined bits 0–4. */
function groupingFacts(f: PciFunction, asText = false): Record<string, unknown> {
  // lspci prints ARIFwd only for Root and Downstream Ports (pciutils cap_express_dev2()).
  const ariShown = !asText || f.pcie?.type === 4 || f.pcie?.type === 6;
  return {
    classCode: f.classCode, revision: f.revision, headerType: f.headerType,
    buses: [f.primaryBus, f.secondaryBus, f.subordinateBus],
    pcie: f.pcie && { offset: f.pcie.offset, type: f.pcie.type, version: f.pcie.version, slot: f.pcie.slotImplemented, ariSup: ariShown && f.pcie.ariForwardingSupported, ariEn: ariShown && f.pcie.ariForwardingEnabled },
    acs: f.acs && { offset: f.acs.offset, cap: f.acs.cap, ctrl: f.acs.ctrl },
    ari: f.ari,
    sriov: f.sriov && { ...f.sriov, ctrl: f.sriov.ctrl & 0x1f },
    // lspci prints no Subsystem line when the subsystem vendor reads 0 or ffff.
    subsystem: f.subsystemVendor && f.subsystemVendor !== 0xffff ? [f.subsystemVendor, f.subsystemDevice] : null,
  };
}

const ORACLE_CASES = readdirSync(path.join(FIXTURES, "oracle")).filter((s) => s.startsWith("seed-") || s === "replay-host");

describe("oracle corpus: text-only, hex and sysfs agree", () => {
  it("has all 40 corpus cases and the replay host", () => assert.equal(ORACLE_CASES.length, 41));
  for (const seed of ORACLE_CASES) {
    it(seed, () => {
      const text = parseLspci(read(`oracle/${seed}/lspci-vvvnn.txt`), "lspci-vvvnn.txt");
      const hex = parseLspci(read(`oracle/${seed}/lspci-vvvnnD-xxxx.txt`), "lspci-vvvnnD-xxxx.txt");
      const sysfsDir = path.join(FIXTURES, "oracle", seed, "sysfs");
      const sysfs = readdirSync(sysfsDir).sort();
      assert.deepEqual(hex.functions.map(bdf).sort(), sysfs);
      assert.deepEqual(text.functions.map(bdf).sort(), sysfs);
      const textBy = byBdf(text);
      for (const h of hex.functions) {
        const t = textBy.get(bdf(h))!;
        assert.deepEqual(h.hidden, [], `${seed} ${bdf(h)} hex hides nothing`);
        assert.notEqual(h.multifunctionBit, null);
        assert.equal(t.multifunctionBit, null);
        assert.deepEqual(groupingFacts(t, true), groupingFacts(h, true), `${seed} ${bdf(h)} text vs hex`);
        // Text-only: a PCIe function without extended capabilities is marked, and the hex confirms it has none.
        if (t.hidden.length) {
          assert.ok(h.pcie && !h.acs && !h.ari && !h.sriov, `${seed} ${bdf(h)} hidden only when no ext caps: ${t.hidden.join("; ")}`);
        }
        const bytes = new Uint8Array(readFileSync(path.join(sysfsDir, bdf(h), "config")));
        assert.deepEqual(h.config, bytes, `${seed} ${bdf(h)} hex = sysfs config bytes`);
        const s = decodeConfigSpace(bytes, parseBdf(bdf(h))!, { file: "config" }, { lengthIsKernelCfgSize: true });
        assert.deepEqual({ ...groupingFacts(s), mf: s.multifunctionBit, acs8: s.acs?.ctrlDword8, ids: [s.vendor, s.device] },
          { ...groupingFacts(h), mf: h.multifunctionBit, acs8: h.acs?.ctrlDword8, ids: [h.vendor, h.device] }, `${seed} ${bdf(h)} hex vs sysfs`);
      }
    });
  }
});

const HOSTS = readdirSync(path.join(FIXTURES, "realdata")).filter((h) => !h.endsWith(".md"));

describe("real hosts", () => {
  it("has all 12 hosts", () => assert.equal(HOSTS.length, 12));
  for (const host of HOSTS) {
    it(`${host}: every function, the stated count, the kernel's groups`, () => {
      const h = parseLspci(read(`realdata/${host}/lspci.txt`), "lspci.txt");
      const stated = /lspci completeness:.*?(\d+) functions/.exec(read(`realdata/${host}/source.txt`));
      assert.ok(stated);
      assert.equal(h.functions.length, parseInt(stated[1]!, 10));
      const deviceLines = read(`realdata/${host}/lspci.txt`).split("\n").filter((l) => /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] /.test(l));
      assert.equal(h.functions.length, deviceLines.length);
      assert.equal(h.source, "lspci:lspci.txt");
      assert.equal(h.acsCtrlIsLive, true);
      assert.equal(h.hasKernelGroups, true);
      // groups.txt (Arch-wiki-like "IOMMU Group N: BDF ..." lines) gives the same kernel groups.
      const g = parseLspci(read(`realdata/${host}/groups.txt`), "groups.txt");
      const fromDump = byBdf(h);
      for (const gf of g.functions) assert.equal(fromDump.get(bdf(gf))?.kernelGroup, gf.kernelGroup, `${host} ${bdf(gf)}`);
      assert.equal(h.functions.filter((f) => f.kernelGroup !== undefined).length, g.functions.length);
      for (const f of h.functions) {
        assert.equal(f.multifunctionBit, null);
        assert.ok(f.names?.line && f.names.className, `${host} ${bdf(f)} names`);
        if (f.pcie) assert.ok(f.pcie.type <= 0xa, `${host} ${bdf(f)} PCIe type`);
      }
    });
  }

  it("dell-t330: Sunrise Point port 00:1d.0 has an ACS capability", () => {
    const h = parseLspci(read("realdata/dell-t330-pve8/lspci.txt"), "lspci.txt");
    const f = fn(h, "0000:00:1d.0");
    assert.equal(f.pcie?.type, 4);
    assert.ok(f.acs);
    assert.equal(f.acs.ctrlDword8, undefined); // text cannot carry the dword at +8
  });

  it("dell-r720: Patsburg port 00:1c.0 has no ACS; 11.0 has one; truncated names handled", () => {
    const h = parseLspci(read("realdata/dell-r720-pve8/lspci.txt"), "lspci.txt");
    const rp = fn(h, "0000:00:1c.0");
    assert.equal(rp.pcie?.type, 4);
    assert.equal(rp.acs, null);
    assert.deepEqual(rp.hidden, []);
    assert.ok(fn(h, "0000:00:11.0").acs);
    assert.deepEqual([rp.primaryBus, rp.secondaryBus], [0, rp.secondaryBus]);
    for (const addr of ["0000:3f:0f.2", "0000:3f:0f.5", "0000:7f:0f.3"]) {
      const f = fn(h, addr);
      assert.equal(f.vendor, 0x8086);
      assert.equal(f.device, 0xffff);
      assert.equal(f.classCode, 0x088000);
      assert.equal(f.revision, 4);
      assert.ok(f.hidden.some((r) => r.includes("lspci cut the vendor:device pair")));
    }
    // 02:00.0 carries the spliced pcilib message; its block still parses to the end.
    assert.ok(fn(h, "0000:02:00.0").driver);
    assert.ok(h.warnings.some((w) => w.includes("pcilib")));
    assert.equal(fn(h, "0000:02:00.0").pcie?.type, 0);
  });

  it("gb-b550: the pcilib-spliced LnkCap2 line does not end the device block", () => {
    const text = read("realdata/gb-b550aorus-deb12/lspci.txt");
    const h = parseLspci(text, "lspci.txt");
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.includes("pcilib:"));
    let owner = at;
    while (!/^[0-9a-f]{2}:/.test(lines[owner]!)) owner--;
    const f = fn(h, `0000:${lines[owner]!.slice(0, 7)}`);
    assert.ok(f.driver, "Kernel driver line after the splice still read");
    assert.ok(f.kernelGroup !== undefined);
    assert.deepEqual(h.warnings, ['skipped 1 stray "pcilib:" message(s) spliced into the text (1 broken line(s) joined back)']);
  });

  it("dell-xps9520: newer pciutils (IntMsgNum) Express lines", () => {
    const h = parseLspci(read("realdata/dell-xps9520-f41/lspci.txt"), "lspci.txt");
    const f = fn(h, "0000:00:01.0");
    assert.equal(f.pcie?.type, 4);
    assert.equal(f.pcie?.slotImplemented, true);
    assert.equal(f.pcie?.version, 2);
    assert.ok(h.functions.some((x) => x.pcie?.type === 9), "CNVi RCiEP");
  });

  it("smc-x10slh: SR-IOV PF fields and its 16 VFs", () => {
    const h = parseLspci(read("realdata/smc-x10slh-pve7/lspci.txt"), "lspci.txt");
    const pfs = h.functions.filter((f) => f.sriov && f.sriov.numVfs > 0);
    assert.ok(pfs.length >= 1);
    const pf = pfs[0]!;
    assert.equal(pf.sriov!.ctrl & 1, 1);
    assert.equal(pf.sriov!.vfDeviceId, 0x10ed);
    assert.deepEqual([pf.sriov!.totalVfs, pf.sriov!.firstVfOffset, pf.sriov!.vfStride], [64, 384, 2]);
    assert.equal(pfs.reduce((n, f) => n + f.sriov!.numVfs, 0), 16);
  });
});

const DEV = "00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:a110] (rev f1) (prog-if 00 [Normal decode])";
const PORT = [
  DEV,
  "\tSubsystem: Dell Device [1028:06a6]",
  "\tBus: primary=00, secondary=02, subordinate=03, sec-latency=0",
  "\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00",
  "\t\tDevCap2: Completion Timeout: Range ABC, TimeoutDis+ NROPrPrP- LTR+",
  "\t\t\t 10BitTagComp- 10BitTagReq- OBFF Not Supported, ExtFmt- EETLPPrefix-",
  "\t\t\t FRS- LN System CLS Not Supported, TPHComp- ExtTPHComp- ARIFwd+",
  "\t\tDevCtl2: Completion Timeout: 50us to 50ms, TimeoutDis- LTR+ 10BitTagReq- OBFF Disabled,",
  "\t\t\t AtomicOpsCtl: ReqEn- EgressBlck-",
  "\t\t\t ARIFwd+",
  "\tCapabilities: [100 v1] Advanced Error Reporting",
  "\tCapabilities: [140 v1] Access Control Services",
  "\t\tACSCap:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-",
  "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-",
  "\tKernel driver in use: pcieport",
  "",
].join("\n");

const parse = (text: string): HostInput => parseLspci(text, "dump.txt");

function assertInputError(text: string, line: number | undefined, pattern: RegExp): void {
  assert.throws(() => parse(text), (e: unknown) => {
    assert.ok(e instanceof InputError, `InputError, got ${String(e)}`);
    assert.equal(e.file, "dump.txt");
    if (line !== undefined) assert.equal(e.line, line);
    assert.match(e.message, pattern);
    return true;
  });
}

describe("text forms", () => {
  it("reads a root port from the verbose text", () => {
    const [f] = parse(PORT).functions;
    assert.ok(f);
    assert.deepEqual([f.vendor, f.device, f.classCode, f.revision], [0x8086, 0xa110, 0x060400, 0xf1]);
    assert.deepEqual([f.headerType, f.primaryBus, f.secondaryBus, f.subordinateBus], [1, 0, 2, 3]);
    assert.deepEqual(f.pcie, { offset: 0x40, type: 4, version: 2, slotImplemented: true, ariForwardingSupported: true, ariForwardingEnabled: true });
    assert.deepEqual(f.acs, { offset: 0x140, cap: 0x1d, ctrl: 0x1d });
    assert.deepEqual([f.subsystemVendor, f.subsystemDevice], [0x1028, 0x06a6]);
    assert.equal(f.driver, "pcieport");
    assert.equal(f.multifunctionBit, null);
    assert.deepEqual(f.hidden, []);
    assert.equal(f.names?.className, "PCI bridge");
    assert.equal(f.names?.device, "Intel Corporation Device");
  });
  it("takes the last [vvvv:dddd] (names with brackets) and the -D domain", () => {
    const h = parse("0001:03:00.1 Audio device [0403]: Advanced Micro Devices, Inc. [AMD/ATI] Navi 21 [Radeon RX 6800] [1002:ab28]\n\tKernel driver in use: snd_hda_intel\n");
    const f = fn(h, "0001:03:00.1");
    assert.deepEqual([f.vendor, f.device, f.classCode], [0x1002, 0xab28, 0x040300]);
    assert.equal(f.pcie, null);
  });
  it("recognises old and unknown Express type texts by prefix", () => {
    const types = ["PCI/PCI-X Bridge", "PCI-Express to PCI/PCI-X Bridge", "PCI/PCI-X to PCI-Express Bridge (Slot-)", "Unknown type 3", "Root Complex Event Collector", "Legacy Endpoint IRQ 0"];
    const want = [7, 7, 8, 3, 0xa, 1];
    types.forEach((t, i) => {
      const h = parse(`${DEV}\n\tCapabilities: [40] Express ${i % 2 ? "(v1) " : ""}${t}, MSI 00\n\tCapabilities: [100 v1] Advanced Error Reporting\n`);
      assert.equal(h.functions[0]!.pcie?.type, want[i], t);
    });
  });
  it("reads ARI and SR-IOV text", () => {
    const h = parse([
      "01:00.0 Ethernet controller [0200]: Intel Corporation 82576 Gigabit Network Connection [8086:10c9] (rev 01)",
      "\tCapabilities: [a0] Express (v2) Endpoint, IntMsgNum 0",
      "\tCapabilities: [150 v1] Alternative Routing-ID Interpretation (ARI)",
      "\t\tARICap:\tMFVC- ACS-, Next Function: 1",
      "\t\tARICtl:\tMFVC- ACS-, Function Group: 0",
      "\tCapabilities: [160 v1] Single Root I/O Virtualization (SR-IOV)",
      "\t\tIOVCap:\tMigration- 10BitTagReq- IntMsgNum 0",
      "\t\tIOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy+ 10BitTagReq-",
      "\t\tIOVSta:\tMigration-",
      "\t\tInitial VFs: 8, Total VFs: 8, Number of VFs: 4, Function Dependency Link: 00",
      "\t\tVF offset: 128, stride: 2, Device ID: 10ca",
      "",
    ].join("\n"));
    const f = h.functions[0]!;
    assert.deepEqual(f.ari, { offset: 0x150, nextFunction: 1 });
    assert.deepEqual(f.sriov, { offset: 0x160, ctrl: 0x19, initialVfs: 8, totalVfs: 8, numVfs: 4, firstVfOffset: 128, vfStride: 2, vfDeviceId: 0x10ca });
  });
  it("marks a dump without root (<access denied>), naming pcieport", () => {
    const h = parse("00:1c.0 PCI bridge [0604]: Intel Corporation Device [8086:a110]\n\tBus: primary=00, secondary=02, subordinate=02, sec-latency=0\n\tCapabilities: <access denied>\n\tKernel driver in use: pcieport\n\n00:1f.0 ISA bridge [0601]: Intel Corporation Device [8086:a145]\n\tCapabilities: <access denied>\n");
    const [port, isa] = h.functions;
    assert.equal(port!.secondaryBus, 2);
    assert.equal(port!.pcie, null);
    assert.match(port!.hidden[0]!, /without root.*pcieport/);
    assert.deepEqual(isa!.hidden, ["capabilities hidden: lspci run without root"]);
  });
  it("marks unreadable functions (!!! Unknown header type 7f)", () => {
    const f = parse("03:00.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd Device [144d:a808] (rev ff) (prog-if ff)\n\t!!! Unknown header type 7f\n\tKernel driver in use: nvme\n").functions[0]!;
    assert.equal(f.headerType, -1);
    assert.deepEqual([f.vendor, f.device, f.revision], [0x144d, 0xa808, 0xff]);
    assert.match(f.hidden[0]!, /Unknown header type 7f/);
  });
  it("marks a PCIe function that lists no extended capability", () => {
    const f = parse(`${DEV}\n\tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00\n\tKernel driver in use: pcieport\n`).functions[0]!;
    assert.deepEqual(f.hidden, ["extended capabilities not visible (device in D3 or link down when lspci ran?)"]);
  });
  it("reads the kernel's group from IOMMU group lines, Flags lines and Arch-wiki listings", () => {
    assert.equal(parse(`${DEV}\n\tIOMMU group: 7\n`).functions[0]!.kernelGroup, 7);
    const v = parse(`${DEV}\n\tFlags: bus master, fast devsel, latency 0, IRQ 16, IOMMU group 12\n`);
    assert.equal(v.functions[0]!.kernelGroup, 12);
    assert.equal(v.hasKernelGroups, true);
    assert.equal(parse(PORT).hasKernelGroups, false);
    const arch = parse("IOMMU Group 0:\n\t00:00.0 Host bridge [0600]: Intel Corporation Device [8086:3e34] (rev 0b)\nIOMMU Group 1:\n\t00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:1901] (rev 0b)\n\t01:00.0 VGA compatible controller [0300]: NVIDIA Corporation TU106 [10de:1f08] (rev a1)\n");
    assert.deepEqual(arch.functions.map((f) => [bdf(f), f.kernelGroup]), [["0000:00:00.0", 0], ["0000:00:01.0", 1], ["0000:01:00.0", 1]]);
    assert.ok(arch.functions.every((f) => f.hidden.length === 1));
  });
  it("drops pcilib text, joins the broken line back, ignores other untabbed lines", () => {
    const text = PORT.replace("\t\t\t FRS- LN", "\t\t\t FRS-pcilib: sysfs_read_vpd: read failed: No such device\n LN");
    const h = parse(text);
    assert.equal(h.functions[0]!.pcie?.ariForwardingSupported, true); // ARIFwd+ sat on the broken part
    assert.equal(h.functions[0]!.acs?.cap, 0x1d);
    assert.match(h.warnings[0]!, /1 stray "pcilib:".*1 broken line/);
    const own = parse(PORT.replace("\tCapabilities: [100", "pcilib: Cannot open /sys/bus/pci/devices/0000:00:1c.0/label\n\tCapabilities: [100"));
    assert.deepEqual(own.functions[0]!.hidden, []);
    const stray = parse(PORT.replace("\tCapabilities: [100", "stray text\n\tCapabilities: [100"));
    assert.equal(stray.functions[0]!.acs?.cap, 0x1d);
    assert.match(stray.warnings[0]!, /untabbed/);
  });
  it("marks a device block cut by the end of the file", () => {
    const cut = PORT.slice(0, PORT.indexOf("\tCapabilities: [100"));
    const f = parse(`00:00.0 Host bridge [0600]: Intel Corporation Device [8086:3e34]\n\tKernel driver in use: skl_uncore\n\n${cut}`).functions[1]!;
    assert.ok(f.hidden.some((r) => r.includes("dump ends inside")));
    const last = parse(`${PORT}\n00:1f.0 ISA bridge [0601]: Intel Corporation Device [8086:a145]`).functions[1]!;
    assert.deepEqual(last.hidden, ["no verbose lspci text for this function: capabilities unknown"]);
  });
});

function hexLines(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    out.push(`${off.toString(16).padStart(2, "0")}: ${[...bytes.subarray(off, off + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`);
  }
  return out.join("\n");
}

describe("hex blocks", () => {
  const seed = "oracle/seed-0001";
  const config = new Uint8Array(readFileSync(path.join(FIXTURES, seed, "sysfs/0000:00:02.0/config")));
  const text = read(`${seed}/lspci-vvvnn.txt`);
  const start = text.indexOf("00:02.0 ");
  const block = text.slice(start, text.indexOf("\n\n", start) + 1);

  it("uses 64 bytes of hex for the header and the text for the capabilities", () => {
    const f = parse(`${block}${hexLines(config.subarray(0, 64))}\n`).functions[0]!;
    assert.equal(f.multifunctionBit, true);
    assert.equal(f.config?.length, 64);
    assert.equal(f.pcie?.type, 4);
    assert.ok(f.acs);
    assert.deepEqual(f.hidden, []);
  });
  it("uses 256 bytes of hex and the text's extended capabilities", () => {
    const full = parse(`${block}${hexLines(config)}\n`).functions[0]!;
    const part = parse(`${block}${hexLines(config.subarray(0, 256))}\n`).functions[0]!;
    assert.deepEqual(groupingFacts(part), groupingFacts(full));
    assert.deepEqual(part.hidden, []);
  });
  it("keeps the decoder's hidden reason for a 256-byte block without verbose text", () => {
    const line = block.split("\n")[0]!;
    const f = parse(`${line}\n${hexLines(config.subarray(0, 256))}\n`).functions[0]!;
    assert.equal(f.hidden.length, 1);
  });
  it("rejects wrong lengths, gaps, bad bytes, and text contradicting the hex", () => {
    const lines = hexLines(config.subarray(0, 256)).split("\n");
    const n = block.split("\n").length - 1;
    assertInputError(`${block}${lines.slice(0, 5).join("\n")}\n`, n + 5, /80 bytes/);
    assertInputError(`${block}${lines.filter((_, i) => i !== 3).join("\n")}\n`, n + 4, /expected offset 30/);
    assertInputError(`${block}${lines.map((l, i) => (i === 2 ? l.slice(0, -3) : l)).join("\n")}\n`, n + 3, /15 bytes/);
    assertInputError(`${block}${lines.map((l, i) => (i === 2 ? l.replace(/ 00$/, " zz") : l)).join("\n")}\n`, n + 3, /not a hex byte/);
    const wrongBus = block.replace("secondary=01", "secondary=05");
    assertInputError(`${wrongBus}${lines.join("\n")}\n`, undefined, /contradicts/);
  });
});

describe("bad input", () => {
  it("throws InputError naming file and line", () => {
    assertInputError("00:00.0 Host bridge [0600]: X [8086:1234]\n\tStatus\0 Cap+\n", 2, /NUL/);
    assertInputError("just some text\nno devices here\n", 1, /no lspci device line/);
    assertInputError("", 1, /no lspci device line/);
    assertInputError(`${PORT}\n00:3g.0 PCI bridge [0604]: Intel [8086:1234]\n`, 17, /malformed PCI address/);
    assertInputError(`${PORT}\n00:20.0 PCI bridge [0604]: Intel [8086:1234]\n`, 17, /malformed PCI address/);
    assertInputError(`${PORT}\n0000:${PORT}`, 17, /listed twice \(first at line 1\)/);
    assertInputError(PORT.replace("secondary=02", "secondary=0x"), 3, /malformed bridge bus line/);
    assertInputError(`${PORT}\n\tCapabilities: [40] Express (v2) Endpoint\n`, 17, /indented line outside/);
    assertInputError(`${PORT}\ngarbage between blocks\n`, 17, /expected a device line/);
    assertInputError(`${PORT}\n00: 86 80 00 00\n`, 17, /hex line outside/);
    assertInputError(PORT.replace("\tKernel driver", "\tCapabilities: [140 v1] Access Control Services\n\tKernel driver"), 15, /listed twice/);
    assertInputError("00:00.0 Host bridge: Intel Corporation Device\n\tKernel driver in use: x\n", 1, /-nn/);
  });
});
