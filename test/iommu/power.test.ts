import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createPhb, createTceWindow, EEH_OPT_THAW_DMA, EEH_OPT_THAW_MMIO, EEH_PE_ISOLATED, EEH_PE_STATE_NORMAL, EEH_PE_STATE_RESET,
  EEH_PE_STATE_STOPPED_DMA, EEH_PE_STATE_STOPPED_IO_DMA, EEH_PE_STATE_UNAVAIL, EEH_RESET_DEACTIVATE, EEH_RESET_HOT, EehPe, formPowerPes,
  H_HARDWARE, H_PARAMETER, H_SUCCESS, H_TOO_HARD, IommuError, SpaprTce, TceTable, TVE1_BUS_START, type GuestMemory, type PowerPciFunction,
} from "../../src/iommu/index.js";
import { LeafModel, splitPgsize } from "./model.js";

function fn(bdf: string, extra: Partial<PowerPciFunction> = {}): PowerPciFunction {
  const [dom, bus, df] = bdf.split(/[:]/);
  const [dev, f] = df.split(".");
  return {
    bdf, domain: parseInt(dom, 16), bus: parseInt(bus, 16), devfn: parseInt(dev, 16) * 8 + parseInt(f, 16),
    isBridge: false, secondaryBus: 0, subordinateBus: 0, isVirtfn: false, pcieType: 0, ...extra,
  };
}
const rootPort = (bdf: string, sec: number, sub: number) => fn(bdf, { isBridge: true, secondaryBus: sec, subordinateBus: sub, pcieType: 4 });

describe("PowerNV PE forming (power-pe-tce-eeh.md §2)", () => {
  const host: PowerPciFunction[] = [
    rootPort("0000:00:00.0", 1, 1),
    fn("0000:01:00.0", { pcieType: 0 }),
    fn("0000:01:00.1", { pcieType: 0 }),
    // switch: upstream 0001:00:00.0 → bus 1; downstream ports → buses 2 and 3
    rootPort("0001:00:00.0", 1, 5),
    fn("0001:01:00.0", { isBridge: true, secondaryBus: 2, subordinateBus: 5, pcieType: 5 }),
    fn("0001:02:01.0", { isBridge: true, secondaryBus: 3, subordinateBus: 3, pcieType: 6 }),
    fn("0001:02:02.0", { isBridge: true, secondaryBus: 4, subordinateBus: 5, pcieType: 6 }),
    fn("0001:03:00.0", { pcieType: 0 }),
    // PCIe-to-PCI bridge on bus 4 → conventional bus 5
    fn("0001:04:00.0", { isBridge: true, secondaryBus: 5, subordinateBus: 5, pcieType: 7 }),
    fn("0001:05:01.0", { pcieType: 0xff }),
    fn("0001:05:02.0", { pcieType: 0xff }),
  ];

  it("one PE per bus with devices; multifunction card shares a PE; bridge-only PEs have no group", () => {
    const pes = formPowerPes(host);
    const d0 = pes.filter((p) => p.reason.startsWith("PHB 0000"));
    assert.deepEqual(d0.map((p) => [p.peNumber, p.kind, p.devices]), [[255, "bus", ["0000:01:00.0", "0000:01:00.1"]]]);
  });

  it("behind a switch each downstream port's bus is its own PE; conventional PCI behind a PCIe-to-PCI bridge is one PE", () => {
    const d1 = formPowerPes(host).filter((p) => p.reason.startsWith("PHB 0001"));
    assert.deepEqual(d1.map((p) => p.devices), [["0001:03:00.0"], ["0001:05:01.0", "0001:05:02.0"]]);
    assert.ok(d1[1].reason.includes("PNV_IODA_PE_BUS_ALL"));
    // PE numbers: root bus PE 1, then top-down: bus1 255, bus2 254, bus3 253, bus4 252, bus5 251
    assert.deepEqual(d1.map((p) => p.peNumber), [253, 251]);
  });

  it("each VF is its own PE, allocated as a contiguous run at sriov_enable", () => {
    const pes = formPowerPes([
      rootPort("0000:00:00.0", 1, 1),
      fn("0000:01:00.0"),
      fn("0000:01:00.2", { isVirtfn: true, physfn: "0000:01:00.0" }),
      fn("0000:01:00.1", { isVirtfn: true, physfn: "0000:01:00.0" }),
    ]);
    assert.deepEqual(pes.map((p) => [p.peNumber, p.kind, p.devices[0]]), [
      [255, "bus", "0000:01:00.0"],
      [253, "vf", "0000:01:00.1"],
      [254, "vf", "0000:01:00.2"],
    ]);
  });

  it("reserved PE and exhaustion", () => {
    const many = [rootPort("0000:00:00.0", 1, 9)];
    for (let b = 1; b <= 6; b++) many.push(fn(`0000:0${b}:00.0`));
    const pes = formPowerPes(many, { totalPe: 4, reservedPe: 3 });
    // root PE = total-2 = 2; others 1, 0, then none left
    assert.deepEqual(pes.map((p) => p.peNumber), [1, 0, -1, -1, -1, -1]);
    assert.ok(pes[2].reason.includes("Not enough PE#"));
  });
});

