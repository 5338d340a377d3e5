// Type1 dirty page tracking (vfio_iommu_type1.c: vfio_iommu_type1_dirty_pages, vfio_iova_dirty_bitmap,
// update_user_bitmap, vfio_dma_populate_bitmap, UNMAP_DMA with GET_DIRTY_BITMAP): errno paths in
// the kernel's order, bitmap contents through process memory, the pinned-page scope of emulated
// devices, and a model-based property over random map/unmap/get sequences.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Harness } from "./helpers.js";
import { setAllocFailHook } from "../../src/vfio/iommu.js";
import { IoctlArg } from "../../src/vfio/arg.js";
import { kernelFeatures } from "../../src/vfio/kernel.js";
import { ProcessMm } from "../../src/vfio/mm.js";
import { Type1, type BackendGroup } from "../../src/vfio/type1/type1.js";
import {
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP as GET, VFIO_IOMMU_DIRTY_PAGES_FLAG_START as START,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP as STOP,
} from "../../src/vfio/type1/dirty.js";
import { IOMMU_READ, IOMMU_WRITE } from "../../src/iommu/domain.js";
import * as U from "../../src/vfio/uapi.js";

const P = 0x1000;
const RW = U.VFIO_DMA_MAP_FLAG_READ | U.VFIO_DMA_MAP_FLAG_WRITE;
const BDF = "0000:01:00.0";

interface Bitmap {
  pgsize?: number;
  bsize?: number;
  data?: number;
  argsz?: number;
}

/** A container with 01:00.0 on type1 (v2 unless told), RAM and a user bitmap buffer. */
function setup(opts: { kernel?: string; type?: number; ramPages?: number } = {}) {
  const h = new Harness(opts.kernel ? { kernel: opts.kernel } : {});
  const c = h.container();
  h.group(BDF, c);
  assert.equal(h.setIommu(c, opts.type ?? U.VFIO_TYPE1v2_IOMMU), 0);
  const ram = h.sys.mmap((opts.ramPages ?? 64) * P);
  const buf = h.sys.mmap(4 * P);
  return { h, c, ram, buf };
}

function dirty(h: Harness, c: number, flags: number, argsz = 8): number {
  const a = h.a;
  a.setU32(0, argsz);
  a.setU32(4, flags);
  return h.sys.ioctl(c, U.VFIO_IOMMU_DIRTY_PAGES, a);
}

/** GET_BITMAP of [iova, iova+size); bitmap defaults: pgsize 4K, the smallest size that fits. */
function getBitmap(h: Harness, c: number, iova: number | bigint, size: number | bigint, b: Bitmap & { buf: number }): number {
  const a = h.a;
  a.setU32(0, b.argsz ?? 48);
  a.setU32(4, GET);
  a.setBig64(8, BigInt(iova));
  a.setBig64(16, BigInt(size));
  a.setU64(24, b.pgsize ?? P);
  a.setU64(32, b.bsize ?? Math.max(8, Math.ceil(Number(size) / P / 64) * 8));
  a.setU64(40, b.data ?? b.buf);
  return h.sys.ioctl(c, U.VFIO_IOMMU_DIRTY_PAGES, a);
}

/** UNMAP_DMA with GET_DIRTY_BITMAP: the unmapped size, or -errno. */
function unmapBitmap(h: Harness, c: number, iova: number, size: number, b: Bitmap & { buf: number; flags?: number }): number {
  const a = h.a;
  a.setU32(0, b.argsz ?? 48);
  a.setU32(4, b.flags ?? U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP);
  a.setU64(8, iova);
  a.setU64(16, size);
  a.setU64(24, b.pgsize ?? P);
  a.setU64(32, b.bsize ?? Math.max(8, Math.ceil(size / P / 64) * 8));
  a.setU64(40, b.data ?? b.buf);
  const r = h.sys.ioctl(c, U.VFIO_IOMMU_UNMAP_DMA, a);
  return r < 0 ? r : a.u64(16);
}

function zero(h: Harness, buf: number, bytes = 4 * P): void {
  h.sys.mm.write(buf, new Uint8Array(bytes));
}

