// VFIO_DEVICE_PCI_HOT_RESET (vfio_pci_ioctl_pci_hot_reset, vfio_pci_dev_set_hot_reset): header
// and count checks, the group fds of the struct's array (EBADF / EINVAL), every function of the
// reset's bus in vfio-pci's dev_set and owned through the given groups (no container rule), the
// 6.6+ zero-length array from a cdev owned through its iommufd, and the reset reaching every
// function of the bus. Hosts: the replay host, and real hosts whose multi-port NICs put each
// function of one bus in its own IOMMU group.

import { test } from "node:test";
import assert from "node:assert/strict";
import { replayHost } from "./helpers.js";
import { loadVfioHost, type VfioHost } from "../../src/vfio/host.js";
import { VfioSystem } from "../../src/vfio/system.js";
import * as U from "../../src/vfio/uapi.js";

const REAL = new URL("../../../fixtures/realdata/", import.meta.url).pathname;
let x550: VfioHost | null = null, r720: VfioHost | null = null;
/** ASRock Rack WC621D8A: X550 ports 01:00.0 / 01:00.1 in groups 40 / 41 (ACS on the NIC). */
const x550Host = (): VfioHost => (x550 ??= loadVfioHost({ lspci: REAL + "asrr-wc621d8a-pve8/lspci.txt", kernel: "6.8" }));
/** Dell R720: four igb ports 01:00.0-3, a group each. */
const r720Host = (): VfioHost => (r720 ??= loadVfioHost({ lspci: REAL + "dell-r720-pve8/lspci.txt", kernel: "6.8" }));

class Sys {
  readonly sys: VfioSystem;
  constructor(host: VfioHost, kernel: string) {
    this.sys = new VfioSystem(host, { kernel });
  }
  container(): number {
    return this.sys.open("/dev/vfio/vfio");
  }
  /** Binds the functions to vfio-pci and opens the group of the first; attaches it to c when given. */
  group(bdfs: string[], c?: number): number {
    for (const b of bdfs) assert.equal(this.sys.bind(b, "vfio-pci"), 0);
    const g = this.sys.openGroupOf(bdfs[0]!);
    assert.ok(g >= 0, `open group of ${bdfs[0]}`);
    if (c !== undefined) {
      const a = this.sys.arg.reset();
      a.dv.setInt32(0, c, true);
      assert.equal(this.sys.ioctl(g, U.VFIO_GROUP_SET_CONTAINER, a), 0);
    }
    return g;
  }
  iommu(c: number): void {
    const a = this.sys.arg.reset();
    a.value = U.VFIO_TYPE1v2_IOMMU;
    assert.equal(this.sys.ioctl(c, U.VFIO_SET_IOMMU, a), 0);
  }
  device(g: number, bdf: string): number {
    const a = this.sys.arg.reset();
    a.str = bdf;
    const d = this.sys.ioctl(g, U.VFIO_GROUP_GET_DEVICE_FD, a);
    assert.ok(d >= 0, `device fd of ${bdf}: ${d}`);
    return d;
  }
  /** The raw ioctl: header fields and fds as given. */
  raw(d: number, argsz: number, flags: number, count: number, fds: number[] = []): number {
    const a = this.sys.arg.reset();
    a.setU32(0, argsz);
    a.setU32(4, flags);
    a.setU32(8, count);
    fds.forEach((fd, i) => a.setU32(12 + 4 * i, fd));
    return this.sys.ioctl(d, U.VFIO_DEVICE_PCI_HOT_RESET, a);
  }
  /** hotResets of the vfio-pci devices of these functions. */
  resets(bdfs: string[]): number[] {
    return bdfs.map((b) => {
      for (const g of this.sys.liveGroups()) for (const v of g.devices) if (v.host.bdf === b) return v.hotResets;
      return -1;
    });
  }
  /** Opens a device's cdev and binds it to iommufd fd `ictx`. */
  cdev(bdf: string, ictx: number): number {
    const d = this.sys.openCdevOf(bdf);
    assert.ok(d >= 0, `cdev of ${bdf}`);
    const a = this.sys.arg.reset();
    a.setU32(0, 16);
    a.dv.setInt32(8, ictx, true);
    assert.equal(this.sys.ioctl(d, U.VFIO_DEVICE_BIND_IOMMUFD, a), 0);
    return d;
  }
}

/** 01:00.0 of the replay host: alone on bus 1, group 8, in a type1 container. */
function single(kernel: string) {
  const s = new Sys(replayHost(), kernel);
  const c = s.container();
  const g = s.group(["0000:01:00.0"], c);
  s.iommu(c);
  const d = s.device(g, "0000:01:00.0");
  return { s, c, g, d };
}

