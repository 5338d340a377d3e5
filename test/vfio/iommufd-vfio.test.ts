// VFIO devices on iommufd, on the replay host with an iommufd-enabled 6.12 ("6.12+iommufd"):
// the cdev path (BIND / ATTACH / DETACH), the group path with an iommufd as container, DMA
// ownership between the two, pinning and accounting through a real VT-d domain. No kernel of the
// oracle has iommufd, so the expectations are iommufd.md's rules (cited per case); the two traces
// under fixtures/traces/iommufd carry the same checks as line-by-line expectations.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { runTrace } from "../../src/vfio/replay/run.js";
import { VfioSystem } from "../../src/vfio/system.js";
import * as U from "../../src/vfio/uapi.js";
import type { IoctlArg } from "../../src/vfio/arg.js";
import { FIXTURES, replayHost } from "./helpers.js";

const K = "6.12+iommufd";
const EINVAL = 22, EBUSY = 16, ENOENT = 2, EBADFD = 77;

for (const f of readdirSync(FIXTURES + "traces/iommufd").filter((x) => x.endsWith(".trace")).sort()) {
  test(`traces/iommufd/${f}: results as iommufd.md gives them`, () => {
    const name = f.slice(0, -6);
    const expected = readFileSync(`${FIXTURES}traces/iommufd/${name}.${K}.expected`, "utf8").split("\n").filter((l) => l);
    const r = runTrace(readFileSync(`${FIXTURES}traces/iommufd/${f}`, "utf8"), replayHost(), { kernel: K, traceName: f });
    assert.deepEqual(r.lines, expected);
  });
}

class Sys {
  readonly s = new VfioSystem(replayHost(), { kernel: K });
  ioctl(fd: number, nr: number, fill: (a: IoctlArg) => void = () => {}): number {
    const a = this.s.arg.reset();
    fill(a);
    return this.s.ioctl(fd, nr, a);
  }
  get a() {
    return this.s.arg;
  }
  cdev(bdf: string): number {
    this.s.bind(bdf, "vfio-pci");
    return this.s.openCdevOf(bdf);
  }
  bindIommufd(dev: number, fd: number): number {
    const r = this.ioctl(dev, U.VFIO_DEVICE_BIND_IOMMUFD, (a) => { a.setU32(0, 16); a.dv.setInt32(8, fd, true); });
    return r < 0 ? r : this.a.u32(12);
  }
  attach(dev: number, pt: number): number {
    const r = this.ioctl(dev, U.VFIO_DEVICE_ATTACH_IOMMUFD_PT, (a) => { a.setU32(0, 12); a.setU32(8, pt); });
    return r < 0 ? r : this.a.u32(8);
  }
  ioasAlloc(fd: number): number {
    assert.equal(this.ioctl(fd, U.IOMMU_IOAS_ALLOC, (a) => a.setU32(0, 12)), 0);
    return this.a.u32(8);
  }
  map(fd: number, ioas: number, va: number, len: number, iova: number): number {
    return this.ioctl(fd, U.IOMMU_IOAS_MAP, (a) => {
      a.setU32(0, 40); a.setU32(4, 7); a.setU32(8, ioas); a.setU64(16, va); a.setU64(24, len); a.setU64(32, iova);
    });
  }
  /** /dev/iommu, an IOAS, and the device's cdev bound and attached to it. */
  attached(bdf: string): { fd: number; ioas: number; d: number } {
    const fd = this.s.open("/dev/iommu");
    const ioas = this.ioasAlloc(fd);
    const d = this.cdev(bdf);
    assert.ok(this.bindIommufd(d, fd) > 0);
    assert.ok(this.attach(d, ioas) > 0);
    return { fd, ioas, d };
  }
  unmapAll(fd: number, ioas: number): number {
    return this.ioctl(fd, U.IOMMU_IOAS_UNMAP, (a) => { a.setU32(0, 24); a.setU32(4, ioas); a.setBig64(16, 0xffffffffffffffffn); });
  }
}

