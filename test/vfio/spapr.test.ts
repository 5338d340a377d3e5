// sPAPR TCE v2 backend on the POWER model: the spec's worked sequences (vfio-uapi.md §9 #34, #35).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Harness } from "./helpers.js";
import * as U from "../../src/vfio/uapi.js";
import type { ContainerFile } from "../../src/vfio/system.js";
import type { GroupFile } from "../../src/vfio/group.js";
import type { Spapr } from "../../src/vfio/spapr/spapr.js";
import { spaprPeOf } from "../../src/vfio/spapr/pe.js";
import { tceTableSize } from "../../src/iommu/power/tce.js";
import type { PowerPe } from "../../src/iommu/power/phb.js";

function setup(type: number): { h: Harness; c: number; r: number } {
  const h = new Harness({ iommu: "power" });
  const c = h.container();
  h.group("0000:01:00.0", c);
  return { h, c, r: h.setIommu(c, type) };
}

function reg(h: Harness, c: number, nr: number, vaddr: number, size: number): number {
  const a = h.a;
  a.setU32(0, 24);
  a.setU64(8, vaddr);
  a.setU64(16, size);
  return h.sys.ioctl(c, nr, a);
}

test("sPAPR on PowerNV: v1 refused (EPERM), v2 accepted; type1 not there (ENODEV)", () => {
  assert.equal(setup(U.VFIO_SPAPR_TCE_IOMMU).r, -U.EPERM);
  assert.equal(setup(U.VFIO_TYPE1v2_IOMMU).r, -U.ENODEV);
  const { h, c, r } = setup(U.VFIO_SPAPR_TCE_v2_IOMMU);
  assert.equal(r, 0);
  const a = h.a;
  a.value = U.VFIO_EEH;
  assert.equal(h.sys.ioctl(c, U.VFIO_CHECK_EXTENSION, a), 1);
  const info = h.a;
  info.setU32(0, 32);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_GET_INFO, info), 0);
  assert.equal(info.u32(4), 1);
  assert.equal(info.u32(12), 0x80000000);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_ENABLE, h.a), -U.ENOTTY);
});

test("sPAPR v2 worked sequence #34: MAP before REGISTER EPERM; REGISTER twice EBUSY; UNREGISTER unknown ENOENT; third window ENOSPC; misaligned iova returns 1", () => {
  const { h, c } = setup(U.VFIO_SPAPR_TCE_v2_IOMMU);
  h.sys.setMemlock(2 ** 30);
  const ram = h.sys.mmap(0x100000);
  assert.equal(h.map(c, 3, ram, 0, 0x10000), -U.EPERM);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x100000), 0);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x100000), -U.EBUSY);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, 0x10000), -U.EINVAL);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram + 0x10000, 0x10000), -U.ENOENT);
  assert.equal(h.map(c, 3, ram, 0x10000, 0x10000), 0); // default window created lazily (4K TCEs)
  assert.equal(h.map(c, 3, ram, 0x10800, 0x1000), 1);
  assert.equal(h.map(c, 3, ram, 0x100000000, 0x1000), -U.ENXIO);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), -U.EBUSY);
  const cr = (): number => {
    const a = h.a;
    a.setU32(0, 40); a.setU32(8, 16); a.setU64(16, 0x40000000); a.setU32(24, 1);
    const r = h.sys.ioctl(c, U.VFIO_IOMMU_SPAPR_TCE_CREATE, a);
    return r < 0 ? r : a.u64(32);
  };
  assert.equal(cr(), 2 ** 59);
  assert.equal(cr(), -U.ENOSPC);
  const u = h.a;
  u.setU32(0, 24); u.setU64(8, 0x10000); u.setU64(16, 0x10000);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_UNMAP_DMA, u), 0);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), 0);
  const locked = h.sys.mm.lockedVm;
  assert.ok(locked > 0); // the two TCE tables
});

// ------------------------------------------------------------------ on the POWER model

