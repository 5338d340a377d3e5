// Raw config-space decoder: the kernel's capability walks on hand-made bytes, and every sysfs
// `config` file of the oracle corpus.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/import/errors.js";
import { parseBdf } from "../../src/pci/address.js";
import {
  CAP_UNKNOWN, decodeConfigSpace, findCapability, findExtCapability, HIDDEN_CAPS_BEYOND_HEADER,
  HIDDEN_NO_EXTENDED_CAPS,
} from "../../src/pci/config.js";

const FIXTURES = path.resolve(import.meta.dirname, "../../../fixtures");
const src = { file: "test" };
const addr = { domain: 0, bus: 0, devfn: 0 };

/** Config-space builder: little-endian writes into a zeroed buffer. */
class Cfg {
  readonly b: Uint8Array;
  constructor(size = 4096) {
    this.b = new Uint8Array(size);
  }
  u8(off: number, v: number): this {
    this.b[off] = v & 0xff;
    return this;
  }
  u16(off: number, v: number): this {
    return this.u8(off, v).u8(off + 1, v >> 8);
  }
  u32(off: number, v: number): this {
    return this.u16(off, v & 0xffff).u16(off + 2, v >>> 16);
  }
  /** Header: vendor, device, class (24 bit), header type byte, Status with capability list. */
  header(vendor: number, device: number, classCode: number, headerType = 0, caps = true): this {
    this.u16(0, vendor).u16(2, device).u32(8, (classCode << 8) | 0x01).u8(0x0e, headerType);
    if (caps) this.u16(0x06, 0x0010);
    return this;
  }
  cap(off: number, id: number, next: number): this {
    return this.u8(off, id).u8(off + 1, next);
  }
  extCap(off: number, id: number, next: number, version = 1): this {
    return this.u32(off, (id | (version << 16) | (next << 20)) >>> 0);
  }
}

/** A PCIe root port (type 1) with PM at 0x40 → Express at 0x50, ACS at 0x100 → ARI 0x140. */
function rootPort(): Cfg {
  const c = new Cfg().header(0x8086, 0x1234, 0x060400, 0x81);
  c.u8(0x18, 0).u8(0x19, 2).u8(0x1a, 5).u8(0x34, 0x40);
  c.cap(0x40, 0x01, 0x50).cap(0x50, 0x10, 0x80);
  c.u16(0x52, 0x0142); // v2, Root Port, Slot+
  c.u32(0x50 + 0x24, 0x20).u16(0x50 + 0x28, 0x20); // ARI forwarding supported + enabled
  c.cap(0x80, 0x0d, 0x00).u16(0x84, 0x1af4).u16(0x86, 0x1100); // SSVID
  c.extCap(0x100, 0x0d, 0x140).u16(0x104, 0x005f).u16(0x106, 0x001d).u32(0x108, 0xdeadbeef);
  c.extCap(0x140, 0x0e, 0x000).u16(0x144, 0x0300);
  return c;
}

describe("findCapability (__pci_find_next_cap_ttl)", () => {
  it("finds capabilities along the chain", () => {
    const b = rootPort().b;
    assert.equal(findCapability(b, 0x01), 0x40);
    assert.equal(findCapability(b, 0x10), 0x50);
    assert.equal(findCapability(b, 0x0d), 0x80);
    assert.equal(findCapability(b, 0x05), 0);
  });
  it("needs Status bit 4", () => {
    const c = rootPort();
    c.u16(0x06, 0);
    assert.equal(findCapability(c.b, 0x10), 0);
  });
  it("stops at pointers below 0x40 and masks the low two bits", () => {
    const c = rootPort();
    c.u8(0x34, 0x3c);
    assert.equal(findCapability(c.b, 0x01), 0);
    c.u8(0x34, 0x43); // & ~3 → 0x40
    assert.equal(findCapability(c.b, 0x10), 0x50);
  });
  it("stops at ID 0xff and on loops after 48 steps", () => {
    const c = rootPort();
    c.cap(0x40, 0xff, 0x50);
    assert.equal(findCapability(c.b, 0x10), 0);
    const loop = new Cfg(256).header(1, 2, 0x020000).u8(0x34, 0x40).cap(0x40, 0x01, 0x40);
    assert.equal(findCapability(loop.b, 0x10), 0);
  });
  it("starts at 0x14 for CardBus", () => {
    const c = new Cfg(256).header(1, 2, 0x060700, 2).u8(0x14, 0x80).cap(0x80, 0x10, 0);
    assert.equal(findCapability(c.b, 0x10), 0x80);
  });
  it("reports CAP_UNKNOWN when the chain leaves a 64-byte dump", () => {
    assert.equal(findCapability(rootPort().b.slice(0, 64), 0x10), CAP_UNKNOWN);
  });
});