/** Pages whose bit is set in the first `pages` bits of the user's bitmap. */
function setPages(mm: ProcessMm, buf: number, pages: number): number[] {
  const bytes = mm.read(buf, Math.ceil(pages / 64) * 8)!;
  const out: number[] = [];
  for (let i = 0; i < pages; i++) if (bytes[i >> 3]! >> (i & 7) & 1) out.push(i);
  return out;
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

function backend(h: Harness, c: number): Type1 {
  const f = h.sys.file(c);
  assert.ok(f && f.kind === "container");
  return f.container.backend as Type1;
}

// ------------------------------------------------------------------ DIRTY_PAGES errnos

test("DIRTY_PAGES on a v1 container: EACCES before the argument is read (§9 #28)", () => {
  const { h, c } = setup({ type: U.VFIO_TYPE1_IOMMU });
  for (const [flags, argsz] of [[START, 8], [STOP, 8], [GET, 48], [0, 0], [0xff, 0]] as const) {
    assert.equal(dirty(h, c, flags, argsz), -U.EACCES);
  }
});

test("DIRTY_PAGES: argsz, unknown flags, exactly one flag; START and STOP are idempotent", () => {
  const { h, c } = setup();
  assert.equal(dirty(h, c, START, 7), -U.EINVAL);
  assert.equal(dirty(h, c, 8), -U.EINVAL);
  assert.equal(dirty(h, c, START | 8), -U.EINVAL);
  assert.equal(dirty(h, c, 0), -U.EINVAL);
  assert.equal(dirty(h, c, START | STOP), -U.EINVAL);
  assert.equal(dirty(h, c, STOP | GET), -U.EINVAL);
  assert.equal(dirty(h, c, STOP), 0); // not tracking: still 0
  assert.equal(dirty(h, c, START), 0);
  assert.equal(dirty(h, c, START), 0);
  assert.equal(dirty(h, c, STOP), 0);
  assert.equal(dirty(h, c, STOP), 0);
});

test("GET_BITMAP argument checks in the kernel's order (6.1)", () => {
  const { h, c, ram, buf } = setup();
  assert.equal(h.map(c, RW, ram, 0x10000, 16 * P), 0);
  const g = (iova: number | bigint, size: number | bigint, b: Bitmap = {}): number => getBitmap(h, c, iova, size, { buf, ...b });
  // tracking off: every argument check still runs first, then EINVAL for "not tracking"
  assert.equal(g(0x10000, 16 * P), -U.EINVAL);
  assert.equal(dirty(h, c, START), 0);
  assert.equal(g(0x10000, 16 * P), 0);
  assert.equal(g(0x10000, 16 * P, { argsz: 47 }), -U.EINVAL); // argsz - 8 < sizeof(range)
  assert.equal(g(0xfffffffffffff000n, 0x2000n, { argsz: 47 }), -U.EINVAL);
  assert.equal(g(0xfffffffffffff000n, 0x1000n), -U.EINVAL); // iova + size wraps to 0
  assert.equal(g(0x10000, 16 * P, { data: 0x7ffffffff000, bsize: 8 }), -U.EINVAL); // access_ok
  assert.equal(g(0x10000, 16 * P, { data: 0x7fffffffeff8, bsize: 8 }), -U.EFAULT); // passes access_ok, not mapped
  assert.equal(g(0x10000, 16 * P, { bsize: 0 }), -U.EINVAL); // verify_bitmap_size
  assert.equal(g(0x10000, 0), -U.EINVAL); // zero pages
  assert.equal(g(0x10000, 65 * P, { bsize: 8 }), -U.EINVAL); // 65 bits need 16 bytes
  assert.equal(g(0x10000, 65 * P, { bsize: 16 }), 0); // fits, and covers the mapping whole
  assert.equal(g(0x10000, 16 * P, { bsize: 268435456 + 8 }), -U.EINVAL); // > DIRTY_BITMAP_SIZE_MAX
  assert.equal(g(0x10000, 16 * P, { pgsize: 0x2000 }), -U.EINVAL); // only the smallest page size
  assert.equal(g(0x10000, 16 * P, { pgsize: 0 }), -U.EINVAL);
  assert.equal(g(0x10800, 16 * P), -U.EINVAL); // iova unaligned
  assert.equal(g(0x10000, 16 * P + 0x800), -U.EINVAL); // size unaligned
  assert.equal(g(0x11000, 15 * P), -U.EINVAL); // starts inside the mapping
  assert.equal(g(0x10000, 8 * P), -U.EINVAL); // ends inside it
  assert.equal(g(0x0, 32 * P), 0); // covers it whole
  assert.equal(g(0x0, 32 * P, { data: 0 }), -U.EFAULT); // NULL bitmap: copy_to_user faults
  assert.equal(g(0x100000, 16 * P, { data: 0 }), 0); // no mapping in range: nothing is copied
});

test("GET_BITMAP on the check_add_overflow series (modelled from 6.15): size 0 first, wrap → EOVERFLOW", () => {
  const { h, c, buf } = setup({ kernel: "6.15" });
  assert.equal(dirty(h, c, START), 0);
  assert.equal(getBitmap(h, c, 0x1000, 0, { buf, bsize: 8 }), -U.EINVAL);
  assert.equal(getBitmap(h, c, 0xfffffffffffff000n, 0x2000n, { buf, bsize: 8 }), -U.EOVERFLOW);
  // ending exactly at the top is representable now; nothing mapped there
  assert.equal(getBitmap(h, c, 0xfffffffffffff000n, 0x1000n, { buf, bsize: 8 }), 0);
});

// ------------------------------------------------------------------ bitmap contents

test("IOMMU-backed group: every pinned page of the queried mappings is dirty, on every GET", () => {
  const { h, c, ram, buf } = setup();
  assert.equal(h.map(c, RW, ram, 0, 16 * P), 0);
  assert.equal(h.map(c, U.VFIO_DMA_MAP_FLAG_READ, ram + 16 * P, 64 * P, 8 * P), 0);
  assert.equal(dirty(h, c, START), 0);
  assert.equal(h.map(c, RW, ram + 32 * P, 128 * P, 4 * P), 0); // mapped while tracking: gets a bitmap
  for (let n = 0; n < 3; n++) {
    zero(h, buf);
    assert.equal(getBitmap(h, c, 0, 192 * P, { buf }), 0);
    assert.deepEqual(setPages(h.sys.mm, buf, 192), [...range(0, 16), ...range(64, 72), ...range(128, 132)]);
  }
  // one mapping alone
  zero(h, buf);
  assert.equal(getBitmap(h, c, 64 * P, 8 * P, { buf }), 0);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), range(0, 8));
  // whole u64 words are written: what the user had in them is gone, the next word is untouched
  h.sys.mm.write(buf, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff]));
  assert.equal(getBitmap(h, c, 0, 16 * P, { buf }), 0);
  assert.deepEqual([...h.sys.mm.read(buf, 9)!], [0xff, 0xff, 0, 0, 0, 0, 0, 0, 0xff]);
  // a mapping starting mid-word ORs in the user's word (bits 0 and 2: unmapped pages 60, 62)
  zero(h, buf);
  h.sys.mm.write(buf, new Uint8Array([0x05]));
  assert.equal(getBitmap(h, c, 60 * P, 20 * P, { buf }), 0);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), [0, 2, ...range(4, 12)]);
});