const DDW = 2 ** 59;
const spaprOf = (h: Harness, c: number): Spapr => (h.sys.file(c) as ContainerFile).container.backend as Spapr;
const peOf = (h: Harness, g: number): PowerPe => spaprPeOf((h.sys.file(g) as GroupFile).group.backendGroup);

function unmap(h: Harness, c: number, iova: number, size: number): number {
  const a = h.a;
  a.setU32(0, 24); a.setU64(8, iova); a.setU64(16, size);
  return h.sys.ioctl(c, U.VFIO_IOMMU_UNMAP_DMA, a);
}

function create(h: Harness, c: number, pageShift: number, size: number, levels: number): number {
  const a = h.a;
  a.setU32(0, 40); a.setU32(8, pageShift); a.setU64(16, size); a.setU32(24, levels);
  const r = h.sys.ioctl(c, U.VFIO_IOMMU_SPAPR_TCE_CREATE, a);
  return r < 0 ? r : a.u64(32);
}

function remove(h: Harness, c: number, start: number): number {
  const a = h.a;
  a.setU32(0, 16); a.setU64(8, start);
  return h.sys.ioctl(c, U.VFIO_IOMMU_SPAPR_TCE_REMOVE, a);
}

function eeh(h: Harness, c: number, op: number, o: { argsz?: number; flags?: number; type?: number; func?: number } = {}): number {
  const a = h.a;
  a.setU32(0, o.argsz ?? 40); a.setU32(4, o.flags ?? 0); a.setU32(8, op);
  a.setU32(16, o.type ?? 0); a.setU32(20, o.func ?? 0);
  return h.sys.ioctl(c, U.VFIO_EEH_PE_OP, a);
}
const GET_STATE = 4;

/** A v2 container holding the groups of `bdfs`, memlock 1 GiB, `mem` bytes registered. */
function v2(bdfs: string[], mem = 0x100000): { h: Harness; c: number; gs: number[]; ram: number } {
  const h = new Harness({ iommu: "power" });
  h.sys.setMemlock(2 ** 30);
  const c = h.container();
  const gs = bdfs.map((b) => h.group(b, c));
  assert.equal(h.setIommu(c, U.VFIO_SPAPR_TCE_v2_IOMMU), 0);
  const ram = h.sys.mmap(mem);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, mem), 0);
  return { h, c, gs, ram };
}

test("sPAPR MAP writes TCEs into the PE's table (R/W from the flags, W implies R) and UNMAP clears them; the PE translates IOVA to host physical", () => {
  const { h, c, gs: [g], ram } = v2(["0000:01:00.0"]);
  const pa = h.sys.mm.phys(ram);
  assert.equal(h.map(c, 3, ram, 0x10000, 0x2000), 0);
  assert.equal(h.map(c, 1, ram + 0x2000, 0x12000, 0x1000), 0);
  assert.equal(h.map(c, 2, ram + 0x3000, 0x13000, 0x1000), 0);
  const pe = peOf(h, g);
  const w = pe.windows[0]!;
  assert.equal(w, spaprOf(h, c).windows[0]!.hw, "the container's table is the PE's window 0");
  assert.equal(w.table.levels, 1);
  assert.deepEqual([0x10, 0x11, 0x12, 0x13, 0x14].map((i) => w.table.getValue(i)), [pa + 3, pa + 0x1003, pa + 0x2001, pa + 0x3003, 0]);
  assert.deepEqual(w.table.entryBytes(0x10).slice(4), [(pa >>> 24) & 255, (pa >>> 16) & 255, (pa >>> 8) & 255, 3], "stored big-endian");
  assert.equal(pe.dma(0x11abc, true), pa + 0x1abc);
  assert.equal(pe.dma(0x12abc, false), pa + 0x2abc);
  assert.equal(pe.eeh.frozen, false);
  assert.equal(unmap(h, c, 0x10000, 0x4000), 0);
  assert.deepEqual([0x10, 0x11, 0x12, 0x13].map((i) => w.table.getValue(i)), [0, 0, 0, 0]);
  assert.equal(w.iovaToPhys(0x11abc), -1);
  assert.equal(unmap(h, c, 0x10800, 0x1000), 1, "misaligned iova: +1, not an errno");
  assert.equal(h.map(c, 3, ram, 0x10000, 0x2000), 0);
  assert.equal(h.map(c, 3, ram + 0x4000, 0x11000, 0x1000), 0, "xchg: a valid TCE is replaced, not refused");
  assert.equal(w.table.getValue(0x11), pa + 0x4003);
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), -U.EBUSY);
  assert.equal(unmap(h, c, 0, 0x80000000), 0, "the whole window");
  assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, ram, 0x100000), 0, "every mapping let go of the region");
});