describe("TCE tables (§3.1-§3.2)", () => {
  it("entry format: R bit 0, W bit 1, address from page_shift up, stored big-endian", () => {
    const w = createTceWindow({ pageShift: 16, windowSize: 2 ** 30, levels: 1 });
    w.map(0x30000, 0x1234560000, 0x10000, 3);
    const idx = w.indexOf(0x30000);
    assert.equal(idx, 3);
    assert.equal(w.table.getValue(idx), 0x1234560003);
    assert.deepEqual(w.table.entryBytes(idx), [0, 0, 0, 0x12, 0x34, 0x56, 0x00, 0x03]);
    assert.equal(w.iovaToPhys(0x3abcd), 0x123456abcd);
  });

  it("IOMMU_WRITE alone gives R|W (pnv_tce_build); read-only TCE blocks writes", () => {
    const w = createTceWindow({ pageShift: 12, windowSize: 2 ** 24 });
    w.map(0, 0x5000, 4096, 2);
    assert.equal(w.table.getValue(0) & 3, 3);
    w.map(4096, 0x6000, 4096, 1);
    assert.equal(w.dmaTranslate(4096, 2), -1);
    assert.equal(w.dmaTranslate(4096, 1), 0x6000);
  });

  it("multi-level sizing and on-demand lower levels; limits", () => {
    const t = new TceTable({ pageShift: 12, windowSize: 2 ** 40, levels: 2 });
    assert.equal(t.levelBits, 14);
    assert.equal(t.tablePages, 32, "top level only: 2^14 entries x 8 bytes");
    t.set(2 ** 20, 0x1003);
    assert.equal(t.tablePages, 64);
    t.set(2 ** 27 - 1, 0);
    assert.equal(t.tablePages, 64, "clearing never allocates");
    assert.throws(() => new TceTable({ pageShift: 12, windowSize: 3 * 2 ** 20 }), (e: IommuError) => e.errno === "EINVAL");
    assert.throws(() => new TceTable({ pageShift: 12, windowSize: 2 ** 30, levels: 6 }), (e: IommuError) => e.errno === "EINVAL");
  });

  it("windows: window 0 at 0, window 1 at 1 << 59; bypass when the host owns the PE", () => {
    const phb = createPhb(0, [rootPort("0000:00:00.0", 1, 1), fn("0000:01:00.0")]);
    const pe = phb.peOf(0x0100)!;
    assert.equal(phb.dma(0x0100, TVE1_BUS_START + 0x1000, true), 0x1000, "bypass");
    pe.takeOwnership();
    const w1 = pe.createWindow(1, { pageShift: 16, windowSize: 2 ** 32 });
    assert.deepEqual(w1.apertures, [{ start: 2 ** 59, last: 2 ** 59 + 2 ** 32 - 1 }]);
    w1.map(2 ** 59, 0x10000, 0x10000, 3);
    assert.equal(phb.dma(0x0100, 2 ** 59 + 0x1000, false), 0x11000); // doubles near 2^59 resolve 128 bytes
  });

  it("property: random map/unmap/translate against a map of pages, all tables freed", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3),
        fc.array(fc.record({ kind: fc.constantFrom("map", "unmap", "tr"), p: fc.integer({ min: 0, max: 1023 }), n: fc.integer({ min: 1, max: 40 }), prot: fc.constantFrom(1, 3) }), { maxLength: 40 }),
        (levels, ops) => {
          const w = createTceWindow({ pageShift: 12, windowSize: 2 ** 22, levels, busStart: 0 });
          const m = new LeafModel();
          for (const o of ops) {
            const n = Math.min(o.n, 1024 - o.p);
            if (o.kind === "map") {
              const perm = o.prot & 2 ? 3 : 1;
              const ok = m.map(splitPgsize(o.p, o.p + 7, n, [1], perm));
              let got = "ok";
              try {
                w.map(o.p * 4096, (o.p + 7) * 4096, n * 4096, o.prot);
              } catch (e) {
                got = (e as IommuError).errno;
              }
              assert.equal(got, ok ? "ok" : "EADDRINUSE");
            } else if (o.kind === "unmap") {
              for (let i = 0; i < n; i++) m.unmap(o.p + i, 1);
              assert.equal(w.unmap(o.p * 4096, n * 4096), n * 4096);
            } else {
              assert.equal(w.iovaToPhys(o.p * 4096 + 5), m.translate(o.p * 4096 + 5));
            }
          }
          w.destroy();
          assert.equal(w.stats.tablePages, 0);
        },
      ),
      { numRuns: 100 },
    );
  });
});