test("STOP frees the bitmaps: GET → EINVAL; START again starts clean", () => {
  const { h, c, ram, buf } = setup();
  assert.equal(h.map(c, RW, ram, 0, 4 * P), 0);
  assert.equal(dirty(h, c, START), 0);
  assert.equal(getBitmap(h, c, 0, 64 * P, { buf }), 0);
  assert.equal(dirty(h, c, STOP), 0);
  assert.equal(getBitmap(h, c, 0, 64 * P, { buf }), -U.EINVAL);
  const be = backend(h, c);
  assert.equal(be.dirtyTracking, false);
  assert.ok(be.dmas.every((d) => d.bitmap === null));
  assert.equal(dirty(h, c, START), 0);
  zero(h, buf);
  assert.equal(getBitmap(h, c, 0, 64 * P, { buf }), 0);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), range(0, 4));
});

test("MAP while tracking: the bitmap allocation can fail (ENOMEM), and the mapping goes again", () => {
  const { h, c, ram } = setup();
  assert.equal(dirty(h, c, START), 0);
  const locked = h.sys.mm.lockedVm;
  let calls = 0;
  // allocations of a tracked MAP: the vfio_dma, then its bitmap
  setAllocFailHook(() => ++calls === 2);
  try {
    assert.equal(h.map(c, RW, ram, 0, 8 * P), -U.ENOMEM);
  } finally {
    setAllocFailHook(null);
  }
  assert.equal(h.sys.mm.lockedVm, locked);
  const be = backend(h, c);
  assert.equal(be.dmas.length, 0);
  assert.equal(be.dmaAvail, 65535);
  assert.deepEqual(be.translate(0), [-1]); // unmapped from the domain again
  assert.equal(h.map(c, RW, ram, 0, 8 * P), 0);
  assert.ok(be.dmas[0]!.bitmap instanceof Uint8Array);
});

