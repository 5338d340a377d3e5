// The VFIO / iommufd user API as data: ioctl numbers, struct layouts (field offset, size,
// direction, flag names), extension constants and errno numbers. It mirrors the table
// `requests` of the real-kernel runner (shared/oracle/replay/vfio-replay.c) row by row, so the
// model encodes a call into the same bytes the runner hands the kernel, and decodes the same
// bytes back. Adding a request is adding a row.

// ---------------------------------------------------------------- errno numbers (Linux, x86-64)

export const EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, EBADF = 9,
  EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17, EXDEV = 18,
  ENODEV = 19, EINVAL = 22, EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28, ERANGE = 34,
  EDEADLK = 35, ENOSYS = 38, EMSGSIZE = 90, EOPNOTSUPP = 95, EOVERFLOW = 75, EBADFD = 77,
  ENOTSUPP = 524, ENOIOCTLCMD = 515;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 8: "ENOEXEC",
  9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 15: "ENOTBLK",
  16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 25: "ENOTTY", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE",
  30: "EROFS", 31: "EMLINK", 32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG",
  37: "ENOLCK", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 61: "ENODATA", 62: "ETIME", 71: "EPROTO",
  74: "EBADMSG", 75: "EOVERFLOW", 77: "EBADFD", 90: "EMSGSIZE", 95: "EOPNOTSUPP", 105: "ENOBUFS",
  110: "ETIMEDOUT", 114: "EALREADY", 115: "EINPROGRESS", 125: "ECANCELED", 512: "ERESTARTSYS",
  513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND", 515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK",
  517: "EPROBE_DEFER", 518: "EOPENSTALE", 519: "ENOPARAM", 521: "EBADHANDLE", 522: "ENOTSYNC",
  523: "EBADCOOKIE", 524: "ENOTSUPP", 525: "ETOOSMALL", 526: "ESERVERFAULT", 527: "EBADTYPE",
  528: "EJUKEBOX", 529: "EIOCBQUEUED", 530: "ERECALLCONFLICT", 531: "ENOGRACE",
};

const ERRNO_BY_NAME = new Map<string, number>(Object.entries(ERRNO_NAMES).map(([k, v]) => [v, Number(k)]));

/** The C library's name of an errno (kernel-internal codes by their kernel names, else "E<n>"). */
export function errnoName(e: number): string {
  return ERRNO_NAMES[e] ?? `E${e}`;
}

export function errnoNumber(name: string): number {
  const n = ERRNO_BY_NAME.get(name);
  if (n === undefined) throw new Error(`unknown errno name ${name}`);
  return n;
}

// ---------------------------------------------------------------- ioctl numbers

const VFIO_BASE = 0x3b00 + 100;
/** `_IO(';', 100 + n)`: no size or direction bits. */
export const vfioIo = (n: number): number => VFIO_BASE + n;