class Ram implements GuestMemory {
  readonly words = new Map<number, number>();
  prereg = true;
  isRam(gpa: number, len: number): boolean {
    return gpa >= 0 && gpa + len <= 2 ** 32;
  }
  isPreregistered(): boolean {
    return this.prereg;
  }
  readBe64(gpa: number): number {
    return this.words.get(gpa) ?? 0;
  }
}

describe("PAPR TCE hypercalls, KVM column (§5)", () => {
  const setup = () => {
    const ram = new Ram();
    const kvm = new SpaprTce(ram);
    const w = createTceWindow({ liobn: 0x80000001, pageShift: 12, windowSize: 2 ** 24 });
    kvm.register(w);
    return { ram, kvm, w };
  };

  it("H_PUT_TCE: success, unmap, bad IOBA, unknown LIOBN, unaligned / non-RAM TCE", () => {
    const { kvm, w } = setup();
    assert.equal(kvm.hPutTce(0x80000001, 0x3000, 0x7000 | 3), H_SUCCESS);
    assert.equal(w.iovaToPhys(0x3010), 0x7010);
    assert.equal(kvm.hPutTce(0x80000001, 0x3000, 0), H_SUCCESS);
    assert.equal(w.iovaToPhys(0x3010), -1);
    assert.equal(kvm.hPutTce(0x80000001, 0x3001, 0x7003), H_PARAMETER);
    assert.equal(kvm.hPutTce(0x80000001, 2 ** 24, 0x7003), H_PARAMETER);
    assert.equal(kvm.hPutTce(0x99, 0, 0x7003), H_TOO_HARD);
    assert.equal(kvm.hPutTce(0x80000001, 0, 0x7013), H_TOO_HARD, "bits below page_shift");
    assert.equal(kvm.hPutTce(0x80000001, 0, 2 ** 40 + 3), H_TOO_HARD, "not guest RAM");
  });

  it("H_PUT_TCE_INDIRECT: 512-entry limit, 4K-aligned list, all validated before any write", () => {
    const { ram, kvm, w } = setup();
    for (let i = 0; i < 512; i++) ram.words.set(0x100000 + i * 8, (0x200000 + i * 4096) | 3);
    assert.equal(kvm.hPutTceIndirect(0x80000001, 0, 0x100000, 513), H_PARAMETER);
    assert.equal(kvm.hPutTceIndirect(0x80000001, 0, 0x100008, 2), H_PARAMETER);
    assert.equal(kvm.hPutTceIndirect(0x80000001, 2 ** 24 - 4096, 0x100000, 2), H_PARAMETER);
    assert.equal(kvm.hPutTceIndirect(0x80000001, 0, 0x100000, 0), H_SUCCESS);
    assert.equal(kvm.hPutTceIndirect(0x80000001, 0, 0x100000, 512), H_SUCCESS);
    assert.equal(w.iovaToPhys(511 * 4096), 0x200000 + 511 * 4096);
    ram.words.set(0x100000 + 5 * 8, 0x1234803); // misaligned inside the list
    assert.equal(kvm.hPutTceIndirect(0x80000001, 0x400000, 0x100000, 10), H_TOO_HARD);
    assert.equal(w.iovaToPhys(0x400000), -1, "nothing written");
  });

  it("H_STUFF_TCE clears ranges; R/W values refused; injected hardware fault → H_HARDWARE", () => {
    const { kvm, w } = setup();
    for (let i = 0; i < 4; i++) kvm.hPutTce(0x80000001, i * 4096, (0x10000 + i * 4096) | 3);
    assert.equal(kvm.hStuffTce(0x80000001, 0, 3, 4), H_PARAMETER);
    assert.equal(kvm.hStuffTce(0x80000001, 4096, 0, 2), H_SUCCESS);
    assert.deepEqual([0, 1, 2, 3].map((i) => w.iovaToPhys(i * 4096)), [0x10000, -1, -1, 0x13000]);
    assert.equal(kvm.hGetTce(0x80000001, 0).tce, 0x10003);
    kvm.injectHardwareFault = true;
    assert.equal(kvm.hPutTce(0x80000001, 0, 0x20003), H_HARDWARE);
    assert.equal(w.iovaToPhys(0), -1, "entry cleared");
  });

  it("a linked hardware table with smaller pages gets P/p entries per guest TCE", () => {
    const ram = new Ram();
    const kvm = new SpaprTce(ram);
    const guest = createTceWindow({ liobn: 7, pageShift: 16, windowSize: 2 ** 26 });
    const hw = createTceWindow({ pageShift: 12, windowSize: 2 ** 26 });
    kvm.register(guest);
    kvm.linkHardware(7, hw);
    assert.equal(kvm.hPutTce(7, 0x10000, 0x100000 | 3), H_SUCCESS);
    assert.equal(hw.iovaToPhys(0x1f000), 0x10f000);
    ram.prereg = false;
    assert.equal(kvm.hPutTce(7, 0x20000, 0x200000 | 3), H_TOO_HARD, "not preregistered");
  });
});