describe("findExtCapability (pci_find_ext_capability)", () => {
  it("walks the chain and returns the first match", () => {
    const c = rootPort();
    assert.equal(findExtCapability(c.b, 0x0d), 0x100);
    assert.equal(findExtCapability(c.b, 0x0e), 0x140);
    assert.equal(findExtCapability(c.b, 0x10), 0);
    c.extCap(0x140, 0x0d, 0x000);
    assert.equal(findExtCapability(c.b, 0x0d), 0x100);
  });
  it("treats header 0 as no capabilities and stops at next < 0x100", () => {
    const c = rootPort();
    c.u32(0x100, 0);
    assert.equal(findExtCapability(c.b, 0x0e), 0);
    const d = rootPort();
    d.extCap(0x100, 0x0d, 0x0f0);
    assert.equal(findExtCapability(d.b, 0x0e), 0);
  });
  it("terminates on a looping chain", () => {
    const c = rootPort();
    c.extCap(0x100, 0x01, 0x100);
    assert.equal(findExtCapability(c.b, 0x0d), 0);
  });
  it("reports CAP_UNKNOWN when the chain runs past the bytes", () => {
    assert.equal(findExtCapability(rootPort().b.slice(0, 256), 0x0d), CAP_UNKNOWN);
    assert.equal(findExtCapability(rootPort().b.slice(0, 0x120), 0x0e), CAP_UNKNOWN);
  });
});

describe("decodeConfigSpace", () => {
  it("decodes header, bridge buses, PCIe, ACS, ARI and the SSVID subsystem", () => {
    const f = decodeConfigSpace(rootPort().b, { domain: 1, bus: 0, devfn: 0x08 }, src);
    assert.equal(f.domain, 1);
    assert.equal(f.devfn, 0x08);
    assert.equal(f.vendor, 0x8086);
    assert.equal(f.device, 0x1234);
    assert.equal(f.classCode, 0x060400);
    assert.equal(f.revision, 1);
    assert.equal(f.headerType, 1);
    assert.equal(f.multifunctionBit, true);
    assert.deepEqual([f.primaryBus, f.secondaryBus, f.subordinateBus], [0, 2, 5]);
    assert.deepEqual(f.pcie, { offset: 0x50, type: 4, version: 2, slotImplemented: true, ariForwardingSupported: true, ariForwardingEnabled: true });
    assert.deepEqual(f.acs, { offset: 0x100, cap: 0x5f, ctrl: 0x1d, ctrlDword8: 0xdeadbeef });
    assert.deepEqual(f.ari, { offset: 0x140, nextFunction: 3 });
    assert.equal(f.sriov, null);
    assert.equal(f.subsystemVendor, 0x1af4);
    assert.equal(f.subsystemDevice, 0x1100);
    assert.deepEqual(f.hidden, []);
  });
  it("ignores DevCap2/DevCtl2 of a version 1 PCIe capability", () => {
    const c = rootPort();
    c.u16(0x52, 0x0141);
    const f = decodeConfigSpace(c.b, addr, src);
    assert.equal(f.pcie?.ariForwardingSupported, false);
    assert.equal(f.pcie?.ariForwardingEnabled, false);
  });
  it("decodes every SR-IOV field and type-0 subsystem IDs", () => {
    const c = new Cfg().header(0x8086, 0x10c9, 0x020000, 0x80).u16(0x2c, 0x15d9).u16(0x2e, 0x0600).u8(0x34, 0x60);
    c.cap(0x60, 0x10, 0).u16(0x62, 0x0002);
    c.extCap(0x100, 0x0e, 0x160).u16(0x104, 0x0100);
    c.extCap(0x160, 0x10, 0);
    c.u16(0x168, 0x19).u16(0x16c, 8).u16(0x16e, 64).u16(0x170, 4).u16(0x174, 384).u16(0x176, 2).u16(0x17a, 0x10ca);
    const f = decodeConfigSpace(c.b, addr, src);
    assert.deepEqual(f.sriov, { offset: 0x160, ctrl: 0x19, initialVfs: 8, totalVfs: 64, numVfs: 4, firstVfOffset: 384, vfStride: 2, vfDeviceId: 0x10ca });
    assert.equal(f.pcie?.type, 0);
    assert.deepEqual([f.subsystemVendor, f.subsystemDevice], [0x15d9, 0x0600]);
    assert.deepEqual([f.primaryBus, f.secondaryBus, f.subordinateBus], [-1, -1, -1]);
    assert.equal(f.acs, null);
  });
  it("sees no extended capabilities when 0x100 reads all ones or aliases offset 0", () => {
    const c = rootPort();
    c.u32(0x100, 0xffffffff);
    assert.equal(decodeConfigSpace(c.b, addr, src).acs, null);
    const aliased = new Cfg();
    const head = rootPort().b.slice(0, 256);
    for (let p = 0; p < 4096; p += 256) aliased.b.set(head, p);
    const f = decodeConfigSpace(aliased.b, addr, src);
    assert.equal(f.acs, null);
    assert.deepEqual(f.hidden, []);
  });
  it("marks a 256-byte PCIe dump as hiding extended capabilities, unless the size is the kernel's", () => {
    const b = rootPort().b.slice(0, 256);
    const f = decodeConfigSpace(b, addr, src);
    assert.deepEqual(f.hidden, [HIDDEN_NO_EXTENDED_CAPS]);
    assert.equal(f.pcie?.type, 4);
    assert.deepEqual(decodeConfigSpace(b, addr, src, { lengthIsKernelCfgSize: true }).hidden, []);
  });
  it("does not mark conventional PCI functions (no extended space anyway)", () => {
    const c = new Cfg(256).header(0x8086, 0x244e, 0x060401, 0x01).u8(0x19, 3).u8(0x1a, 3).u8(0x34, 0x50).cap(0x50, 0x0d, 0);
    const f = decodeConfigSpace(c.b, addr, src);
    assert.equal(f.pcie, null);
    assert.deepEqual(f.hidden, []);
    const host = new Cfg(256).header(0x8086, 0x29c0, 0x060000, 0, false);
    assert.deepEqual(decodeConfigSpace(host.b, addr, src).hidden, []);
  });
  it("marks a 64-byte dump whose capabilities lie beyond the header", () => {
    const f = decodeConfigSpace(rootPort().b.slice(0, 64), addr, src);
    assert.deepEqual(f.hidden, [HIDDEN_CAPS_BEYOND_HEADER]);
    assert.equal(f.secondaryBus, 2);
    const plain = new Cfg(64).header(0x1234, 0x1111, 0x030000, 0, false);
    assert.deepEqual(decodeConfigSpace(plain.b, addr, src).hidden, []);
  });
  it("tolerates odd lengths (chain cut → hidden)", () => {
    const f = decodeConfigSpace(rootPort().b.slice(0, 0x120), addr, src);
    assert.equal(f.acs?.cap, 0x5f);
    assert.equal(f.ari, null);
    assert.equal(f.hidden.length, 1);
  });
  it("reports unknown header types as unreadable", () => {
    const f = decodeConfigSpace(new Uint8Array(256).fill(0xff), addr, src);
    assert.equal(f.headerType, -1);
    assert.equal(f.multifunctionBit, null);
    assert.match(f.hidden[0]!, /unknown header type 7f/);
  });
  it("rejects fewer than 64 bytes with an InputError naming the source", () => {
    assert.throws(() => decodeConfigSpace(new Uint8Array(63), addr, { file: "x/config", line: 3 }),
      (e: unknown) => e instanceof InputError && e.file === "x/config" && e.line === 3 && /x\/config:3/.test(e.message));
  });
});