export const VFIO_GET_API_VERSION = vfioIo(0);
export const VFIO_CHECK_EXTENSION = vfioIo(1);
export const VFIO_SET_IOMMU = vfioIo(2);
export const VFIO_GROUP_GET_STATUS = vfioIo(3);
export const VFIO_GROUP_SET_CONTAINER = vfioIo(4);
export const VFIO_GROUP_UNSET_CONTAINER = vfioIo(5);
export const VFIO_GROUP_GET_DEVICE_FD = vfioIo(6);
export const VFIO_DEVICE_GET_INFO = vfioIo(7);
export const VFIO_DEVICE_GET_REGION_INFO = vfioIo(8);
export const VFIO_DEVICE_GET_IRQ_INFO = vfioIo(9);
export const VFIO_DEVICE_SET_IRQS = vfioIo(10);
export const VFIO_DEVICE_RESET = vfioIo(11);
/** Container: VFIO_IOMMU_GET_INFO / SPAPR_TCE_GET_INFO; device: VFIO_DEVICE_GET_PCI_HOT_RESET_INFO. */
export const VFIO_IOMMU_GET_INFO = vfioIo(12);
export const VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = vfioIo(12);
/** Container: MAP_DMA; device: VFIO_DEVICE_PCI_HOT_RESET. */
export const VFIO_IOMMU_MAP_DMA = vfioIo(13);
export const VFIO_DEVICE_PCI_HOT_RESET = vfioIo(13);
/** Container: UNMAP_DMA; device: VFIO_DEVICE_QUERY_GFX_PLANE. */
export const VFIO_IOMMU_UNMAP_DMA = vfioIo(14);
export const VFIO_DEVICE_QUERY_GFX_PLANE = vfioIo(14);
export const VFIO_IOMMU_ENABLE = vfioIo(15);
export const VFIO_IOMMU_DISABLE = vfioIo(16);
export const VFIO_IOMMU_DIRTY_PAGES = vfioIo(17);
export const VFIO_IOMMU_SPAPR_REGISTER_MEMORY = vfioIo(17);
export const VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY = vfioIo(18);
export const VFIO_IOMMU_SPAPR_TCE_CREATE = vfioIo(19);
export const VFIO_IOMMU_SPAPR_TCE_REMOVE = vfioIo(20);
export const VFIO_EEH_PE_OP = vfioIo(21);
export const VFIO_DEVICE_BIND_IOMMUFD = vfioIo(18);
export const VFIO_DEVICE_ATTACH_IOMMUFD_PT = vfioIo(19);
export const VFIO_DEVICE_DETACH_IOMMUFD_PT = vfioIo(20);

/** iommufd: `_IO(';', 0x80 + n)`. */
export const IOMMU_DESTROY = 0x3b80;
export const IOMMU_IOAS_ALLOC = 0x3b81;
export const IOMMU_IOAS_ALLOW_IOVAS = 0x3b82;
export const IOMMU_IOAS_COPY = 0x3b83;
export const IOMMU_IOAS_IOVA_RANGES = 0x3b84;
export const IOMMU_IOAS_MAP = 0x3b85;
export const IOMMU_IOAS_UNMAP = 0x3b86;
export const IOMMU_OPTION = 0x3b87;
export const IOMMU_VFIO_IOAS = 0x3b88;
export const IOMMU_HWPT_ALLOC = 0x3b89;
export const IOMMU_GET_HW_INFO = 0x3b8a;
export const IOMMU_HWPT_SET_DIRTY_TRACKING = 0x3b8b;
export const IOMMU_HWPT_GET_DIRTY_BITMAP = 0x3b8c;
export const IOMMU_HWPT_INVALIDATE = 0x3b8d;

// ---------------------------------------------------------------- constants (extensions, indexes)

export const VFIO_API_VERSION = 0;
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_SPAPR_TCE_IOMMU = 2;
export const VFIO_TYPE1v2_IOMMU = 3;
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_EEH = 5;
export const VFIO_TYPE1_NESTING_IOMMU = 6;
export const VFIO_SPAPR_TCE_v2_IOMMU = 7;
export const VFIO_NOIOMMU_IOMMU = 8;
export const VFIO_UNMAP_ALL = 9;
export const VFIO_UPDATE_VADDR = 10;

export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_CONFIG_REGION_INDEX = 7;
export const VFIO_PCI_VGA_REGION_INDEX = 8;
export const VFIO_PCI_NUM_REGIONS = 9;
export const VFIO_PCI_INTX_IRQ_INDEX = 0;
export const VFIO_PCI_MSI_IRQ_INDEX = 1;
export const VFIO_PCI_MSIX_IRQ_INDEX = 2;
export const VFIO_PCI_ERR_IRQ_INDEX = 3;
export const VFIO_PCI_REQ_IRQ_INDEX = 4;
export const VFIO_PCI_NUM_IRQS = 5;