test("sPAPR v2: one table per window shared by every group of the container; both PEs translate; a late group gets the windows at attach", () => {
  const { h, c, gs: [g1, g2], ram } = v2(["0000:01:00.0", "0000:04:00.1"]);
  const pa = h.sys.mm.phys(ram);
  assert.equal(h.map(c, 3, ram, 0x20000, 0x10000), 0);
  assert.equal(create(h, c, 16, 2 ** 32, 2), DDW);
  assert.equal(h.map(c, 3, ram + 0x10000, DDW, 0x10000), 0);
  const [p1, p2] = [peOf(h, g1), peOf(h, g2)];
  assert.notEqual(p1, p2);
  assert.equal(p1.windows[0], p2.windows[0]);
  assert.equal(p1.windows[1], p2.windows[1]);
  for (const pe of [p1, p2]) {
    assert.equal(pe.dma(0x20010, true), pa + 0x10);
    assert.equal(pe.dma(DDW + 0x8080, false), pa + 0x18080); // doubles near 2^59 step by 128
    assert.equal(pe.bypass, false, "VFIO owns the PE: no bypass");
  }
  // a third group joining later: tce_iommu_take_ownership_ddw sets the existing windows into its PE
  const g3 = h.group("0000:04:00.2", c);
  const p3 = peOf(h, g3);
  assert.equal(p3.windows[1], p1.windows[1]);
  assert.equal(p3.dma(DDW + 0x8080, true), pa + 0x18080);
  // detach (6.4+ tce_iommu_release_ownership): entries cleared for every group, windows unset from
  // the leaving PE only, the host default window and bypass back on it
  assert.equal(h.unset(g3), 0);
  assert.notEqual(p3.windows[0], p1.windows[0]);
  assert.equal(p3.windows[1], null);
  assert.equal(p3.bypass, true);
  assert.equal(p1.windows[1], p2.windows[1]);
  assert.equal(p1.windows[1]!.iovaToPhys(DDW + 0x8080), -1);
});