test("START fails as a whole: a mapping over INT_MAX pages cannot get a bitmap", () => {
  const mm = new ProcessMm();
  mm.chargeLocked = false;
  const t = Type1.open(U.VFIO_TYPE1v2_IOMMU, mm, kernelFeatures("6.1")) as Type1;
  assert.equal(t.attachGroup(emulated(1)), 0);
  const ram = mm.mmap(P);
  // no IOMMU domain: nothing is pinned, so a huge mapping is cheap
  assert.equal(t.map(0, P, ram, IOMMU_READ), 0);
  assert.equal(t.map(0x10000000000, 0x80000000000, ram, IOMMU_READ), 0); // 2^31 pages
  const a = new IoctlArg();
  a.setU32(0, 8);
  a.setU32(4, START);
  assert.equal(t.ioctl(U.VFIO_IOMMU_DIRTY_PAGES, a), -U.EINVAL);
  assert.equal(t.dirtyTracking, false);
  assert.ok(t.dmas.every((d) => d.bitmap === null));
});

test("UNMAP_DMA with GET_DIRTY_BITMAP: checks, bits copied out, size written back", () => {
  const { h, c, ram, buf } = setup();
  const u = (iova: number, size: number, b: Bitmap & { flags?: number } = {}): number => unmapBitmap(h, c, iova, size, { buf, ...b });
  assert.equal(h.map(c, RW, ram, 0, 8 * P), 0);
  assert.equal(h.map(c, RW, ram + 8 * P, 8 * P, 2 * P), 0);
  assert.equal(u(0, 16 * P), -U.EINVAL); // tracking off
  assert.equal(dirty(h, c, START), 0);
  assert.equal(u(0, 16 * P, { flags: U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | U.VFIO_DMA_UNMAP_FLAG_ALL }), -U.EINVAL);
  assert.equal(u(0, 16 * P, { flags: U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | U.VFIO_DMA_UNMAP_FLAG_VADDR }), -U.EINVAL);
  assert.equal(u(0, 16 * P, { argsz: 47 }), -U.EINVAL);
  assert.equal(u(0, 16 * P, { data: 0x7ffffffff000, bsize: 0x2000 }), -U.EINVAL); // access_ok
  assert.equal(u(0, 65 * P, { bsize: 8 }), -U.EINVAL); // verify_bitmap_size on the unmap size
  assert.equal(u(0, 16 * P, { pgsize: 0x2000, bsize: 8 }), -U.EINVAL); // verified, then the page size
  assert.equal(u(0x800, 16 * P), -U.EINVAL);
  assert.equal(u(P, 8 * P), -U.EINVAL); // v2: bisects the first mapping
  assert.equal(u(0, 16 * P, { data: 0 }), -U.EFAULT); // NULL: the first mapping's copy faults
  const be = backend(h, c);
  assert.equal(be.dmas.length, 2); // nothing removed
  zero(h, buf);
  assert.equal(u(0, 16 * P), 10 * P);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), range(0, 10));
  assert.equal(be.dmas.length, 0);
  assert.equal(h.sys.mm.lockedVm, 0);
  // a fault on the second mapping's word: the first is already gone, nothing written back
  assert.equal(h.map(c, RW, ram, 0, 64 * P), 0);
  assert.equal(h.map(c, RW, ram, 64 * P, 4 * P), 0);
  const small = h.sys.mmap(P); // the page after it is a guard gap
  assert.equal(u(0, 68 * P, { data: small + P - 8, bsize: 16 }), -U.EFAULT);
  assert.deepEqual(be.dmas.map((d) => [d.iova, d.size]), [[64 * P, 4 * P]]);
  assert.deepEqual([...h.sys.mm.read(small + P - 8, 8)!], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
});