/** Constants a trace value may name (ABI values), as the runner's `constants` table. */
export const CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["VFIO_API_VERSION", 0], ["VFIO_TYPE1_IOMMU", 1], ["VFIO_SPAPR_TCE_IOMMU", 2],
  ["VFIO_TYPE1v2_IOMMU", 3], ["VFIO_DMA_CC_IOMMU", 4], ["VFIO_EEH", 5],
  ["VFIO_TYPE1_NESTING_IOMMU", 6], ["VFIO_SPAPR_TCE_v2_IOMMU", 7], ["VFIO_NOIOMMU_IOMMU", 8],
  ["VFIO_UNMAP_ALL", 9], ["VFIO_UPDATE_VADDR", 10],
  ["VFIO_PCI_BAR0_REGION_INDEX", 0], ["VFIO_PCI_BAR1_REGION_INDEX", 1],
  ["VFIO_PCI_BAR2_REGION_INDEX", 2], ["VFIO_PCI_BAR3_REGION_INDEX", 3],
  ["VFIO_PCI_BAR4_REGION_INDEX", 4], ["VFIO_PCI_BAR5_REGION_INDEX", 5],
  ["VFIO_PCI_ROM_REGION_INDEX", 6], ["VFIO_PCI_CONFIG_REGION_INDEX", 7],
  ["VFIO_PCI_VGA_REGION_INDEX", 8],
  ["VFIO_PCI_INTX_IRQ_INDEX", 0], ["VFIO_PCI_MSI_IRQ_INDEX", 1], ["VFIO_PCI_MSIX_IRQ_INDEX", 2],
  ["VFIO_PCI_ERR_IRQ_INDEX", 3], ["VFIO_PCI_REQ_IRQ_INDEX", 4],
  // iommufd (contract extension; not in the legacy runner)
  ["IOMMU_OPTION_RLIMIT_MODE", 0], ["IOMMU_OPTION_HUGE_PAGES", 1],
  ["IOMMU_OPTION_OP_SET", 0], ["IOMMU_OPTION_OP_GET", 1],
  ["IOMMU_VFIO_IOAS_GET", 0], ["IOMMU_VFIO_IOAS_SET", 1], ["IOMMU_VFIO_IOAS_CLEAR", 2],
]);

// ---------------------------------------------------------------- flag names

export type FlagNames = readonly (readonly [number, string])[];

export const GROUP_STATUS_FLAGS: FlagNames = [[1, "VIABLE"], [2, "CONTAINER_SET"]];
export const DEVICE_INFO_FLAGS: FlagNames = [
  [1 << 0, "RESET"], [1 << 1, "PCI"], [1 << 2, "PLATFORM"], [1 << 3, "AMBA"], [1 << 4, "CCW"],
  [1 << 5, "AP"], [1 << 6, "FSL_MC"], [1 << 7, "CAPS"], [1 << 8, "CDX"],
];
export const REGION_INFO_FLAGS: FlagNames = [[1, "READ"], [2, "WRITE"], [4, "MMAP"], [8, "CAPS"]];
export const IRQ_INFO_FLAGS: FlagNames = [[1, "EVENTFD"], [2, "MASKABLE"], [4, "AUTOMASKED"], [8, "NORESIZE"]];
export const IOMMU_INFO_FLAGS: FlagNames = [[1, "PGSIZES"], [2, "CAPS"]];
export const DMA_MAP_FLAGS: FlagNames = [[1, "READ"], [2, "WRITE"], [4, "VADDR"]];
export const DMA_UNMAP_FLAGS: FlagNames = [[1, "GET_DIRTY_BITMAP"], [2, "ALL"], [4, "VADDR"]];
export const IOAS_MAP_FLAGS: FlagNames = [[1, "FIXED_IOVA"], [2, "WRITEABLE"], [4, "READABLE"]];
export const HWPT_ALLOC_FLAGS: FlagNames = [[1, "NEST_PARENT"], [2, "DIRTY_TRACKING"], [4, "FAULT_ID_VALID"]];
export const DIRTY_TRACKING_FLAGS: FlagNames = [[1, "ENABLE"]];
export const DIRTY_BITMAP_FLAGS: FlagNames = [[1, "NO_CLEAR"]];