test("sPAPR multi-level DDW: lower levels allocated on first use, freed with the window; locked memory as pnv_pci_ioda2_get_table_size", () => {
  const { h, c, gs: [g], ram } = v2(["0000:01:00.0"]);
  const mm = h.sys.mm;
  const prereg = 0x100000 / 4096;
  assert.equal(mm.lockedVm, prereg);
  assert.equal(h.map(c, 3, ram, 0, 0x1000), 0);
  const def = tceTableSize(12, 2 ** 31, 1) / 4096;
  assert.equal(mm.lockedVm, prereg + def, "default window: 4 MiB table + 4 MiB userspace view");
  assert.equal(create(h, c, 16, 2 ** 40, 3), -U.EINVAL, "64 KiB TCEs in 3 levels of 8192 reach 2^55: refused");
  assert.equal(mm.lockedVm, prereg + def + tceTableSize(16, 2 ** 40, 3) / 4096, "...after the charge, which stays");
  const leaked = tceTableSize(16, 2 ** 40, 3) / 4096;
  mm.lockedVm -= leaked;
  assert.equal(create(h, c, 12, 2 ** 36, 3), DDW);
  const ddw = tceTableSize(12, 2 ** 36, 3) / 4096;
  assert.equal(mm.lockedVm, prereg + def + ddw, "charged for fully populated levels at creation");
  const sw = spaprOf(h, c).windows[1]!;
  const t = sw.hw.table;
  assert.deepEqual([t.levels, t.tableEntries, t.levelTables, t.tablePages], [3, 8192, 1, 16]);
  assert.equal(h.map(c, 3, ram, DDW, 0x10000), 0);
  assert.equal(t.levelTables, 3, "a middle and a leaf level");
  assert.equal(sw.ua.levelTables, 3, "the userspace view grows alike");
  assert.equal(h.map(c, 1, ram + 0x10000, DDW + 0x10000, 0x10000), 0);
  assert.equal(t.levelTables, 3, "same leaf (8192 TCEs = 32 MiB)");
  assert.equal(h.map(c, 3, ram, DDW + 2 ** 35, 0x20000), 0);
  assert.equal(t.levelTables, 4, "another leaf under the same middle table");
  assert.equal(peOf(h, g).dma(DDW + 2 ** 35 + 0x10080, false), mm.phys(ram) + 0x10080);
  assert.equal(unmap(h, c, DDW, 2 ** 36), 0);
  assert.equal(t.levelTables, 4, "levels stay until the table goes");
  assert.equal(remove(h, c, DDW + 0x123450000), 0, "TCE_REMOVE finds the window containing the address");
  assert.deepEqual([t.levelTables, t.tablePages, sw.ua.levelTables], [0, 0, 0]);
  assert.equal(peOf(h, g).windows[1], null);
  assert.equal(mm.lockedVm, prereg + def);
  assert.equal(remove(h, c, DDW), -U.EINVAL);
  // a platform refusal after the charge leaves it charged (tce_iommu_create_table does not undo it)
  assert.equal(create(h, c, 12, 2 ** 34, 1), -U.ENOMEM, "a 32 MiB level is past one page allocation");
  assert.equal(mm.lockedVm, prereg + def + tceTableSize(12, 2 ** 34, 1) / 4096);
  mm.lockedVm = prereg + def;
  assert.equal(create(h, c, 16, 2 ** 42, 0), -U.EINVAL);
  assert.equal(create(h, c, 13, 2 ** 32, 1), -U.EINVAL, "page size not in pgsizes");
});

test("sPAPR teardown: no table pages left, locked memory back to zero, PE back to the host", () => {
  const { h, c, gs: [g], ram } = v2(["0000:01:00.0"]);
  assert.equal(h.map(c, 3, ram, 0x1000, 0x3000), 0);
  assert.equal(create(h, c, 16, 2 ** 36, 2), DDW);
  assert.equal(h.map(c, 3, ram, DDW + 2 ** 35, 0x40000), 0);
  const s = spaprOf(h, c);
  const [w0, w1] = [s.windows[0]!, s.windows[1]!];
  assert.ok(w1.hw.table.levelTables > 1);
  assert.equal(h.unset(g), 0);
  assert.equal(spaprOf(h, c), null, "last group gone: backend released");
  for (const w of [w0, w1]) assert.deepEqual([w.hw.table.tablePages, w.hw.table.levelTables, w.ua.tablePages], [0, 0, 0]);
  assert.equal(h.sys.mm.lockedVm, 0);
  const pe = peOf(h, g);
  assert.equal(pe.bypass, true);
  assert.equal(pe.windows[1], null);
  assert.notEqual(pe.windows[0], w0.hw);
});