test("kernel quirk: bits an unaligned mapping shifted past its end survive bitmap_clear and reappear", () => {
  // update_user_bitmap shifts the mapping's own bitmap in place; vfio_iova_dirty_bitmap then
  // clears only nbits bits, so the shifted-out tail stays and each later GET moves it further
  const { h, c, ram, buf } = setup();
  assert.equal(h.map(c, RW, ram, 0, P), 0);
  assert.equal(h.map(c, RW, ram + P, P, 2 * P), 0); // starts at bit 1 of the word: shift 1
  assert.equal(dirty(h, c, START), 0);
  const seen: number[][] = [];
  for (let n = 0; n < 3; n++) {
    zero(h, buf);
    assert.equal(getBitmap(h, c, 0, 64 * P, { buf }), 0);
    seen.push(setPages(h.sys.mm, buf, 64));
  }
  assert.deepEqual(seen, [[0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]);
  // without a shift too: the leftovers sit in the mapping's last word, which is copied whole
  zero(h, buf);
  assert.equal(getBitmap(h, c, P, 2 * P, { buf }), 0);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), [0, 1, 2, 3, 4]);
  // only new bitmaps (STOP, START) forget them
  assert.equal(dirty(h, c, STOP), 0);
  assert.equal(dirty(h, c, START), 0);
  zero(h, buf);
  assert.equal(getBitmap(h, c, P, 2 * P, { buf }), 0);
  assert.deepEqual(setPages(h.sys.mm, buf, 64), [0, 1]);
});

test("GET_INFO's MIGRATION capability describes what DIRTY_PAGES accepts", () => {
  const { h, c, buf } = setup();
  const a = h.a;
  a.setU32(0, 200);
  assert.equal(h.sys.ioctl(c, U.VFIO_IOMMU_GET_INFO, a), 0);
  const off = a.u32(16);
  assert.equal(off, 24);
  assert.deepEqual([a.u16(off), a.u16(off + 2)], [2, 1]); // VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION v1
  assert.equal(a.u32(off + 8), 0);
  const pgsize = a.u64(off + 16), max = a.u64(off + 24);
  assert.deepEqual([pgsize, max], [P, 268435456]);
  assert.equal(dirty(h, c, START), 0);
  assert.equal(getBitmap(h, c, 0, P, { buf, pgsize, bsize: max }), 0);
  assert.equal(getBitmap(h, c, 0, P, { buf, pgsize, bsize: max + 8 }), -U.EINVAL);
});

// ------------------------------------------------------------------ pinned-page scope

function emulated(id: number): BackendGroup {
  return { id, iommuKind: "intel", addressWidth: 39, reserved: [], emulated: true };
}
function iommuGroup(id: number): BackendGroup {
  return { id, iommuKind: "intel", addressWidth: 39, reserved: [{ start: 0xfee00000, last: 0xfeefffff }] };
}