export const VFIO_GROUP_FLAGS_VIABLE = 1;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 2;
export const VFIO_DEVICE_FLAGS_RESET = 1;
export const VFIO_DEVICE_FLAGS_PCI = 2;
export const VFIO_REGION_INFO_FLAG_READ = 1;
export const VFIO_REGION_INFO_FLAG_WRITE = 2;
export const VFIO_REGION_INFO_FLAG_MMAP = 4;
export const VFIO_REGION_INFO_FLAG_CAPS = 8;
export const VFIO_IRQ_INFO_EVENTFD = 1;
export const VFIO_IRQ_INFO_MASKABLE = 2;
export const VFIO_IRQ_INFO_AUTOMASKED = 4;
export const VFIO_IRQ_INFO_NORESIZE = 8;
export const VFIO_IOMMU_INFO_PGSIZES = 1;
export const VFIO_IOMMU_INFO_CAPS = 2;
export const VFIO_DMA_MAP_FLAG_READ = 1;
export const VFIO_DMA_MAP_FLAG_WRITE = 2;
export const VFIO_DMA_MAP_FLAG_VADDR = 4;
export const VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP = 1;
export const VFIO_DMA_UNMAP_FLAG_ALL = 2;
export const VFIO_DMA_UNMAP_FLAG_VADDR = 4;

// ---------------------------------------------------------------- request descriptors

export const enum Kind { ARGSZ = 1, NUM = 2, FLAGS = 3, FILE = 4, ID = 5, STR = 6 }
export const enum Dir { LAYOUT = 0, IN = 1, OUT = 2, INOUT = 3 }
export const enum ArgKind { NONE = 0, VALUE = 1, STRUCT = 2, STRING = 3 }
export const enum RetKind { VALUE = 0, FILE = 1 }

export interface FieldDesc {
  readonly name: string;
  readonly off: number;
  readonly size: number;
  readonly kind: Kind;
  readonly dir: Dir;
  readonly flags?: FlagNames;
}

export interface RequestDesc {
  readonly name: string;
  readonly nr: number;
  readonly arg: ArgKind;
  readonly ret: RetKind;
  /** Bytes of the struct, and what `argsz` / `size` says. */
  readonly size: number;
  readonly fields: readonly FieldDesc[];
  /** iommufd structs start with `size`, not `argsz` (same place, same meaning). */
  readonly iommufd?: boolean;
}

const f = (name: string, off: number, size: number, kind: Kind, dir: Dir, flags?: FlagNames): FieldDesc =>
  flags ? { name, off, size, kind, dir, flags } : { name, off, size, kind, dir };
const ARGSZ = f("argsz", 0, 4, Kind.ARGSZ, Dir.LAYOUT);
const SIZE = f("size", 0, 4, Kind.ARGSZ, Dir.LAYOUT);