test("sPAPR EEH: freezing one PE leaves the other group's PE translating; EEH_PE_OP follows the EEH state machine", () => {
  const a = v2(["0000:01:00.0"]);
  const h = a.h;
  const c2 = h.container();
  const g2 = h.group("0000:04:00.1", c2);
  assert.equal(h.setIommu(c2, U.VFIO_SPAPR_TCE_v2_IOMMU), 0);
  assert.equal(reg(h, c2, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, a.ram, 0x100000), 0);
  const pa = h.sys.mm.phys(a.ram);
  for (const c of [a.c, c2]) assert.equal(h.map(c, 3, a.ram, 0x10000, 0x10000), 0);
  const [p1, p2] = [peOf(h, a.gs[0]), peOf(h, g2)];
  // hardware: a DMA through an invalid TCE freezes that PE only
  assert.equal(p1.dma(0x40000, false), -1);
  assert.equal(eeh(h, a.c, GET_STATE), 2, "STOPPED_IO_DMA is the ioctl's return value");
  assert.equal(eeh(h, c2, GET_STATE), 0);
  assert.equal(p1.dma(0x10000, false), -1, "frozen: DMA stopped");
  assert.equal(p2.dma(0x10000, true), pa);
  assert.equal(eeh(h, a.c, 2), 0);
  assert.equal(eeh(h, a.c, GET_STATE), 4, "UNFREEZE_IO: MMIO back, DMA stopped");
  assert.equal(eeh(h, a.c, 3), 0);
  assert.equal(eeh(h, a.c, GET_STATE), 0);
  assert.equal(p1.dma(0x10010, true), pa + 0x10);
  // INJECT_ERR: argsz 40 needed; function 0..19; type 32/64-bit (pnv_eeh_err_inject's ERANGE)
  assert.equal(eeh(h, c2, 9, { argsz: 12 }), -U.EINVAL);
  assert.equal(eeh(h, c2, 9, { func: 20 }), -U.EINVAL);
  assert.equal(eeh(h, c2, 9, { type: 2 }), -U.ERANGE);
  assert.equal(eeh(h, c2, 9, { type: 1, func: 12 }), 0);
  assert.equal(eeh(h, c2, GET_STATE), 2);
  assert.equal(p2.dma(0x10000, false), -1);
  assert.equal(eeh(h, a.c, GET_STATE), 0, "the other PE is untouched");
  assert.equal(p1.dma(0x10000, false), pa);
  assert.equal(eeh(h, c2, 1), 0, "ENABLE on a frozen PE thaws it (eeh_pe_change_owner)");
  assert.equal(eeh(h, c2, GET_STATE), 0);
  // resets: hot freezes and asserts, deactivate brings the PE back; CONFIGURE is a no-op on PowerNV
  assert.equal(eeh(h, c2, 6), 0);
  assert.equal(eeh(h, c2, GET_STATE), 1);
  assert.equal(p2.eeh.frozen, true);
  assert.equal(eeh(h, c2, 5), 0);
  assert.equal(eeh(h, c2, GET_STATE), 0);
  assert.equal(eeh(h, c2, 8), 0);
  assert.equal(eeh(h, c2, 0), 0);
  assert.equal(eeh(h, c2, 10), -U.EINVAL);
  assert.equal(eeh(h, c2, GET_STATE, { flags: 1 }), -U.EINVAL);
  assert.equal(eeh(h, c2, GET_STATE, { argsz: 11 }), -U.EINVAL);
});

test("sPAPR EEH with two groups in one container: every PE gets the op, the first non-zero result wins", () => {
  const { h, c, gs: [g1, g2] } = v2(["0000:01:00.0", "0000:04:00.1"]);
  assert.equal(h.map(c, 3, h.sys.mmap(0x10000), 0, 0x1000), -U.EINVAL, "creates the default window (no region at vaddr)");
  peOf(h, g1).dma(0x7000, false);
  assert.equal(eeh(h, c, GET_STATE), 2, "the newest group is NORMAL, the next one frozen");
  assert.equal(peOf(h, g2).eeh.frozen, false);
  assert.equal(eeh(h, c, 6), 0);
  assert.deepEqual([peOf(h, g1).eeh.resetActive, peOf(h, g2).eeh.resetActive], [true, true]);
  assert.equal(eeh(h, c, 5), 0);
  assert.equal(eeh(h, c, GET_STATE), 0);
});