test("pinned-page scope: an emulated device's pins are what is dirty; an IOMMU group widens it to everything", () => {
  const mm = new ProcessMm();
  const t = Type1.open(U.VFIO_TYPE1v2_IOMMU, mm, kernelFeatures("6.1")) as Type1;
  const mdev = emulated(100), real = iommuGroup(8);
  assert.equal(t.attachGroup(mdev), 0);
  const ram = mm.mmap(32 * P), buf = mm.mmap(P);
  assert.equal(t.map(0, 16 * P, ram, IOMMU_READ | IOMMU_WRITE), 0);
  assert.equal(mm.lockedVm, 0); // no IOMMU domain: MAP pins nothing
  const a = new IoctlArg();
  const get = (iova = 0, size = 64 * P): number[] => {
    mm.write(buf, new Uint8Array(8));
    a.reset();
    a.setU32(0, 48); a.setU32(4, GET); a.setU64(8, iova); a.setU64(16, size); a.setU64(24, P); a.setU64(32, 8); a.setU64(40, buf);
    assert.equal(t.ioctl(U.VFIO_IOMMU_DIRTY_PAGES, a), 0);
    return setPages(mm, buf, 64);
  };
  a.setU32(0, 8); a.setU32(4, START);
  assert.equal(t.ioctl(U.VFIO_IOMMU_DIRTY_PAGES, a), 0);
  assert.deepEqual(get(), []);
  // vfio_pin_pages: checks, then pinned pages are dirty and charged (no domain)
  assert.equal(t.pinPages(mdev, 2 * P, 0, IOMMU_READ), -U.EINVAL);
  assert.equal(t.pinPages(mdev, 2 * P, 513, IOMMU_READ), -U.E2BIG);
  assert.equal(t.pinPages(mdev, 15 * P, 2, IOMMU_READ), -U.EINVAL); // runs off the mapping
  assert.equal(mm.lockedVm, 0); // the first page was unpinned again
  assert.deepEqual(get(), [15]); // but its dirty bit stays until the next GET
  assert.deepEqual(get(), []);
  assert.equal(t.pinPages(mdev, 2 * P, 2, IOMMU_READ | IOMMU_WRITE), 2);
  assert.equal(t.pinPages(mdev, 2 * P, 1, IOMMU_READ), 1); // a second pin on page 2
  assert.equal(mm.lockedVm, 2);
  assert.deepEqual(get(), [2, 3]);
  assert.deepEqual(get(), [2, 3]); // re-populated from the pins
  t.unpinPages(3 * P, 1);
  t.unpinPages(2 * P, 1);
  assert.equal(mm.lockedVm, 1);
  assert.deepEqual(get(), [2, 3]); // page 3's bit was set before the unpin
  assert.deepEqual(get(), [2]);
  // an IOMMU-backed group: the replay pins everything, and everything counts as dirty
  assert.equal(t.attachGroup(real), 0);
  assert.equal(mm.lockedVm, 16); // page 2 was already charged
  assert.deepEqual(get(), range(0, 16));
  // once the IOMMU group's device pins pages itself, only pins count again
  assert.equal(t.pinPages(real, 5 * P, 1, IOMMU_READ), 1);
  assert.equal(mm.lockedVm, 16); // with a domain, MAP charged it already
  assert.deepEqual(get(), [2, 5]);
  assert.deepEqual(get(), [2, 5]);
  // detaching a group without pinned scope marks everything once (vfio_iommu_populate_bitmap_full)
  const other = iommuGroup(9);
  assert.equal(t.attachGroup(other), 0);
  assert.deepEqual(get(), range(0, 16));
  t.detachGroup(other);
  assert.deepEqual(get(), range(0, 16));
  assert.deepEqual(get(), [2, 5]);
  // the last IOMMU domain goes, the emulated group stays: unpinned, re-accounted to the pins
  t.detachGroup(real);
  assert.equal(mm.lockedVm, 2);
  assert.ok(t.dmas.every((d) => !d.iommuMapped && d.runs.length === 0));
  // unmap notifies the emulated device, which unpins; the bits go out with the mapping
  mm.write(buf, new Uint8Array(8));
  a.reset();
  a.setU32(0, 48); a.setU32(4, U.VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP); a.setU64(8, 0); a.setU64(16, 16 * P);
  a.setU64(24, P); a.setU64(32, 8); a.setU64(40, buf);
  assert.equal(t.ioctl(U.VFIO_IOMMU_UNMAP_DMA, a), 0);
  assert.equal(a.u64(16), 16 * P);
  assert.deepEqual(setPages(mm, buf, 64), [2, 5]);
  assert.equal(mm.lockedVm, 0);
  assert.equal(t.pinPages(mdev, 0, 1, IOMMU_READ), -U.EINVAL);
});

test("pinPages: v1 container EACCES, prot EPERM, VADDR pending EBUSY, memlock ENOMEM", () => {
  const mm = new ProcessMm();
  const v1 = Type1.open(U.VFIO_TYPE1_IOMMU, mm, kernelFeatures("6.1")) as Type1;
  assert.equal(v1.pinPages(emulated(1), 0, 1, IOMMU_READ), -U.EACCES);
  const t = Type1.open(U.VFIO_TYPE1v2_IOMMU, mm, kernelFeatures("6.1")) as Type1;
  const g = emulated(1);
  assert.equal(t.attachGroup(g), 0);
  const ram = mm.mmap(8 * P);
  assert.equal(t.map(0, 8 * P, ram, IOMMU_READ), 0);
  assert.equal(t.pinPages(g, 0, 1, IOMMU_WRITE), -U.EPERM);
  mm.memlockLimit = P;
  assert.equal(t.pinPages(g, 0, 2, IOMMU_READ), -U.ENOMEM);
  assert.equal(mm.lockedVm, 0);
  assert.equal(t.unmap(0, 8 * P, false, true), 8 * P); // VADDR: invalidate
  assert.equal(t.pinPages(g, 0, 1, IOMMU_READ), -U.EBUSY);
});

