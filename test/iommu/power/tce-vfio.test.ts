// What the VFIO sPAPR backend needs from the POWER model: the kernel's table layout and size
// estimate, tables shared between PEs (set/unset window), ownership hand-back, EEH configure/inject.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IommuError } from "../../../src/iommu/domain.js";
import { EehPe, EEH_PE_STATE_NORMAL, EEH_PE_STATE_STOPPED_IO_DMA } from "../../../src/iommu/power/eeh.js";
import { createPhb } from "../../../src/iommu/power/phb.js";
import type { PowerPciFunction } from "../../../src/iommu/power/form-pes.js";
import { TceTable, tceTableSize } from "../../../src/iommu/power/tce.js";
import { createTceWindow, TVE1_BUS_START } from "../../../src/iommu/power/window.js";

const errno = (code: string) => (e: unknown) => e instanceof IommuError && e.errno === code;

function fn(bdf: string, extra: Partial<PowerPciFunction> = {}): PowerPciFunction {
  const [dom, bus, df] = bdf.split(":");
  const [dev, f] = df.split(".");
  return {
    bdf, domain: parseInt(dom, 16), bus: parseInt(bus, 16), devfn: parseInt(dev, 16) * 8 + parseInt(f, 16),
    isBridge: false, secondaryBus: 0, subordinateBus: 0, isVirtfn: false, pcieType: 0, ...extra,
  };
}
const port = (bdf: string, sec: number) => fn(bdf, { isBridge: true, secondaryBus: sec, subordinateBus: sec, pcieType: 4 });

describe("TCE tables as pnv_tce / pnv_pci_ioda2_table_alloc_pages build them", () => {
  it("pnv_pci_ioda2_get_table_size: every level fully populated, hardware table + userspace view", () => {
    assert.equal(tceTableSize(12, 2 ** 31, 1), 2 * 4 * 2 ** 20, "default window: 2^19 TCEs = 4 MiB, twice");
    // 2^24 TCEs in 3 levels of 8192: 2048 leaves x 64 KiB + one middle + one top table, twice
    assert.equal(tceTableSize(16, 2 ** 40, 3), 2 * (2 ** 27 + 2 * 2 ** 16));
    assert.equal(tceTableSize(12, 2 ** 20, 1), 2 * 2 ** 16, "at least one host page per level");
    assert.equal(tceTableSize(12, 2 ** 30, 0), 0);
    assert.equal(tceTableSize(12, 2 ** 30, 6), 0);
    assert.equal(tceTableSize(12, 3 * 2 ** 20, 1), 0);
    assert.equal(tceTableSize(16, 2 ** 12, 1), 0, "window below one TCE page");
  });

  it("levels hold it_level_size entries and each consumes log2(it_level_size) index bits", () => {
    const t = new TceTable({ pageShift: 12, windowSize: 2 ** 30, levels: 2 }); // s = 9, but 8192-entry levels
    assert.equal(t.levelBits, 9);
    assert.equal(t.tableEntries, 8192);
    assert.equal(t.levelTables, 1, "top level only");
    t.set(0, 0x1003);
    t.set(8191, 0x2003);
    assert.equal(t.levelTables, 2, "entries 0 and 8191 share one leaf");
    t.set(8192, 0x3003);
    assert.equal(t.levelTables, 3);
    assert.equal(t.has(8192 * 5), false);
    t.ensure(8192 * 5);
    assert.equal(t.has(8192 * 5), true);
    assert.equal(t.getValue(8192 * 5), 0, "ensure allocates without writing");
    assert.equal(t.getValue(2 ** 26 + 8191), 0x2003, "the top digit is masked: past the table wraps");
    t.free();
    assert.equal(t.levelTables, 0);
    assert.equal(t.tablePages, 0);
  });

  it("it_size is at least a host page of entries; a one-level table ends there", () => {
    const t = new TceTable({ pageShift: 12, windowSize: 2 ** 24, levels: 1 });
    assert.equal(t.entries, 4096);
    assert.equal(t.itSize, 8192);
    assert.equal(t.set(8191, 0x5003), 0);
    assert.equal(t.getValue(8191), 0x5003);
    assert.equal(t.set(8192, 0x6003), 0, "past a one-level table nothing is stored");
    assert.equal(t.getValue(8192), 0);
  });

  it("size limits: (level_shift - 3) * levels + page_shift < 55; a level above 16 MiB cannot be allocated", () => {
    assert.ok(new TceTable({ pageShift: 12, windowSize: 2 ** 54, levels: 3 }));
    assert.throws(() => new TceTable({ pageShift: 16, windowSize: 2 ** 58, levels: 3 }), errno("EINVAL"));
    assert.throws(() => new TceTable({ pageShift: 12, windowSize: 2 ** 34, levels: 1 }), errno("ENOMEM"));
    assert.ok(new TceTable({ pageShift: 12, windowSize: 2 ** 33, levels: 1 }));
  });
});