test("property: random MAP/UNMAP/(UN)REGISTER on a window match a map of pages, through the PE's table", () => {
  const PAGES = 8192; // 4 KiB TCEs, 32 MiB window: it_size = entries
  const CHUNK = 0x40000; // three 256 KiB chunks of user memory; chunks 0 and 1 can be registered
  const op = fc.oneof(
    fc.record({ k: fc.constant("map" as const), p: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 48 }), v: fc.nat(3 * 64 - 1), flags: fc.constantFrom(0, 1, 2, 3), skew: fc.constantFrom(0, 0, 0, 0x800) }),
    fc.record({ k: fc.constant("unmap" as const), p: fc.nat(PAGES - 1), n: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ k: fc.constant("toggle" as const), r: fc.constantFrom(0, 1) }),
  );
  fc.assert(
    fc.property(fc.constantFrom(1, 2, 3), fc.array(op, { maxLength: 30 }), (levels, ops) => {
      const h = new Harness({ iommu: "power" });
      h.sys.setMemlock(2 ** 30);
      const c = h.container();
      const g = h.group("0000:01:00.0", c);
      assert.equal(h.setIommu(c, U.VFIO_SPAPR_TCE_v2_IOMMU), 0);
      const ram = h.sys.mmap(3 * CHUNK);
      const registered = [true, false];
      assert.equal(reg(h, c, U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY, ram, CHUNK), 0);
      assert.equal(remove(h, c, 0), 0, "cancel the pending default window");
      assert.equal(create(h, c, 12, PAGES * 4096, levels), 0, "slot 0 is free again: the new window starts at 0");
      const w = peOf(h, g).windows[0]!;
      const ref = new Map<number, { va: number; perm: number }>();
      const chunkOf = (va: number) => Math.floor((va - ram) / CHUNK);
      const refs = (r: number) => [...ref.values()].filter((e) => chunkOf(e.va) === r).length;
      for (const o of ops) {
        if (o.k === "map") {
          const n = Math.min(o.n, PAGES - o.p);
          const va = ram + o.v * 4096;
          let want = 0;
          if (!(o.flags & 3)) want = -U.EINVAL;
          else if (o.skew) want = 1;
          else {
            for (let i = 0; i < n; i++) {
              const r = chunkOf(va + i * 4096);
              if (r > 2 || r < 0 || !registered[r]) {
                for (let j = 0; j < i; j++) ref.delete(o.p + j); // written entries cleared, not restored
                want = -U.EINVAL;
                break;
              }
              ref.set(o.p + i, { va: va + i * 4096, perm: o.flags & 2 ? 3 : 1 });
            }
          }
          assert.equal(h.map(c, o.flags, va, o.p * 4096 + o.skew, n * 4096), want);
        } else if (o.k === "unmap") {
          const n = Math.min(o.n, PAGES - o.p);
          for (let i = 0; i < n; i++) ref.delete(o.p + i);
          assert.equal(unmap(h, c, o.p * 4096, n * 4096), 0);
        } else {
          const nr = registered[o.r] ? U.VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY : U.VFIO_IOMMU_SPAPR_REGISTER_MEMORY;
          const want = registered[o.r] && refs(o.r) > 0 ? -U.EBUSY : 0;
          assert.equal(reg(h, c, nr, ram + o.r * CHUNK, CHUNK), want);
          if (want === 0) registered[o.r] = !registered[o.r];
        }
      }
      for (let p = 0; p < PAGES; p++) {
        const e = ref.get(p);
        const pa = e ? h.sys.mm.phys(e.va) : 0;
        assert.equal(w.table.getValue(p), e ? pa + e.perm : 0, `TCE ${p}`);
        if (e) assert.equal(w.dmaTranslate(p * 4096 + 0x44, e.perm === 3 ? 2 : 1), pa + 0x44);
      }
      assert.equal(h.unset(g), 0);
      assert.deepEqual([w.table.tablePages, h.sys.mm.lockedVm], [0, 0]);
    }),
    { numRuns: 100 },
  );
});