for (const k of ["6.1", "6.12"]) {
  test(`${k}: a function alone on its bus resets with its own group; the counter moves`, () => {
    const { s, g, d } = single(k);
    assert.equal(s.sys.pciHotReset(d, [g]), 0);
    assert.equal(s.sys.pciHotReset(d, [g]), 0);
    assert.deepEqual(s.resets(["0000:01:00.0"]), [2]);
    // the info ioctl is unchanged: one device, group 8
    const a = s.sys.arg.reset();
    a.setU32(0, 20);
    assert.equal(s.sys.ioctl(d, U.VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, a), 0);
    assert.deepEqual([a.u32(8), a.u32(12)], [1, 8]);
  });

  test(`${k}: header, count and fd checks`, () => {
    const { s, c, g, d } = single(k);
    assert.equal(s.raw(d, 11, 0, 1, [g]), -U.EINVAL); // argsz < minsz
    assert.equal(s.raw(d, 16, 1, 1, [g]), -U.EINVAL); // flags
    assert.equal(s.raw(d, 12, 0, 0), -U.EINVAL); // no fds from a group-opened device
    assert.equal(s.raw(d, 20, 0, 2, [g, g]), -U.EINVAL); // more fds than devices the reset hits
    assert.equal(s.raw(d, 12, 0, 1, [g]), 0); // argsz covers only the header: the array is read anyway
    assert.equal(s.raw(d, 16, 0, 1, [999]), -U.EBADF);
    assert.equal(s.raw(d, 16, 0, 1, [-1]), -U.EBADF);
    assert.equal(s.raw(d, 16, 0, 1, [c]), -U.EINVAL); // a container is not a group
    assert.equal(s.raw(d, 16, 0, 1, [d]), -U.EINVAL); // nor is a device file
    assert.equal(s.raw(d, 16, 0, 1, [0]), -U.EINVAL); // stdin: open, not VFIO (recorded: cross-fd.trace)
    const n = s.sys.open("/dev/null");
    assert.equal(s.raw(d, 16, 0, 1, [n]), -U.EINVAL);
    s.sys.close(n);
    assert.equal(s.raw(d, 16, 0, 1, [n]), -U.EBADF);
    assert.deepEqual(s.resets(["0000:01:00.0"]), [1]);
  });

  test(`${k}: a root-bus function has no bus or slot reset (ENODEV); the empty array is refused first on 6.6+`, () => {
    const s = new Sys(replayHost(), k);
    const c = s.container();
    const g = s.group(["0000:00:1f.2"], c);
    s.iommu(c);
    const d = s.device(g, "0000:00:1f.2");
    assert.equal(s.sys.pciHotReset(d, [g]), -U.ENODEV);
    assert.equal(s.raw(d, 12, 0, 0), k === "6.1" ? -U.ENODEV : -U.EINVAL);
    assert.equal(s.raw(d, 11, 0, 0), -U.EINVAL);
  });

  test(`${k}: both functions of 02:00 (one group) must be vfio-pci devices; the unopened one is reset too`, () => {
    const s = new Sys(replayHost(), k);
    const c = s.container();
    assert.equal(s.sys.bind("0000:02:00.1", "pci-stub"), 0);
    const g = s.group(["0000:02:00.0"], c);
    s.iommu(c);
    const d = s.device(g, "0000:02:00.0");
    assert.equal(s.sys.pciHotReset(d, [g]), -U.EINVAL); // 02:00.1 is pci-stub's: not in the dev_set
    assert.equal(s.sys.bind("0000:02:00.1", "vfio-pci"), 0);
    assert.equal(s.sys.pciHotReset(d, [g]), 0);
    assert.deepEqual(s.resets(["0000:02:00.0", "0000:02:00.1", "0000:01:00.0"]), [1, 1, -1]);
    assert.equal(s.sys.pciHotReset(d, [g, g]), 0); // the same group twice is fine
  });

  test(`${k}: conventional PCI behind the PCIe-to-PCI bridge: both e1000s, one group with the bridge`, () => {
    const s = new Sys(replayHost(), k);
    const c = s.container();
    const g = s.group(["0000:05:02.0", "0000:05:01.0"], c);
    s.iommu(c);
    const d = s.device(g, "0000:05:02.0");
    assert.equal(s.sys.pciHotReset(d, [g]), 0);
    assert.deepEqual(s.resets(["0000:05:01.0", "0000:05:02.0"]), [1, 1]);
  });

  test(`${k}: two groups on one bus (X550 ports): both groups, in any container or none`, () => {
    const s = new Sys(x550Host(), k);
    const c = s.container();
    const g0 = s.group(["0000:01:00.0", "0000:01:00.1"], c);
    s.iommu(c);
    const d = s.device(g0, "0000:01:00.0");
    assert.equal(s.sys.pciHotReset(d, [g0]), -U.EINVAL); // 01:00.1 (group 41) not covered
    const g1 = s.sys.openGroupOf("0000:01:00.1");
    assert.ok(g1 >= 0);
    assert.equal(s.sys.pciHotReset(d, [g0, g0]), -U.EINVAL);
    assert.equal(s.sys.pciHotReset(d, [g1, g0]), 0); // group 41 is in no container at all
    assert.equal(s.raw(d, 24, 0, 3, [g0, g1, g1]), -U.EINVAL); // 3 > 2 devices
    // group 41 in a container of its own
    const c2 = s.container();
    const a = s.sys.arg.reset();
    a.dv.setInt32(0, c2, true);
    assert.equal(s.sys.ioctl(g1, U.VFIO_GROUP_SET_CONTAINER, a), 0);
    assert.equal(s.sys.pciHotReset(d, [g0, g1]), 0);
    assert.deepEqual(s.resets(["0000:01:00.0", "0000:01:00.1"]), [2, 2]);
    // the other port back on its host driver: it is outside vfio-pci's dev_set
    assert.equal(s.sys.ioctl(g1, U.VFIO_GROUP_UNSET_CONTAINER, s.sys.arg.reset()), 0);
    assert.equal(s.sys.close(g1), 0);
    assert.equal(s.sys.bind("0000:01:00.1", "ixgbe"), 0);
    assert.equal(s.sys.pciHotReset(d, [g0]), -U.EINVAL);
  });

  test(`${k}: four igb ports in four groups: every group needed, the first failing one decides`, () => {
    const s = new Sys(r720Host(), k);
    const bdfs = [0, 1, 2, 3].map((f) => `0000:01:00.${f}`);
    const c = s.container();
    const gs = [s.group([bdfs[0]!, ...bdfs.slice(1)], c)];
    for (const b of bdfs.slice(1)) gs.push(s.sys.openGroupOf(b));
    s.iommu(c);
    const d = s.device(gs[0]!, bdfs[0]!);
    assert.equal(s.sys.pciHotReset(d, gs.slice(0, 3)), -U.EINVAL);
    assert.equal(s.sys.pciHotReset(d, [gs[0]!, gs[1]!, gs[2]!, 999]), -U.EBADF); // fds are looked up before ownership
    assert.equal(s.sys.pciHotReset(d, [...gs].reverse()), 0);
    assert.deepEqual(s.resets(bdfs), [1, 1, 1, 1]);
  });
}