describe("PEs sharing a table (pnv_pci_ioda2_set_window / unset_window)", () => {
  it("one table in two PEs: both translate; unsetting one PE leaves the table to the other", () => {
    const phb = createPhb(0, [port("0000:00:00.0", 1), fn("0000:01:00.0"), port("0000:00:01.0", 2), fn("0000:02:00.0")]);
    const a = phb.peOf(0x0100)!;
    const b = phb.peOf(0x0200)!;
    a.takeOwnership();
    b.takeOwnership();
    const w = createTceWindow({ busStart: TVE1_BUS_START, pageShift: 16, windowSize: 2 ** 32, levels: 2 });
    a.setWindow(1, w);
    b.setWindow(1, w);
    w.map(TVE1_BUS_START, 0x40000000, 0x10000, 3);
    assert.equal(phb.dma(0x0100, TVE1_BUS_START + 0x80, true), 0x40000080);
    assert.equal(phb.dma(0x0200, TVE1_BUS_START + 0x80, false), 0x40000080);
    b.unsetWindow(1);
    assert.equal(w.table.freed, false, "unset does not free: the owner does");
    assert.equal(phb.dma(0x0100, TVE1_BUS_START + 0x80, false), 0x40000080);
    assert.throws(() => a.setWindow(1, w), errno("EBUSY"));
    assert.throws(() => b.setWindow(0, w), errno("EINVAL"), "window 0 starts at 0");
  });

  it("release_ownership gives the host its default window and bypass back", () => {
    const phb = createPhb(0, [port("0000:00:00.0", 1), fn("0000:01:00.0")]);
    const pe = phb.peOf(0x0100)!;
    const win0 = () => pe.windows[0]; // re-read after each call (no stale narrowing)
    const host = win0();
    pe.takeOwnership();
    assert.equal(win0(), null);
    assert.equal(host?.table.freed, true);
    assert.equal(pe.eeh.passed, true);
    pe.releaseOwnership();
    assert.equal(win0()?.size, 2 ** 31);
    assert.equal(pe.bypass, true);
    assert.equal(pe.eeh.passed, false);
    assert.equal(phb.dma(0x0100, TVE1_BUS_START + 0x1000, true), 0x1000);
  });
});

describe("EEH entry points VFIO uses", () => {
  it("eeh_pe_inject_err: function 0..19 (EINVAL), type 32/64-bit (ERANGE); an injected error freezes the PE", () => {
    const pe = new EehPe("PE#7");
    assert.throws(() => pe.injectError(0, 20, 0, 0), errno("EINVAL"));
    assert.throws(() => pe.injectError(2, 0, 0, 0), errno("ERANGE"));
    assert.equal(pe.getState(), EEH_PE_STATE_NORMAL);
    pe.injectError(1, 16, 0x1000, 0xfff);
    assert.equal(pe.getState(), EEH_PE_STATE_STOPPED_IO_DMA);
    assert.equal(pe.configure(), 0, "pnv_eeh_configure_bridge");
  });
});