test("cdev: pins and charges only once a domain exists; unmap and close give everything back (iommufd.md §7)", () => {
  const t = new Sys();
  const fd = t.s.open("/dev/iommu");
  const ioas = t.ioasAlloc(fd);
  const buf = t.s.mmap(0x100000);
  assert.equal(t.map(fd, ioas, buf, 0x100000, 0x100000), 0);
  assert.equal(t.s.mm.userLockedVm, 0, "no domain: nothing pinned");
  const d = t.cdev("0000:01:00.0");
  const dev = t.bindIommufd(d, fd);
  assert.ok(dev > 0);
  assert.ok(t.attach(d, ioas) > 0);
  assert.equal(t.s.mm.userLockedVm, 256, "attach fills the new domain: 256 pages pinned and charged (USER mode)");
  assert.equal(t.s.mm.pinsAt(buf), 1);
  // a second IOAS mapping the same memory is a second pages object: charged again (iommufd does not dedupe)
  assert.equal(t.map(fd, ioas, buf, 0x100000, 0x400000), 0);
  assert.equal(t.s.mm.userLockedVm, 512);
  assert.equal(t.unmapAll(fd, ioas), 0);
  assert.equal(t.s.mm.userLockedVm, 0);
  assert.equal(t.s.mm.pinnedVm, 0);
  assert.equal(t.map(fd, ioas, buf, 0x100000, 0x100000), 0);
  t.s.close(d);
  assert.equal(t.s.mm.userLockedVm, 0, "closing the cdev detaches: the auto domain goes, so do the pins");
  t.s.close(fd);
  assert.equal(t.s.openFiles(), 0);
});

test("cdev: RLIMIT_MEMLOCK refuses the pin with ENOMEM and leaves nothing behind", () => {
  const t = new Sys();
  t.s.setMemlock(0x80000);
  const fd = t.s.open("/dev/iommu");
  const ioas = t.ioasAlloc(fd);
  const d = t.cdev("0000:01:00.0");
  t.bindIommufd(d, fd);
  assert.ok(t.attach(d, ioas) > 0);
  const buf = t.s.mmap(0x100000);
  assert.equal(t.map(fd, ioas, buf, 0x100000, 0x100000), -12);
  assert.equal(t.s.mm.userLockedVm, 0);
  assert.equal(t.map(fd, ioas, buf, 0x80000, 0x100000), 0);
  assert.equal(t.s.mm.userLockedVm, 128);
});

test("cdev: an unmapped user range faults (EFAULT) at map time once a domain is attached", () => {
  const t = new Sys();
  const { fd, ioas } = t.attached("0000:01:00.0");
  assert.equal(t.map(fd, ioas, 0x10000, 0x1000, 0x100000), -14);
});

test("DMA ownership: a cdev cannot bind while the group node is open, nor the node open while a cdev is bound", () => {
  const t = new Sys();
  const fd = t.s.open("/dev/iommu");
  const d = t.cdev("0000:01:00.0");
  const g = t.s.openGroupOf("0000:01:00.0");
  assert.ok(g >= 0);
  assert.equal(t.bindIommufd(d, fd), -EBUSY, "vfio_device_block_group");
  t.s.close(g);
  assert.ok(t.bindIommufd(d, fd) > 0);
  assert.equal(t.s.openGroupOf("0000:01:00.0"), -EBUSY, "vfio_group_fops_open");
});