// ------------------------------------------------------------------ property

/**
 * Reference for the user-visible bitmap: per mapping a BigInt of the kernel's bitmap (bits past
 * the mapping are what bitmap_clear leaves behind), update_user_bitmap on u64 words.
 */
interface RefMap { iova: number; pages: number; bm: bigint }
const W64 = (1n << 64n) - 1n;

function refCopy(m: RefMap, base: number, user: bigint[]): RefMap["bm"] {
  const nbits = BigInt(m.pages);
  let bm = m.bm | ((1n << nbits) - 1n); // IOMMU-backed: every page dirty
  const off = m.iova - base, shift = off % 64, word = Math.floor(off / 64);
  const lim = Math.ceil((m.pages + shift) / 64);
  const limMask = (1n << BigInt(64 * lim)) - 1n;
  if (shift) {
    bm = (((bm & limMask) << BigInt(shift)) & limMask) | (bm & ~limMask);
    bm |= user[word] ?? 0n;
  }
  for (let i = 0; i < lim; i++) user[word + i] = (bm >> BigInt(64 * i)) & W64;
  return bm;
}

/** A range op: raw page numbers, or snapped to mapping edges (a-th to b-th mapping, widened by pre/post pages, never splitting one). */
interface RangeOp { iova: number; pages: number; snap: boolean; a: number; b: number; pre: number; post: number }
type Op =
  | { k: "map"; iova: number; pages: number }
  | ({ k: "unmap"; bitmap: boolean } & RangeOp)
  | ({ k: "get" } & RangeOp)
  | { k: "start" }
  | { k: "stop" };

const WINDOW = 200;
const rangeArb = {
  iova: fc.integer({ min: 0, max: WINDOW - 1 }), pages: fc.integer({ min: 1, max: WINDOW }), snap: fc.boolean(),
  a: fc.nat(20), b: fc.nat(20), pre: fc.integer({ min: 0, max: 70 }), post: fc.integer({ min: 0, max: 70 }),
};
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("map" as const), iova: fc.integer({ min: 0, max: WINDOW - 1 }), pages: fc.integer({ min: 1, max: 70 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("unmap" as const), bitmap: fc.boolean(), ...rangeArb }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("get" as const), ...rangeArb }) },
  { weight: 1, arbitrary: fc.constant({ k: "start" as const }) },
  { weight: 1, arbitrary: fc.constant({ k: "stop" as const }) },
);

/** [iova, end) in pages for a range op against the current mappings. */
function resolve(op: RangeOp, maps: readonly RefMap[]): [number, number] {
  if (!op.snap || maps.length === 0) return [op.iova, op.iova + op.pages];
  const lo = maps[op.a % maps.length]!, hi = maps[Math.max(op.a % maps.length, op.b % maps.length)]!;
  let iova = Math.max(0, lo.iova - op.pre), end = hi.iova + hi.pages + op.post;
  for (const m of maps) {
    if (m.iova < iova && iova < m.iova + m.pages) iova = m.iova;
    if (m.iova < end && end < m.iova + m.pages) end = m.iova + m.pages;
  }
  return [iova, end];
}