describe("oracle sysfs config files", () => {
  const seeds = readdirSync(path.join(FIXTURES, "oracle")).filter((s) => s.startsWith("seed-") || s === "replay-host");
  it("every file decodes completely", () => {
    let count = 0;
    for (const seed of seeds) {
      const dir = path.join(FIXTURES, "oracle", seed, "sysfs");
      for (const bdf of readdirSync(dir)) {
        const bytes = new Uint8Array(readFileSync(path.join(dir, bdf, "config")));
        const f = decodeConfigSpace(bytes, parseBdf(bdf)!, { file: `${seed}/${bdf}/config` }, { lengthIsKernelCfgSize: true });
        assert.deepEqual(f.hidden, [], `${seed} ${bdf}`);
        assert.ok(f.headerType === 0 || f.headerType === 1, `${seed} ${bdf}`);
        if (bytes.length === 256) assert.equal(f.pcie, null, `${seed} ${bdf}: 256 bytes only for conventional PCI`);
        count++;
      }
    }
    assert.ok(count > 1300, `decoded ${count}`);
  });
  it("seed-0001 root port 00:02.0: bus numbers, Express type, ARI forwarding", () => {
    const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, "oracle/seed-0001/sysfs/0000:00:02.0/config")));
    const f = decodeConfigSpace(bytes, parseBdf("00:02.0")!, { file: "config" });
    assert.deepEqual([f.primaryBus, f.secondaryBus, f.subordinateBus], [0, 1, 1]);
    assert.equal(f.pcie?.type, 4);
    assert.equal(f.pcie?.ariForwardingSupported, true);
    assert.equal(f.multifunctionBit, true);
    assert.deepEqual([f.vendor, f.device], [0x1b36, 0x000c]);
  });
});
