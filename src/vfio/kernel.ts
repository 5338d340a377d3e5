// Kernel release → the behaviour differences the specs list (vfio-uapi.md §8, iommufd.md).
// "6.1" is Debian 12's 6.1.y (with the stable backport of "exclude mdevs from VFIO_UPDATE_VADDR"),
// "6.12" bookworm-security's 6.12 (built without CONFIG_IOMMUFD). A "+iommufd" suffix models a
// kernel built with iommufd (/dev/iommu present), e.g. "6.12+iommufd".

export interface KernelFeatures {
  readonly release: string;
  readonly major: number;
  readonly minor: number;
  /** SET_CONTAINER with an fd that is not a container: EINVAL (6.1) or EBADFD (6.2+). */
  readonly setContainerBadFdErrno: number;
  /** MSI-X irq info omits NORESIZE when the device has MSI-X (dynamic allocation, 6.5+). */
  readonly msixDynamic: boolean;
  /** VFIO_TYPE1_NESTING_IOMMU still claimed by type1 (before 6.12). */
  readonly nestingExtension: boolean;
  /** vfio_device_info / type1_info write back min(argsz, 24) and pad caps to 8 (6.6+). */
  readonly infoPadded: boolean;
  /** Group teardown when its last VFIO device goes (container detached, ioctls ENODEV): 6.3+, and Debian 6.1.y as recorded. */
  readonly groupRevokedOnLastDevice: boolean;
  /** MAP/UNMAP wrap-around → EOVERFLOW (post-6.12 series; release unverified, modelled from 6.15). */
  readonly overflowErrno: number;
  /** /dev/iommu exists. */
  readonly iommufd: boolean;
  /** nvme's probe returns before the controller comes up, so it binds even to QEMU's offline VFs (6.1; 6.12 probes synchronously and fails: recorded sriov-pf-vf; boundary assumed 6.3). */
  readonly nvmeAsyncProbe: boolean;
  /** A read-only uncharged mapping directly above the runner's first `mem` mapping (bytes; 0 = a hole): 6.12's layout (from 6.7 assumed). */
  readonly untouchedAboveFirstMem: number;
}

export function kernelFeatures(release = "6.1"): KernelFeatures {
  const m = /^(\d+)\.(\d+)(?:[.\-\w]*)?(\+iommufd)?$/.exec(release.trim());
  if (!m) throw new Error(`not a kernel version: '${release}' (expected e.g. 6.1 or 6.12)`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const at = (a: number, b: number): boolean => major > a || (major === a && minor >= b);
  return {
    release,
    major,
    minor,
    setContainerBadFdErrno: at(6, 2) ? 77 /* EBADFD */ : 22 /* EINVAL */,
    msixDynamic: at(6, 5),
    nestingExtension: !at(6, 13), // spec says 6.12; Debian 6.12.117 still answers 1 (recorded: nesting.trace)
    infoPadded: at(6, 6),
    groupRevokedOnLastDevice: true, // 6.3+ upstream; Debian 6.1.y behaves the same (recorded: last-device-*.trace)
    overflowErrno: at(6, 15) ? 75 /* EOVERFLOW */ : 22,
    iommufd: m[3] !== undefined && at(6, 2),
    nvmeAsyncProbe: !at(6, 3),
    untouchedAboveFirstMem: at(6, 7) ? 0x100000 : 0,
  };
}