test("property: while tracking, every mapped page of the range is reported, and only the kernel's shift leftovers besides", () => {
  let gets = 0, phantoms = 0;
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
    const { h, c, ram, buf } = setup({ ramPages: 80 });
    const mm = h.sys.mm;
    let maps: RefMap[] = [];
    let tracking = true;
    assert.equal(dirty(h, c, START), 0);
    const bisects = (iova: number, end: number): boolean =>
      maps.some((m) => (m.iova < iova && iova < m.iova + m.pages) || (m.iova < end && end < m.iova + m.pages));
    for (const op of ops) {
      switch (op.k) {
        case "start":
          if (!tracking) for (const m of maps) m.bm = 0n;
          tracking = true;
          assert.equal(dirty(h, c, START), 0);
          break;
        case "stop":
          tracking = false;
          assert.equal(dirty(h, c, STOP), 0);
          break;
        case "map": {
          const end = op.iova + op.pages;
          const r = h.map(c, RW, ram + (op.iova % 8) * P, op.iova * P, op.pages * P);
          const overlap = maps.some((m) => m.iova < end && op.iova < m.iova + m.pages);
          assert.equal(r, overlap ? -U.EEXIST : 0);
          if (!overlap) maps = [...maps, { iova: op.iova, pages: op.pages, bm: 0n }].sort((p, q) => p.iova - q.iova);
          break;
        }
        case "unmap": {
          const [iova, end] = resolve(op, maps);
          const hit = maps.filter((m) => m.iova >= iova && m.iova < end);
          if (!op.bitmap) {
            const r = h.unmap(c, 0, iova * P, (end - iova) * P);
            if (bisects(iova, end)) assert.equal(r, -U.EINVAL);
            else assert.equal(r, hit.reduce((s, m) => s + m.pages, 0) * P);
          } else {
            zero(h, buf);
            const r = unmapBitmap(h, c, iova * P, (end - iova) * P, { buf });
            if (!tracking || bisects(iova, end)) {
              assert.equal(r, -U.EINVAL);
              break;
            }
            assert.equal(r, hit.reduce((s, m) => s + m.pages, 0) * P);
            const user: bigint[] = [];
            for (const m of hit) refCopy(m, iova, user);
            phantoms += checkUser(mm, buf, end - iova, user, hit, iova);
          }
          if (!bisects(iova, end)) maps = maps.filter((m) => !hit.includes(m));
          break;
        }
        case "get": {
          const [iova, end] = resolve(op, maps);
          zero(h, buf);
          const r = getBitmap(h, c, iova * P, (end - iova) * P, { buf });
          if (!tracking || bisects(iova, end)) {
            assert.equal(r, -U.EINVAL);
            break;
          }
          assert.equal(r, 0);
          gets++;
          const user: bigint[] = [];
          const hit = maps.filter((m) => m.iova >= iova && m.iova < end);
          for (const m of hit) {
            const bm = refCopy(m, iova, user);
            m.bm = bm & ~((1n << BigInt(m.pages)) - 1n); // bitmap_clear of the mapping's own bits
          }
          phantoms += checkUser(mm, buf, end - iova, user, hit, iova);
          break;
        }
      }
    }
  }), { numRuns: 300 });
  // the generator reaches both: plain GETs and the kernel's leftover bits
  assert.ok(gets > 300, `${gets} successful GETs, ${phantoms} leftovers`);
  assert.ok(phantoms > 50, `${phantoms} leftover bits seen`);
});

/** The user's bitmap equals the reference; every mapped page is in it; extra bits lie after a mapping's end, in the words written for it. */
function checkUser(mm: ProcessMm, buf: number, pages: number, user: bigint[], hit: RefMap[], base: number): number {
  const words = Math.ceil(pages / 64);
  const bytes = mm.read(buf, words * 8)!;
  const got: number[] = [], want: number[] = [];
  for (let i = 0; i < words * 64; i++) {
    if (bytes[i >> 3]! >> (i & 7) & 1) got.push(i);
    if (((user[i >> 6] ?? 0n) >> BigInt(i & 63)) & 1n) want.push(i);
  }
  assert.deepEqual(got, want);
  const mapped = new Set<number>();
  for (const m of hit) for (let p = 0; p < m.pages; p++) mapped.add(m.iova - base + p);
  for (const p of mapped) assert.ok(got.includes(p), `mapped page ${p} reported`);
  let extra = 0;
  for (const p of got) {
    if (mapped.has(p)) continue;
    extra++;
    const owner = hit.find((m) => {
      const off = m.iova - base;
      return p >= off + m.pages && p < (Math.floor(off / 64) + Math.ceil(((off % 64) + m.pages) / 64)) * 64;
    });
    assert.ok(owner, `page ${p} reported without a mapping before it in reach of a shift`);
  }
  return extra;
}