describe("EEH (§6)", () => {
  it("a DMA error freezes only that PE: its DMA stops, MMIO reads all ones; the other PE carries on", () => {
    const phb = createPhb(0, [rootPort("0000:00:00.0", 1, 2), fn("0000:01:00.0"), rootPort("0000:00:01.0", 2, 2), fn("0000:02:00.0")]);
    const a = phb.peOf(0x0100)!;
    const b = phb.peOf(0x0200)!;
    a.windows[0]!.map(0x1000, 0x9000, 4096, 3);
    b.windows[0]!.map(0x1000, 0xa000, 4096, 3);
    assert.equal(phb.dma(0x0100, 0x5000, false), -1, "invalid TCE");
    assert.equal(a.eeh.getState(), EEH_PE_STATE_STOPPED_IO_DMA);
    assert.equal(phb.dma(0x0100, 0x1000, false), -1, "frozen: DMA stopped");
    assert.equal(phb.mmioRead(0x0100, 0x1234, 4), 0xffffffff);
    assert.equal(phb.mmioRead(0x0100, 0x12, 2), 0xffff);
    assert.equal(phb.dma(0x0200, 0x1000, false), 0xa000);
    assert.equal(phb.mmioRead(0x0200, 0x1234, 4), 0x1234);
    assert.equal(b.eeh.getState(), EEH_PE_STATE_NORMAL);
  });

  it("transitions: detect → isolated; thaw MMIO → 4; thaw DMA → 0; reset → 1 → 0", () => {
    const pe = new EehPe("PE#1");
    pe.freeze();
    assert.equal(pe.checkFailure(), 1);
    assert.ok(pe.flags & EEH_PE_ISOLATED);
    pe.setOption(EEH_OPT_THAW_MMIO);
    assert.equal(pe.getState(), EEH_PE_STATE_STOPPED_DMA);
    pe.setOption(EEH_OPT_THAW_DMA);
    assert.equal(pe.getState(), EEH_PE_STATE_NORMAL);
    assert.equal(pe.flags & EEH_PE_ISOLATED, 0);
    pe.freeze();
    pe.reset(EEH_RESET_HOT);
    assert.equal(pe.getState(), EEH_PE_STATE_RESET);
    pe.reset(EEH_RESET_DEACTIVATE);
    assert.equal(pe.getState(), EEH_PE_STATE_NORMAL);
    const passed = new EehPe("PE#2");
    passed.passed = true;
    passed.freeze();
    assert.equal(passed.checkFailure(), 0, "passed-through PE left to the guest");
  });

  it("PELT-V: an upstream freeze freezes the PEs below; a child reads UNAVAIL while the parent is isolated", () => {
    const up = new EehPe("up");
    const down = new EehPe("down", up);
    up.freeze();
    assert.ok(down.frozen);
    up.checkFailure();
    assert.equal(down.getState(), EEH_PE_STATE_UNAVAIL);
    assert.equal(up.recover(0), "recovered");
    assert.equal(down.getState(), EEH_PE_STATE_NORMAL);
    const leaf = new EehPe("leaf", up);
    leaf.freeze();
    assert.equal(up.frozen, false, "a leaf freeze does not climb");
  });

  it("the 6th freeze within an hour is permanent; after an hour the count restarts", () => {
    const pe = new EehPe("PE#5");
    for (let i = 0; i < 5; i++) {
      pe.freeze();
      assert.equal(pe.recover(i * 60), "recovered");
    }
    pe.freeze();
    assert.equal(pe.recover(400), "permanent-failure");
    assert.equal(pe.getState(), EEH_PE_STATE_UNAVAIL);
    assert.match(pe.log.at(-1)!, /has failed 6 times in the last hour and has been permanently disabled/);
    const q = new EehPe("PE#6");
    for (let i = 0; i < 5; i++) q.recover(i);
    assert.equal(q.recover(4000), "recovered");
    assert.equal(q.freezeCount, 1);
  });
});