test("6.12+iommufd: a cdev resets with the zero-length array, owned through its iommufd", () => {
  const s = new Sys(replayHost(), "6.12+iommufd");
  const ictx = s.sys.open("/dev/iommu");
  assert.ok(ictx >= 0);
  assert.equal(s.sys.bind("0000:01:00.0", "vfio-pci"), 0);
  const d = s.cdev("0000:01:00.0", ictx);
  assert.equal(s.raw(d, 16, 0, 1, [ictx]), -U.EINVAL); // fds only from group-opened devices
  assert.equal(s.raw(d, 12, 0, 0), 0);
  assert.deepEqual(s.resets(["0000:01:00.0"]), [1]);
});

test("6.12+iommufd: functions of the bus not bound to the iommufd count when their group has a device there", () => {
  const s = new Sys(replayHost(), "6.12+iommufd");
  const ictx = s.sys.open("/dev/iommu");
  assert.equal(s.sys.bind("0000:02:00.0", "vfio-pci"), 0);
  assert.equal(s.sys.bind("0000:02:00.1", "vfio-pci"), 0);
  const d = s.cdev("0000:02:00.0", ictx);
  assert.equal(s.raw(d, 12, 0, 0), 0); // 02:00.1 unbound, but group 9 is owned through 02:00.0
  assert.deepEqual(s.resets(["0000:02:00.0", "0000:02:00.1"]), [1, 1]);
});

test("6.12+iommufd: another group on the bus must be bound to the same iommufd", () => {
  const s = new Sys(x550Host(), "6.12+iommufd");
  const i1 = s.sys.open("/dev/iommu"), i2 = s.sys.open("/dev/iommu");
  assert.equal(s.sys.bind("0000:01:00.0", "vfio-pci"), 0);
  assert.equal(s.sys.bind("0000:01:00.1", "vfio-pci"), 0);
  const d = s.cdev("0000:01:00.0", i1);
  assert.equal(s.raw(d, 12, 0, 0), -U.EINVAL); // group 41 owned by nobody
  const d1 = s.cdev("0000:01:00.1", i2);
  assert.equal(s.raw(d, 12, 0, 0), -U.EINVAL); // owned by another iommufd
  assert.equal(s.sys.close(d1), 0);
  s.cdev("0000:01:00.1", i1);
  assert.equal(s.raw(d, 12, 0, 0), 0);
  assert.deepEqual(s.resets(["0000:01:00.0", "0000:01:00.1"]), [1, 1]);
});

test("6.12+iommufd: a group-opened device still needs fds", () => {
  const { s, g, d } = single("6.12+iommufd");
  assert.equal(s.raw(d, 12, 0, 0), -U.EINVAL);
  assert.equal(s.sys.pciHotReset(d, [g]), 0);
});