export const REQUESTS: readonly RequestDesc[] = [
  // container: /dev/vfio/vfio
  { name: "VFIO_GET_API_VERSION", nr: VFIO_GET_API_VERSION, arg: ArgKind.NONE, ret: RetKind.VALUE, size: 0, fields: [] },
  { name: "VFIO_CHECK_EXTENSION", nr: VFIO_CHECK_EXTENSION, arg: ArgKind.VALUE, ret: RetKind.VALUE, size: 0,
    fields: [f("arg", 0, 8, Kind.NUM, Dir.IN)] },
  { name: "VFIO_SET_IOMMU", nr: VFIO_SET_IOMMU, arg: ArgKind.VALUE, ret: RetKind.VALUE, size: 0,
    fields: [f("arg", 0, 8, Kind.NUM, Dir.IN)] },
  { name: "VFIO_IOMMU_GET_INFO", nr: VFIO_IOMMU_GET_INFO, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.OUT, IOMMU_INFO_FLAGS), f("iova_pgsizes", 8, 8, Kind.NUM, Dir.OUT),
      f("cap_offset", 16, 4, Kind.NUM, Dir.LAYOUT), f("pad", 20, 4, Kind.NUM, Dir.LAYOUT)] },
  { name: "VFIO_IOMMU_MAP_DMA", nr: VFIO_IOMMU_MAP_DMA, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 32,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.IN, DMA_MAP_FLAGS), f("vaddr", 8, 8, Kind.NUM, Dir.IN),
      f("iova", 16, 8, Kind.NUM, Dir.IN), f("size", 24, 8, Kind.NUM, Dir.IN)] },
  { name: "VFIO_IOMMU_UNMAP_DMA", nr: VFIO_IOMMU_UNMAP_DMA, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.IN, DMA_UNMAP_FLAGS), f("iova", 8, 8, Kind.NUM, Dir.IN),
      f("size", 16, 8, Kind.NUM, Dir.INOUT)] },
  // group: /dev/vfio/N
  { name: "VFIO_GROUP_GET_STATUS", nr: VFIO_GROUP_GET_STATUS, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 8,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.OUT, GROUP_STATUS_FLAGS)] },
  { name: "VFIO_GROUP_SET_CONTAINER", nr: VFIO_GROUP_SET_CONTAINER, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 4,
    fields: [f("container_fd", 0, 4, Kind.FILE, Dir.IN)] },
  { name: "VFIO_GROUP_UNSET_CONTAINER", nr: VFIO_GROUP_UNSET_CONTAINER, arg: ArgKind.NONE, ret: RetKind.VALUE, size: 0, fields: [] },
  { name: "VFIO_GROUP_GET_DEVICE_FD", nr: VFIO_GROUP_GET_DEVICE_FD, arg: ArgKind.STRING, ret: RetKind.FILE, size: 0,
    fields: [f("name", 0, 0, Kind.STR, Dir.IN)] },
  // device: from VFIO_GROUP_GET_DEVICE_FD
  { name: "VFIO_DEVICE_GET_INFO", nr: VFIO_DEVICE_GET_INFO, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.OUT, DEVICE_INFO_FLAGS), f("num_regions", 8, 4, Kind.NUM, Dir.OUT),
      f("num_irqs", 12, 4, Kind.NUM, Dir.OUT), f("cap_offset", 16, 4, Kind.NUM, Dir.LAYOUT), f("pad", 20, 4, Kind.NUM, Dir.LAYOUT)] },
  { name: "VFIO_DEVICE_GET_REGION_INFO", nr: VFIO_DEVICE_GET_REGION_INFO, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 32,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.OUT, REGION_INFO_FLAGS), f("index", 8, 4, Kind.NUM, Dir.IN),
      f("cap_offset", 12, 4, Kind.NUM, Dir.LAYOUT), f("size", 16, 8, Kind.NUM, Dir.OUT), f("offset", 24, 8, Kind.NUM, Dir.OUT)] },
  { name: "VFIO_DEVICE_GET_IRQ_INFO", nr: VFIO_DEVICE_GET_IRQ_INFO, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 16,
    fields: [ARGSZ, f("flags", 4, 4, Kind.FLAGS, Dir.OUT, IRQ_INFO_FLAGS), f("index", 8, 4, Kind.NUM, Dir.IN),
      f("count", 12, 4, Kind.NUM, Dir.OUT)] },
  { name: "VFIO_DEVICE_RESET", nr: VFIO_DEVICE_RESET, arg: ArgKind.NONE, ret: RetKind.VALUE, size: 0, fields: [] },
  // iommufd: /dev/iommu (contract requests; the legacy runner's kernels have no /dev/iommu)
  { name: "IOMMU_DESTROY", nr: IOMMU_DESTROY, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 8, iommufd: true,
    fields: [SIZE, f("id", 4, 4, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_IOAS_ALLOC", nr: IOMMU_IOAS_ALLOC, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 12, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.NUM, Dir.IN), f("out_ioas_id", 8, 4, Kind.ID, Dir.OUT)] },
  { name: "IOMMU_IOAS_ALLOW_IOVAS", nr: IOMMU_IOAS_ALLOW_IOVAS, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24, iommufd: true,
    fields: [SIZE, f("ioas_id", 4, 4, Kind.NUM, Dir.IN), f("num_iovas", 8, 4, Kind.NUM, Dir.IN),
      f("__reserved", 12, 4, Kind.NUM, Dir.IN), f("allowed_iovas", 16, 8, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_IOAS_COPY", nr: IOMMU_IOAS_COPY, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 40, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.FLAGS, Dir.IN, IOAS_MAP_FLAGS), f("dst_ioas_id", 8, 4, Kind.NUM, Dir.IN),
      f("src_ioas_id", 12, 4, Kind.NUM, Dir.IN), f("length", 16, 8, Kind.NUM, Dir.IN),
      f("dst_iova", 24, 8, Kind.NUM, Dir.INOUT), f("src_iova", 32, 8, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_IOAS_IOVA_RANGES", nr: IOMMU_IOAS_IOVA_RANGES, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 32, iommufd: true,
    fields: [SIZE, f("ioas_id", 4, 4, Kind.NUM, Dir.IN), f("num_iovas", 8, 4, Kind.NUM, Dir.INOUT),
      f("__reserved", 12, 4, Kind.NUM, Dir.IN), f("allowed_iovas", 16, 8, Kind.NUM, Dir.IN),
      f("out_iova_alignment", 24, 8, Kind.NUM, Dir.OUT)] },
  { name: "IOMMU_IOAS_MAP", nr: IOMMU_IOAS_MAP, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 40, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.FLAGS, Dir.IN, IOAS_MAP_FLAGS), f("ioas_id", 8, 4, Kind.NUM, Dir.IN),
      f("__reserved", 12, 4, Kind.NUM, Dir.IN), f("user_va", 16, 8, Kind.NUM, Dir.IN), f("length", 24, 8, Kind.NUM, Dir.IN),
      f("iova", 32, 8, Kind.NUM, Dir.INOUT)] },
  { name: "IOMMU_IOAS_UNMAP", nr: IOMMU_IOAS_UNMAP, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24, iommufd: true,
    fields: [SIZE, f("ioas_id", 4, 4, Kind.NUM, Dir.IN), f("iova", 8, 8, Kind.NUM, Dir.IN), f("length", 16, 8, Kind.NUM, Dir.INOUT)] },
  { name: "IOMMU_OPTION", nr: IOMMU_OPTION, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 24, iommufd: true,
    fields: [SIZE, f("option_id", 4, 4, Kind.NUM, Dir.IN), f("op", 8, 2, Kind.NUM, Dir.IN), f("__reserved", 10, 2, Kind.NUM, Dir.IN),
      f("object_id", 12, 4, Kind.NUM, Dir.IN), f("val64", 16, 8, Kind.NUM, Dir.INOUT)] },
  { name: "IOMMU_VFIO_IOAS", nr: IOMMU_VFIO_IOAS, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 12, iommufd: true,
    fields: [SIZE, f("ioas_id", 4, 4, Kind.NUM, Dir.INOUT), f("op", 8, 2, Kind.NUM, Dir.IN), f("__reserved", 10, 2, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_HWPT_ALLOC", nr: IOMMU_HWPT_ALLOC, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 48, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.FLAGS, Dir.IN, HWPT_ALLOC_FLAGS), f("dev_id", 8, 4, Kind.NUM, Dir.IN),
      f("pt_id", 12, 4, Kind.NUM, Dir.IN), f("out_hwpt_id", 16, 4, Kind.ID, Dir.OUT), f("__reserved", 20, 4, Kind.NUM, Dir.IN),
      f("data_type", 24, 4, Kind.NUM, Dir.IN), f("data_len", 28, 4, Kind.NUM, Dir.IN), f("data_uptr", 32, 8, Kind.NUM, Dir.IN),
      f("fault_id", 40, 4, Kind.NUM, Dir.IN), f("__reserved2", 44, 4, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_GET_HW_INFO", nr: IOMMU_GET_HW_INFO, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 40, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.NUM, Dir.IN), f("dev_id", 8, 4, Kind.NUM, Dir.IN), f("data_len", 12, 4, Kind.NUM, Dir.INOUT),
      f("data_uptr", 16, 8, Kind.NUM, Dir.IN), f("out_data_type", 24, 4, Kind.NUM, Dir.OUT), f("__reserved", 28, 4, Kind.NUM, Dir.IN),
      f("out_capabilities", 32, 8, Kind.NUM, Dir.OUT)] },
  { name: "IOMMU_HWPT_SET_DIRTY_TRACKING", nr: IOMMU_HWPT_SET_DIRTY_TRACKING, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 16, iommufd: true,
    fields: [SIZE, f("flags", 4, 4, Kind.FLAGS, Dir.IN, DIRTY_TRACKING_FLAGS), f("hwpt_id", 8, 4, Kind.NUM, Dir.IN),
      f("__reserved", 12, 4, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_HWPT_GET_DIRTY_BITMAP", nr: IOMMU_HWPT_GET_DIRTY_BITMAP, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 48, iommufd: true,
    fields: [SIZE, f("hwpt_id", 4, 4, Kind.NUM, Dir.IN), f("flags", 8, 4, Kind.FLAGS, Dir.IN, DIRTY_BITMAP_FLAGS),
      f("__reserved", 12, 4, Kind.NUM, Dir.IN), f("iova", 16, 8, Kind.NUM, Dir.IN), f("length", 24, 8, Kind.NUM, Dir.IN),
      f("page_size", 32, 8, Kind.NUM, Dir.IN), f("data", 40, 8, Kind.NUM, Dir.IN)] },
  { name: "IOMMU_HWPT_INVALIDATE", nr: IOMMU_HWPT_INVALIDATE, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 32, iommufd: true,
    fields: [SIZE, f("hwpt_id", 4, 4, Kind.NUM, Dir.IN), f("data_uptr", 8, 8, Kind.NUM, Dir.IN), f("data_type", 16, 4, Kind.NUM, Dir.IN),
      f("entry_len", 20, 4, Kind.NUM, Dir.IN), f("entry_num", 24, 4, Kind.NUM, Dir.INOUT), f("__reserved", 28, 4, Kind.NUM, Dir.IN)] },
  // VFIO device cdev (/dev/vfio/devices/vfioN, 6.6+; contract extension)
  { name: "VFIO_DEVICE_BIND_IOMMUFD", nr: VFIO_DEVICE_BIND_IOMMUFD, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 16,
    fields: [ARGSZ, f("flags", 4, 4, Kind.NUM, Dir.IN), f("iommufd", 8, 4, Kind.FILE, Dir.IN), f("out_devid", 12, 4, Kind.ID, Dir.OUT)] },
  { name: "VFIO_DEVICE_ATTACH_IOMMUFD_PT", nr: VFIO_DEVICE_ATTACH_IOMMUFD_PT, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 12,
    fields: [ARGSZ, f("flags", 4, 4, Kind.NUM, Dir.IN), f("pt_id", 8, 4, Kind.ID, Dir.INOUT)] },
  { name: "VFIO_DEVICE_DETACH_IOMMUFD_PT", nr: VFIO_DEVICE_DETACH_IOMMUFD_PT, arg: ArgKind.STRUCT, ret: RetKind.VALUE, size: 8,
    fields: [ARGSZ, f("flags", 4, 4, Kind.NUM, Dir.IN)] },
];

export const REQUEST_BY_NAME: ReadonlyMap<string, RequestDesc> = new Map(REQUESTS.map((r) => [r.name, r]));

/** Flag names in ascending bit order joined by `|`, `0` when none, unnamed bits in hex after the names. */
export function formatFlags(v: number, names: FlagNames | undefined): string {
  if (v === 0) return "0";
  let out = "";
  let rest = v >>> 0;
  if (names) {
    for (const [bit, name] of names) {
      if (rest & bit) {
        out += out ? "|" + name : name;
        rest = (rest & ~bit) >>> 0;
      }
    }
  }
  if (rest) out += (out ? "|0x" : "0x") + rest.toString(16);
  return out;
}