test("BIND_IOMMUFD argument checks: argsz, flags, negative fd, not an iommufd", () => {
  const t = new Sys();
  const fd = t.s.open("/dev/iommu");
  const c = t.s.open("/dev/vfio/vfio");
  const d = t.cdev("0000:01:00.0");
  assert.equal(t.ioctl(d, U.VFIO_DEVICE_BIND_IOMMUFD, (a) => { a.setU32(0, 15); a.setU32(8, fd); }), -EINVAL);
  assert.equal(t.ioctl(d, U.VFIO_DEVICE_BIND_IOMMUFD, (a) => { a.setU32(0, 16); a.setU32(4, 1); a.setU32(8, fd); }), -EINVAL);
  assert.equal(t.ioctl(d, U.VFIO_DEVICE_BIND_IOMMUFD, (a) => { a.setU32(0, 16); a.dv.setInt32(8, -1, true); }), -EINVAL);
  assert.equal(t.bindIommufd(d, c), -EBADFD);
  assert.equal(t.bindIommufd(d, 999), -9);
  assert.ok(t.bindIommufd(d, fd) > 0);
});

test("two iommufd contexts cannot both own one IOMMU group (iommu_device_claim_dma_owner)", () => {
  const t = new Sys();
  const fd1 = t.s.open("/dev/iommu");
  const fd2 = t.s.open("/dev/iommu");
  // 02:00.0 and 02:00.1 share a group on the replay host
  const d0 = t.cdev("0000:02:00.0");
  const d1 = t.cdev("0000:02:00.1");
  assert.ok(t.bindIommufd(d0, fd1) > 0);
  assert.equal(t.bindIommufd(d1, fd2), -EBUSY);
  assert.ok(t.bindIommufd(d1, fd1) > 0);
});

test("group members share one attachment: the second device of a group joins the first one's HWPT", () => {
  const t = new Sys();
  const fd = t.s.open("/dev/iommu");
  const ioas = t.ioasAlloc(fd);
  const a = t.cdev("0000:02:00.0"), b = t.cdev("0000:02:00.1");
  t.bindIommufd(a, fd);
  t.bindIommufd(b, fd);
  const h = t.attach(a, ioas);
  assert.equal(t.attach(b, ioas), h);
  // the group's attachment is shared: detaching one device leaves the HWPT to the other
  assert.equal(t.ioctl(a, U.VFIO_DEVICE_DETACH_IOMMUFD_PT, (x) => x.setU32(0, 8)), 0);
  assert.equal(t.ioctl(fd, U.IOMMU_DESTROY, (x) => { x.setU32(0, 8); x.setU32(4, h); }), -EBUSY);
  // replacing onto another IOAS moves the whole group (iommufd_device_do_replace)
  const other = t.ioasAlloc(fd);
  const h2 = t.attach(b, other);
  assert.ok(h2 > 0 && h2 !== h);
  assert.equal(t.ioctl(fd, U.IOMMU_DESTROY, (x) => { x.setU32(0, 8); x.setU32(4, h); }), -ENOENT, "the old auto HWPT went with its last device");
});

test("the IOAS's reserved regions: the device's MSI window and the domain's aperture show in IOVA_RANGES", () => {
  const t = new Sys();
  const { fd, ioas } = t.attached("0000:01:00.0");
  const r = t.ioctl(fd, U.IOMMU_IOAS_IOVA_RANGES, (a) => { a.setU32(0, 32); a.setU32(4, ioas); a.setU32(8, 4); a.setU64(16, 0x1000); });
  assert.equal(r, 0);
  assert.equal(t.a.u32(8), 2);
  assert.equal(t.a.big64(24), 4096n);
  assert.deepEqual(t.a.userRanges, [{ start: 0n, last: 0xfedfffffn }, { start: 0xfef00000n, last: (1n << 39n) - 1n }]);
});

test("no /dev/iommu and no device cdevs on kernels built without iommufd (the recorded 6.1 and 6.12)", () => {
  for (const k of ["6.1", "6.12"]) {
    const s = new VfioSystem(replayHost(), { kernel: k });
    s.bind("0000:01:00.0", "vfio-pci");
    assert.equal(s.open("/dev/iommu"), -ENOENT);
    assert.equal(s.openCdevOf("0000:01:00.0"), -ENOENT);
  }
});
