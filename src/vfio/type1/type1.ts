// VFIO type1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c) as vfio-uapi.md §6 gives it:
// the DMA tree (one vfio_dma per MAP, never merged), dma_entry_limit, pinning with locked-memory
// accounting, valid IOVA ranges, domains shared by compatible groups (or one per group in the
// per-device-domain mode) with existing mappings replayed into a new domain, v1 and v2 unmap
// semantics, UNMAP_ALL and VADDR, dirty page tracking (VFIO_IOMMU_DIRTY_PAGES, UNMAP with
// GET_DIRTY_BITMAP) and the external pinning of emulated (mdev) devices that scopes it.
// Returns 0 / a positive value, or -errno like the kernel.

import { IommuError, IOMMU_READ, IOMMU_WRITE, type IommuDomain, type IovaRange } from "../../iommu/domain.js";
import type { IoctlArg } from "../arg.js";
import { TWO64 } from "../arg.js";
import { allocFails, createDomain, type IommuKind } from "../iommu.js";
import type { KernelFeatures } from "../kernel.js";
import { PAGE_SIZE, type ProcessMm } from "../mm.js";
import {
  accessOk, bitmapAlloc, clearBits, DIRTY_BITMAP_PAGES_MAX, pgshiftOf, setBits, shiftLeft, verifyBitmapSize,
  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
} from "./dirty.js";
import {
  E2BIG, EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, ENOTTY, EACCES, EPERM, errnoNumber,
  VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR, VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_GET_INFO, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
  VFIO_TYPE1_IOMMU, VFIO_TYPE1_NESTING_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL, VFIO_UPDATE_VADDR,
} from "../uapi.js";

/** The user's bitmap of UNMAP_DMA with GET_DIRTY_BITMAP / DIRTY_PAGES GET_BITMAP (struct vfio_bitmap). */
interface UserBitmap {
  pgsize: bigint;
  /** User address of the bitmap (process memory, copy_to_user). */
  data: number;
}

/** What the backend needs to know of a group. */
export interface BackendGroup {
  readonly id: number;
  readonly iommuKind: IommuKind;
  readonly addressWidth: number;
  /** The group's reserved regions (non-relaxable), inclusive. */
  readonly reserved: readonly IovaRange[];
  /** Emulated (mdev) group: no IOMMU domain. */
  readonly emulated?: boolean;
}

export interface Dma {
  iova: number;
  size: number;
  vaddr: number;
  prot: number;
  /** Pages charged to locked_vm for this mapping. */
  lockedPages: number;
  /** Physically contiguous runs: [iova, phys, size] flattened. */
  runs: number[];
  vaddrInvalid: boolean;
  /** Pinned and mapped through the IOMMU domains (false while the container has none). */
  iommuMapped: boolean;
  /** Dirty bitmap while tracking is on (vfio_dma_bitmap_alloc), one bit per smallest IOMMU page. */
  bitmap: Uint8Array | null;
  /** Pages pinned by an emulated device (the pfn_list): page index in the mapping → pin count. */
  pfns: Map<number, number> | null;
}

interface T1Domain {
  dom: IommuDomain;
  kind: IommuKind;
  groups: BackendGroup[];
  enforceCoherency: boolean;
}

export interface Type1Options {
  /** Module parameter dma_entry_limit (default 65535). */
  dmaEntryLimit?: number;
  /** false: every group gets a domain of its own (QEMU's per-device-domain choice); default true. */
  shareDomains?: boolean;
}

export interface Type1Stats {
  mapCalls: number;
  unmapCalls: number;
  domains: number;
  tablePages: number;
}

const PAGE_MASK = TWO64 - PAGE_SIZE;

export function type1CheckExtensionNull(arg: number, k: KernelFeatures): number {
  switch (arg) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_UNMAP_ALL:
      return 1;
    case VFIO_TYPE1_NESTING_IOMMU:
      return k.nestingExtension ? 1 : 0;
    default:
      return 0; // UPDATE_VADDR and DMA_CC need a live container
  }
}

export class Type1 {
  readonly v2: boolean;
  readonly nesting: boolean;
  readonly domains: T1Domain[] = [];
  readonly groups: BackendGroup[] = [];
  /** Sorted by iova, non-overlapping. */
  readonly dmas: Dma[] = [];
  dmaAvail: number;
  vaddrInvalidCount = 0;
  private pgsizeBitmap = PAGE_MASK;
  private iovaList: IovaRange[] = [];
  private readonly shareDomains: boolean;
  private retiredMapCalls = 0;
  private retiredUnmapCalls = 0;
  /** iommu->dirty_page_tracking. */
  dirtyTracking = false;
  /** IOMMU-backed groups promoted to the pinned-page dirty scope by pinning (pinned_page_dirty_scope). */
  private readonly pinnedScope = new Set<BackendGroup>();

  /** type1 `open`: only 1, 3 and 6 (EINVAL otherwise). */
  static open(arg: number, mm: ProcessMm, k: KernelFeatures, opts: Type1Options = {}): Type1 | number {
    if (arg !== VFIO_TYPE1_IOMMU && arg !== VFIO_TYPE1v2_IOMMU && arg !== VFIO_TYPE1_NESTING_IOMMU) return -EINVAL;
    if (allocFails()) return -ENOMEM;
    return new Type1(arg, mm, k, opts);
  }

  private constructor(arg: number, readonly mm: ProcessMm, readonly k: KernelFeatures, opts: Type1Options) {
    this.v2 = arg !== VFIO_TYPE1_IOMMU;
    this.nesting = arg === VFIO_TYPE1_NESTING_IOMMU;
    this.dmaAvail = opts.dmaEntryLimit ?? 65535;
    this.shareDomains = opts.shareDomains ?? true;
  }

  // ------------------------------------------------------------------ extension / ioctl

  checkExtension(arg: number): number {
    switch (arg) {
      case VFIO_UPDATE_VADDR:
        return this.groups.some((g) => g.emulated) ? 0 : 1;
      case VFIO_DMA_CC_IOMMU:
        return this.domains.every((d) => d.enforceCoherency) ? 1 : 0;
      default:
        return type1CheckExtensionNull(arg, this.k);
    }
  }

  ioctl(nr: number, a: IoctlArg): number {
    switch (nr) {
      case VFIO_CHECK_EXTENSION:
        return this.checkExtension(a.value);
      case VFIO_IOMMU_GET_INFO:
        return this.getInfo(a);
      case VFIO_IOMMU_MAP_DMA: {
        if (a.u32(0) < 32) return -EINVAL;
        const flags = a.u32(4);
        if (flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE | VFIO_DMA_MAP_FLAG_VADDR)) return -EINVAL;
        return this.mapChecked(flags, a, 8, 16, 24);
      }
      case VFIO_IOMMU_UNMAP_DMA: {
        if (a.u32(0) < 24) return -EINVAL;
        const flags = a.u32(4);
        const known = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR;
        if (flags & ~known) return -EINVAL;
        let bitmap: UserBitmap | null = null;
        if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
          if (flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)) return -EINVAL;
          if (a.u32(0) < 24 + 24) return -EINVAL;
          // struct vfio_bitmap after the unmap struct: pgsize, size, data
          const pgsize = a.big64(24), bsize = a.big64(32), data = a.big64(40);
          if (!accessOk(data, bsize)) return -EINVAL;
          if (!verifyBitmapSize(a.big64(16) >> pgshiftOf(pgsize), bsize)) return -EINVAL;
          bitmap = { pgsize, data: Number(data) };
        }
        const r = this.unmapChecked(flags, a, 8, 16, bitmap);
        if (r < 0) return r;
        a.setU64(16, r);
        return 0;
      }
      case VFIO_IOMMU_DIRTY_PAGES:
        return this.dirtyPages(a);
      default:
        return -ENOTTY;
    }
  }

  // ------------------------------------------------------------------ GET_INFO

  private getInfo(a: IoctlArg): number {
    const argsz = a.u32(0);
    if (argsz < 16) return -EINVAL;
    const pad = this.k.infoPadded;
    const align = (n: number): number => (pad ? Math.ceil(n / 8) * 8 : n);
    const nr = this.iovaList.length;
    const migSz = align(32), availSz = align(12), iovaSz = nr ? align(16 + 16 * nr) : 0;
    const capsSz = migSz + availSz + iovaSz;
    const infoSz = 24;
    a.setU32(4, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    a.setU64(8, this.pgsizeBitmap);
    if (argsz < infoSz + capsSz) {
      a.setU32(0, infoSz + capsSz);
      if (argsz >= 20) a.setU32(16, 0);
    } else if (infoSz + capsSz <= a.buf.length) {
      a.setU32(16, infoSz);
      let off = infoSz;
      // MIGRATION
      a.setU16(off, 2); a.setU16(off + 2, 1); a.setU32(off + 4, off + migSz);
      a.setU32(off + 8, 0); a.setU64(off + 16, this.minPage()); a.setU64(off + 24, 268435456);
      off += migSz;
      a.setU16(off, 3); a.setU16(off + 2, 1); a.setU32(off + 4, nr ? off + availSz : 0);
      a.setU32(off + 8, this.dmaAvail);
      off += availSz;
      if (nr) {
        a.setU16(off, 1); a.setU16(off + 2, 1); a.setU32(off + 4, 0); a.setU32(off + 8, nr); a.setU32(off + 12, 0);
        for (let i = 0; i < nr; i++) {
          a.setU64(off + 16 + 16 * i, this.iovaList[i]!.start);
          a.setU64(off + 24 + 16 * i, this.iovaList[i]!.last);
        }
      }
    }
    return 0;
  }

  get iovaRanges(): readonly IovaRange[] {
    return this.iovaList;
  }

  get pgsizes(): number {
    return this.pgsizeBitmap;
  }

  minPage(): number {
    let p = PAGE_SIZE;
    while (p < TWO64 && Math.floor(this.pgsizeBitmap / p) % 2 === 0) p *= 2;
    return p;
  }

  // ------------------------------------------------------------------ MAP_DMA

  private mapChecked(flags: number, a: IoctlArg, vOff: number, iOff: number, sOff: number): number {
    const mask = this.minPage() - 1;
    let prot = 0;
    if (flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
    if (flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
    const setVaddr = (flags & VFIO_DMA_MAP_FLAG_VADDR) !== 0;
    const post612 = this.k.overflowErrno !== EINVAL;
    const sizeZero = a.lo(sOff) === 0 && a.hi(sOff) === 0;
    if (post612) {
      if (sizeZero) return -EINVAL;
      if (this.wraps(a, iOff, sOff) || this.wraps(a, vOff, sOff)) return -this.k.overflowErrno;
    }
    if ((prot && setVaddr) || (!prot && !setVaddr)) return -EINVAL;
    if (sizeZero || ((a.lo(sOff) | a.lo(iOff) | a.lo(vOff)) & mask) !== 0) return -EINVAL;
    const iova = a.u64(iOff), size = a.u64(sOff), vaddr = a.u64(vOff);
    if (iova + size > TWO64 || vaddr + size > TWO64) return -EINVAL;
    return this.map(iova, size, vaddr, prot, setVaddr);
  }

  private wraps(a: IoctlArg, off: number, sOff: number): boolean {
    return a.big64(off) + a.big64(sOff) - 1n > 0xffffffffffffffffn;
  }

  /** vfio_dma_do_map after the argument checks. iova, size, vaddr page aligned. */
  map(iova: number, size: number, vaddr: number, prot: number, setVaddr = false): number {
    const hit = this.findOverlap(iova, size);
    if (setVaddr) {
      if (hit < 0) return -ENOENT;
      const d = this.dmas[hit]!;
      if (!d.vaddrInvalid || d.iova !== iova || d.size !== size) return -EINVAL;
      d.vaddr = vaddr;
      d.vaddrInvalid = false;
      this.vaddrInvalidCount--;
      return 0;
    }
    if (hit >= 0) return -EEXIST;
    if (this.dmaAvail === 0) return -ENOSPC;
    if (!this.iovaValid(iova, iova + size - 1)) return -EINVAL;
    if (allocFails()) return -ENOMEM;
    const dma: Dma = {
      iova, size, vaddr, prot, lockedPages: 0, runs: [], vaddrInvalid: false, iommuMapped: false, bitmap: null, pfns: null,
    };
    // no IOMMU domain (emulated groups only): nothing is pinned until a domain's replay does it
    if (this.domains.length) {
      const r = this.pinMap(dma);
      if (r < 0) return r;
      dma.iommuMapped = true;
    }
    if (this.dirtyTracking) {
      // tracking is on: the new mapping gets its (empty) bitmap, or goes again (vfio_dma_do_map)
      const r = this.bitmapAllocOne(dma);
      if (r < 0) {
        this.removeDma(dma);
        return r;
      }
    }
    this.insert(dma);
    this.dmaAvail--;
    return 0;
  }

  /** Pins the pages (charging locked_vm) and maps each contiguous run into every domain. */
  private pinMap(dma: Dma): number {
    const p = this.pinRuns(dma);
    if (p < 0) return p;
    for (let r = 0; r < dma.runs.length; r += 3) {
      for (let di = 0; di < this.domains.length; di++) {
        const e = this.domainMap(this.domains[di]!.dom, dma.runs[r]!, dma.runs[r + 1]!, dma.runs[r + 2]!, dma.prot);
        if (e) {
          // undo: this run in the domains done so far, and every earlier run everywhere
          for (let dj = 0; dj < di; dj++) this.domains[dj]!.dom.unmap(dma.runs[r]!, dma.runs[r + 2]!);
          for (let q = 0; q < r; q += 3) for (const d of this.domains) d.dom.unmap(dma.runs[q]!, dma.runs[q + 2]!);
          this.unpinRuns(dma);
          return -e;
        }
      }
    }
    return 0;
  }

  /**
   * vfio_pin_pages_remote over a whole mapping: its physically contiguous runs, and the locked_vm
   * charge (pages an emulated device already pinned and charged are not charged twice).
   */
  private pinRuns(dma: Dma): number {
    const mm = this.mm;
    const pages = dma.size / PAGE_SIZE;
    const write = (dma.prot & IOMMU_WRITE) !== 0;
    const held = dma.lockedPages;
    const allowed = mm.chargeLocked ? Math.max(0, mm.limitPages - mm.lockedVm + held) : Infinity;
    const scan = mm.pinScan(dma.vaddr, pages, allowed, write);
    if (scan.overAt >= 0) return -ENOMEM;
    if (scan.backed < pages) return -EFAULT;
    // runs: physically contiguous pieces (one per VMA piece here)
    let va = dma.vaddr, io = dma.iova, left = dma.size;
    while (left > 0) {
      const v = mm.find(va)!;
      const n = Math.min(left, v.end - va);
      dma.runs.push(io, v.phys + (va - v.start), n);
      va += n; io += n; left -= n;
    }
    if (mm.chargeLocked) {
      const charged = mm.chargeOf(dma.vaddr, pages);
      mm.lockedVm += charged - held;
      dma.lockedPages = charged;
    }
    return 0;
  }

  /** Drops the IOMMU pins of a mapping (its runs); what an emulated device pinned stays charged. */
  private unpinRuns(dma: Dma): void {
    const keep = this.pinnedCharge(dma);
    this.mm.lockedVm -= dma.lockedPages - keep;
    dma.lockedPages = keep;
    dma.runs.length = 0;
  }

  private domainMap(dom: IommuDomain, iova: number, phys: number, size: number, prot: number): number {
    try {
      dom.map(iova, phys, size, prot);
      return 0;
    } catch (e) {
      if (e instanceof IommuError) return errnoNumber(e.errno);
      throw e;
    }
  }

  private iovaValid(start: number, last: number): boolean {
    if (this.iovaList.length === 0) return true;
    for (const r of this.iovaList) if (start >= r.start && last <= r.last) return true;
    return false;
  }

  // ------------------------------------------------------------------ UNMAP_DMA

  private unmapChecked(flags: number, a: IoctlArg, iOff: number, sOff: number, bitmap: UserBitmap | null = null): number {
    if (flags & VFIO_DMA_UNMAP_FLAG_VADDR && this.groups.some((g) => g.emulated)) return -EBUSY;
    const mask = this.minPage() - 1;
    if (a.lo(iOff) & mask) return -EINVAL;
    const all = (flags & VFIO_DMA_UNMAP_FLAG_ALL) !== 0;
    let iova = a.u64(iOff), size: number;
    if (all) {
      if (iova !== 0 || a.lo(sOff) !== 0 || a.hi(sOff) !== 0) return -EINVAL;
      size = TWO64;
    } else {
      if ((a.lo(sOff) === 0 && a.hi(sOff) === 0) || a.lo(sOff) & mask) return -EINVAL;
      size = a.u64(sOff);
      if (iova + size > TWO64) return -this.k.overflowErrno;
    }
    // only while tracking, and only at the smallest page size
    if (bitmap && (!this.dirtyTracking || bitmap.pgsize !== BigInt(mask + 1))) return -EINVAL;
    iova = iova || 0;
    return this.unmap(iova, size, all, (flags & VFIO_DMA_UNMAP_FLAG_VADDR) !== 0, bitmap);
  }

  /**
   * vfio_dma_do_unmap after the checks; returns the bytes removed (or marked) or -errno. With a
   * bitmap each mapping's dirty bits are copied out before it goes; a fault stops the walk
   * (mappings already removed stay removed) and the call fails with EFAULT.
   */
  unmap(iova: number, size: number, all: boolean, vaddr = false, bitmap: UserBitmap | null = null): number {
    // iova + size in u64 arithmetic: a range ending at the very top wraps to 0, and the kernel's
    // walk (`dma->iova >= iova + size`) then stops at once (recorded: unmap-v2.trace)
    const end0 = iova + size;
    const end = all ? Infinity : end0 >= TWO64 ? end0 - TWO64 : end0;
    if (this.v2 && !all) {
      const a = this.findContaining(iova);
      if (a >= 0 && this.dmas[a]!.iova !== iova) return -EINVAL;
      const b = this.findContaining(end0 - PAGE_SIZE);
      if (b >= 0) {
        const d = this.dmas[b]!;
        if (d.iova + d.size !== end) return -EINVAL;
      }
    }
    let i = this.firstOverlapIndex(iova);
    let unmapped = 0;
    if (vaddr) {
      const marked: Dma[] = [];
      for (; i < this.dmas.length; i++) {
        const d = this.dmas[i]!;
        if (d.iova >= end) break;
        if (!this.v2 && iova > d.iova) break;
        if (d.vaddrInvalid) {
          for (const m of marked) m.vaddrInvalid = false;
          this.vaddrInvalidCount -= marked.length;
          return -EINVAL;
        }
        d.vaddrInvalid = true;
        this.vaddrInvalidCount++;
        marked.push(d);
        unmapped += d.size;
      }
      return unmapped;
    }
    let j = i, err = 0;
    for (; j < this.dmas.length; j++) {
      const d = this.dmas[j]!;
      if (d.iova >= end) break;
      if (!this.v2 && iova > d.iova) break;
      // pages an emulated device pinned: vfio_notify_dma_unmap makes its driver unpin them
      if (d.pfns) this.notifyDmaUnmap(d);
      if (bitmap) {
        err = this.updateUserBitmap(bitmap.data, d, iova, Number(bitmap.pgsize));
        if (err) break;
      }
      unmapped += d.size;
      this.removeDma(d);
    }
    if (j > i) {
      this.dmas.splice(i, j - i);
      this.dmaAvail += j - i;
    }
    return err || unmapped;
  }

  private removeDma(d: Dma): void {
    for (let r = 0; r < d.runs.length; r += 3) for (const dom of this.domains) dom.dom.unmap(d.runs[r]!, d.runs[r + 2]!);
    this.mm.lockedVm -= d.lockedPages;
    d.lockedPages = 0;
    d.bitmap = null;
    d.pfns = null;
    if (d.vaddrInvalid) this.vaddrInvalidCount--;
  }

  private unmapUnpinAll(): void {
    for (const d of this.dmas) this.removeDma(d);
    this.dmaAvail += this.dmas.length;
    this.dmas.length = 0;
  }

  // ------------------------------------------------------------------ dirty page tracking

  /** vfio_iommu_type1_dirty_pages: START / STOP / GET_BITMAP, checks in the kernel's order. */
  private dirtyPages(a: IoctlArg): number {
    if (!this.v2) return -EACCES;
    const argsz = a.u32(0), flags = a.u32(4);
    const mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP | VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
    if (argsz < 8 || flags & ~mask) return -EINVAL;
    // __ffs(flags) != __fls(flags): exactly one flag (none falls through to the final EINVAL)
    if (flags === 0 || (flags & (flags - 1)) !== 0) return -EINVAL;
    if (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
      if (this.dirtyTracking) return 0;
      const r = this.bitmapAllocAll();
      if (r === 0) this.dirtyTracking = true;
      return r;
    }
    if (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
      if (this.dirtyTracking) {
        this.dirtyTracking = false;
        for (const d of this.dmas) d.bitmap = null;
      }
      return 0;
    }
    // GET_BITMAP: struct vfio_iommu_type1_dirty_bitmap_get {iova, size, bitmap {pgsize, size, data}}
    if (argsz - 8 < 40) return -EINVAL;
    const iova = a.big64(8), size = a.big64(16);
    const post = this.k.overflowErrno !== EINVAL; // the check_add_overflow series
    if (post) {
      if (size === 0n) return -EINVAL;
      if (iova + size - 1n > 0xffffffffffffffffn) return -this.k.overflowErrno;
    } else if (iova + size > 0xffffffffffffffffn) return -EINVAL; // range.iova + range.size < range.iova
    const pgsize = a.big64(24), bsize = a.big64(32), data = a.big64(40);
    if (!accessOk(data, bsize)) return -EINVAL;
    if (!verifyBitmapSize(size >> pgshiftOf(pgsize), bsize)) return -EINVAL;
    const pg = BigInt(this.minPage());
    // only the smallest supported page size; range aligned to it
    if (pgsize !== pg || iova & (pg - 1n)) return -EINVAL;
    if ((!post && size === 0n) || size & (pg - 1n)) return -EINVAL;
    if (!this.dirtyTracking) return -EINVAL;
    return this.iovaDirtyBitmap(Number(data), Number(iova), Number(iova + size), Number(pg));
  }

  /** vfio_iova_dirty_bitmap: [iova, end) must not bisect a mapping; each mapping's bits go out, then its bitmap restarts from the pinned pages. */
  private iovaDirtyBitmap(data: number, iova: number, end: number, pgsize: number): number {
    const a = this.findContaining(iova);
    if (a >= 0 && this.dmas[a]!.iova !== iova) return -EINVAL;
    const b = this.findContaining(end - PAGE_SIZE);
    if (b >= 0 && this.dmas[b]!.iova + this.dmas[b]!.size !== end) return -EINVAL;
    for (let i = this.firstOverlapIndex(iova); i < this.dmas.length; i++) {
      const d = this.dmas[i]!;
      if (d.iova >= end) break;
      const r = this.updateUserBitmap(data, d, iova, pgsize);
      if (r) return r;
      // re-populate: pinned pages stay dirty, everything else starts clean. bitmap_clear covers
      // only the mapping's own bits: what the shift moved past them stays (see updateUserBitmap)
      clearBits(d.bitmap!, 0, d.size / pgsize);
      this.populateBitmap(d, pgsize);
    }
    return 0;
  }

  /**
   * update_user_bitmap: the mapping's bits into the user's bitmap at bit (iova - base) / pgsize.
   * Every page counts as dirty while an IOMMU-backed group has not promised pinned-page scope
   * (num_non_pinned_groups) and the mapping is pinned and mapped. An unaligned start shifts the
   * kernel's own bitmap in place (bitmap_shift_left, last word unmasked) and ORs in the user's
   * first word; whole u64 words are written, so bits shifted past the mapping on an earlier call
   * reach the user's words after it (they are never cleared while tracking lasts).
   */
  private updateUserBitmap(data: number, d: Dma, base: number, pgsize: number): number {
    const bm = d.bitmap!;
    const nbits = d.size / pgsize;
    const bitOffset = (d.iova - base) / pgsize;
    const shift = bitOffset % 64;
    const at = data + Math.floor(bitOffset / 64) * 8;
    if (this.nonPinnedGroups() > 0 && d.iommuMapped) setBits(bm, 0, nbits);
    if (shift) {
      shiftLeft(bm, shift, nbits + shift);
      const left = this.mm.read(at, 8);
      if (!left) return -EFAULT;
      for (let i = 0; i < 8; i++) bm[i]! |= left[i]!;
    }
    const out = bm.subarray(0, Math.ceil((nbits + shift) / 64) * 8);
    if (!userWritable(this.mm, at, out.length) || !this.mm.write(at, out)) return -EFAULT;
    return 0;
  }

  /** vfio_dma_populate_bitmap: the pages an emulated device holds pinned are dirty. */
  private populateBitmap(d: Dma, pgsize: number): void {
    if (!d.pfns) return;
    for (const page of d.pfns.keys()) setBits(d.bitmap!, Math.floor((page * PAGE_SIZE) / pgsize), 1);
  }

  /** num_non_pinned_groups: IOMMU-backed groups that may dirty any page they can reach. */
  private nonPinnedGroups(): number {
    let n = 0;
    for (const g of this.groups) if (!g.emulated && !this.pinnedScope.has(g)) n++;
    return n;
  }

  /** vfio_dma_bitmap_alloc: > INT_MAX pages → EINVAL, allocation failure → ENOMEM. */
  private bitmapAllocOne(d: Dma): number {
    const npages = d.size / this.minPage();
    if (npages > DIRTY_BITMAP_PAGES_MAX) return -EINVAL;
    if (allocFails()) return -ENOMEM;
    d.bitmap = bitmapAlloc(npages);
    return 0;
  }

  /** vfio_dma_bitmap_alloc_all: every mapping's bitmap, populated from its pinned pages; all or nothing. */
  private bitmapAllocAll(): number {
    const pgsize = this.minPage();
    for (const d of this.dmas) {
      const r = this.bitmapAllocOne(d);
      if (r < 0) {
        for (const x of this.dmas) x.bitmap = null;
        return r;
      }
      this.populateBitmap(d, pgsize);
    }
    return 0;
  }

  // ------------------------------------------------------------------ emulated-device pinning

  /**
   * vfio_pin_pages → vfio_iommu_type1_pin_pages for an emulated (mdev) device of group g: pins
   * npage pages from iova (each inside one mapping, with the prot asked for), marks them dirty
   * while tracking, and puts g in the pinned-page dirty scope. Without an IOMMU domain each
   * newly pinned page is charged to locked_vm (with one, MAP already charged it).
   * Returns npage or -errno; on error every page pinned by this call is unpinned again.
   */
  pinPages(g: BackendGroup, iova: number, npage: number, prot: number): number {
    if (npage <= 0) return -EINVAL;
    if (npage > PAGE_SIZE / 8) return -E2BIG; // VFIO_PIN_PAGES_MAX_ENTRIES
    if (!this.v2) return -EACCES;
    if (this.vaddrInvalidCount) return -EBUSY; // 6.3+, Debian 6.1.y: no pinning with VADDR pending
    const account = this.domains.length === 0;
    const pgsize = this.minPage();
    let i = 0, err = 0;
    for (; i < npage; i++) {
      const at = iova + i * PAGE_SIZE;
      const k = this.findContaining(at);
      if (k < 0) {
        err = -EINVAL;
        break;
      }
      const d = this.dmas[k]!;
      if ((d.prot & prot) !== prot) {
        err = -EPERM;
        break;
      }
      const page = (at - d.iova) / PAGE_SIZE;
      const pins = d.pfns?.get(page) ?? 0;
      if (pins === 0) {
        const va = d.vaddr + page * PAGE_SIZE;
        const mm = this.mm;
        const v = mm.find(va);
        if (!v || ((d.prot & IOMMU_WRITE) && (v.readOnly || v.readOnlyUncharged))) {
          err = -EFAULT;
          break;
        }
        const charge = account ? mm.chargeOf(va, 1) : 0;
        if (charge && mm.chargeLocked && mm.lockedVm + 1 > mm.limitPages) {
          err = -ENOMEM;
          break;
        }
        if (charge && mm.chargeLocked) {
          mm.lockedVm++;
          d.lockedPages++;
        }
        if (this.dirtyTracking) setBits(d.bitmap!, Math.floor((page * PAGE_SIZE) / pgsize), 1);
      }
      (d.pfns ??= new Map()).set(page, pins + 1);
    }
    if (err) {
      this.unpinPages(iova, i);
      return err;
    }
    // a device that pins declares what it dirties: the container's scope may narrow
    if (!g.emulated) this.pinnedScope.add(g);
    return npage;
  }

  /** vfio_unpin_pages → vfio_iommu_type1_unpin_pages: drops one pin per page; a page's last pin uncharges it without a domain. */
  unpinPages(iova: number, npage: number): void {
    if (!this.v2) return;
    const account = this.domains.length === 0;
    for (let i = 0; i < npage; i++) {
      const k = this.findContaining(iova + i * PAGE_SIZE);
      if (k < 0) break;
      const d = this.dmas[k]!;
      this.unpinOne(d, (iova + i * PAGE_SIZE - d.iova) / PAGE_SIZE, account);
    }
  }

  private unpinOne(d: Dma, page: number, account: boolean): void {
    const pins = d.pfns?.get(page);
    if (!pins) return;
    if (pins > 1) {
      d.pfns!.set(page, pins - 1);
      return;
    }
    d.pfns!.delete(page);
    if (d.pfns!.size === 0) d.pfns = null;
    if (account && this.mm.chargeLocked && this.mm.chargeOf(d.vaddr + page * PAGE_SIZE, 1)) {
      this.mm.lockedVm--;
      d.lockedPages--;
    }
  }

  /** vfio_notify_dma_unmap: the emulated device's dma_unmap callback unpins everything it holds there. */
  private notifyDmaUnmap(d: Dma): void {
    const account = this.domains.length === 0;
    while (d.pfns) {
      const [page, pins] = d.pfns.entries().next().value as [number, number];
      for (let n = 0; n < pins; n++) this.unpinOne(d, page, account);
    }
  }

  /** Chargeable pages an emulated device holds pinned in d (what vfio_iommu_unmap_unpin_reaccount keeps). */
  private pinnedCharge(d: Dma): number {
    if (!d.pfns || !this.mm.chargeLocked) return 0;
    let n = 0;
    for (const page of d.pfns.keys()) n += this.mm.chargeOf(d.vaddr + page * PAGE_SIZE, 1);
    return n;
  }

  // ------------------------------------------------------------------ DMA tree helpers

  /** Index of the first dma with iova + size > addr. */
  private firstOverlapIndex(addr: number): number {
    let lo = 0, hi = this.dmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const d = this.dmas[mid]!;
      if (d.iova + d.size <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private findContaining(addr: number): number {
    const i = this.firstOverlapIndex(addr);
    const d = this.dmas[i];
    return d && d.iova <= addr ? i : -1;
  }

  private findOverlap(iova: number, size: number): number {
    const i = this.firstOverlapIndex(iova);
    const d = this.dmas[i];
    return d && d.iova < iova + size ? i : -1;
  }

  private insert(dma: Dma): void {
    const i = this.firstOverlapIndex(dma.iova);
    this.dmas.splice(i, 0, dma);
  }

  // ------------------------------------------------------------------ groups and domains

  /** vfio_iommu_type1_attach_group. */
  attachGroup(g: BackendGroup): number {
    if (this.vaddrInvalidCount) return -EBUSY;
    if (this.groups.includes(g)) return -EINVAL;
    if (g.emulated) {
      this.groups.push(g);
      return 0;
    }
    if (allocFails()) return -ENOMEM;
    const dom = createDomain({ kind: g.iommuKind, addressWidth: g.addressWidth });
    const retire = (): void => {
      this.retiredMapCalls += dom.stats.mapCalls;
      this.retiredUnmapCalls += dom.stats.unmapCalls;
      dom.destroy();
    };
    if (this.nesting) {
      retire();
      return -EINVAL; // iommu_enable_nesting: no x86 IOMMU supports it
    }
    // new aperture vs the current list and the existing mappings
    const aper = dom.apertures;
    if (this.domains.length) {
      const inter = intersect(this.iovaList, aper);
      if (inter.length === 0 || this.dmas.some((d) => !covered(aper, d.iova, d.iova + d.size - 1))) {
        retire();
        return -EINVAL;
      }
    }
    const resv = [...dom.reserved, ...g.reserved];
    if (this.dmas.some((d) => resv.some((r) => d.iova <= r.last && r.start <= d.iova + d.size - 1))) {
      retire();
      return -EINVAL;
    }
    const newList = this.domains.length ? subtract(intersect(this.iovaList, aper), resv) : subtract([...aper], resv);
    if (newList.length === 0) {
      retire();
      return -EINVAL;
    }
    const enforce = false; // QEMU's intel-iommu has no snoop control (ecap.SC = 0)
    if (this.shareDomains) {
      const same = this.domains.find((d) => d.kind === g.iommuKind && d.enforceCoherency === enforce);
      if (same) {
        retire();
        same.groups.push(g);
        this.groups.push(g);
        this.iovaList = newList;
        return 0;
      }
    }
    // replay every mapping into the new domain; mappings made while there was no domain are
    // pinned now (vfio_iommu_replay → vfio_pin_pages_remote)
    const pinned: Dma[] = [];
    for (let i = 0; i < this.dmas.length; i++) {
      const d = this.dmas[i]!;
      let e = 0;
      if (!d.iommuMapped) {
        const p = this.pinRuns(d);
        if (p < 0) e = -p;
        else pinned.push(d);
      }
      for (let r = 0; !e && r < d.runs.length; r += 3) {
        e = this.domainMap(dom, d.runs[r]!, d.runs[r + 1]!, d.runs[r + 2]!, d.prot);
        if (e) for (let q = 0; q < r; q += 3) dom.unmap(d.runs[q]!, d.runs[q + 2]!);
      }
      if (e) {
        for (let j = 0; j < i; j++) {
          const dj = this.dmas[j]!;
          for (let q = 0; q < dj.runs.length; q += 3) dom.unmap(dj.runs[q]!, dj.runs[q + 2]!);
        }
        for (const p of pinned) this.unpinRuns(p);
        retire();
        return -e;
      }
    }
    for (const d of this.dmas) d.iommuMapped = true;
    this.domains.push({ dom, kind: g.iommuKind, groups: [g], enforceCoherency: enforce });
    this.groups.push(g);
    this.iovaList = newList;
    this.updatePgsize();
    return 0;
  }

  /** vfio_iommu_type1_detach_group. */
  detachGroup(g: BackendGroup): void {
    const gi = this.groups.indexOf(g);
    if (gi < 0) return;
    this.groups.splice(gi, 1);
    if (g.emulated) return;
    const di = this.domains.findIndex((d) => d.groups.includes(g));
    if (di < 0) return;
    const d = this.domains[di]!;
    d.groups.splice(d.groups.indexOf(g), 1);
    // a group without pinned-page scope leaving may widen what counts as dirty
    const updateDirtyScope = !this.pinnedScope.delete(g);
    if (d.groups.length === 0) {
      if (this.domains.length === 1 && !this.groups.some((x) => x.emulated)) this.unmapUnpinAll();
      else {
        for (const dma of this.dmas) for (let r = 0; r < dma.runs.length; r += 3) d.dom.unmap(dma.runs[r]!, dma.runs[r + 2]!);
        if (this.domains.length === 1) {
          // the last IOMMU domain, emulated groups remain: vfio_iommu_unmap_unpin_reaccount
          for (const dma of this.dmas) {
            this.unpinRuns(dma);
            dma.iommuMapped = false;
          }
        }
      }
      this.retiredMapCalls += d.dom.stats.mapCalls;
      this.retiredUnmapCalls += d.dom.stats.unmapCalls;
      d.dom.destroy();
      this.domains.splice(di, 1);
    }
    // aperture and reserved regions from the remaining groups
    let list: IovaRange[] = [];
    for (const dd of this.domains) {
      const resv = [...dd.dom.reserved, ...dd.groups.flatMap((x) => x.reserved)];
      const own = subtract([...dd.dom.apertures], resv);
      list = list.length ? intersect(list, own) : own;
    }
    this.iovaList = list;
    this.updatePgsize();
    if (updateDirtyScope && this.dirtyTracking) {
      // vfio_iommu_populate_bitmap_full: the departed device may have written anywhere
      const pgsize = this.minPage();
      for (const dma of this.dmas) setBits(dma.bitmap!, 0, dma.size / pgsize);
    }
  }

  /** Backend release: everything unmapped and unpinned, every domain freed. */
  release(): void {
    this.unmapUnpinAll();
    for (const d of this.domains) {
      this.retiredMapCalls += d.dom.stats.mapCalls;
      this.retiredUnmapCalls += d.dom.stats.unmapCalls;
      d.dom.destroy();
    }
    this.domains.length = 0;
    this.groups.length = 0;
    this.pinnedScope.clear();
    this.dirtyTracking = false;
  }

  private updatePgsize(): void {
    if (this.domains.length === 0) {
      this.pgsizeBitmap = PAGE_MASK;
      return;
    }
    let common: number[] | null = null;
    for (const d of this.domains) {
      const s = d.dom.pageSizes.map((p) => Math.max(p, PAGE_SIZE));
      common = common ? common.filter((p) => s.includes(p)) : [...new Set(s)];
    }
    this.pgsizeBitmap = (common ?? [PAGE_SIZE]).reduce((a, b) => a + b, 0);
  }

  stats(): Type1Stats {
    let m = this.retiredMapCalls, u = this.retiredUnmapCalls, t = 0;
    for (const d of this.domains) {
      m += d.dom.stats.mapCalls;
      u += d.dom.stats.unmapCalls;
      t += d.dom.stats.tablePages;
    }
    return { mapCalls: m, unmapCalls: u, domains: this.domains.length, tablePages: t };
  }

  /** Each domain's IOMMU translation for iova (tests: IOMMU contents vs mappings). */
  translate(iova: number): number[] {
    return this.domains.map((d) => d.dom.iovaToPhys(iova));
  }
}

/** copy_to_user needs writable memory: a read-only mapping faults. */
function userWritable(mm: ProcessMm, va: number, len: number): boolean {
  for (let p = Math.floor(va / PAGE_SIZE) * PAGE_SIZE; p < va + len; p += PAGE_SIZE) {
    const v = mm.find(p);
    if (!v || v.readOnly || v.readOnlyUncharged) return false;
  }
  return true;
}

function covered(list: readonly IovaRange[], start: number, last: number): boolean {
  return list.some((r) => start >= r.start && last <= r.last);
}

export function intersect(a: readonly IovaRange[], b: readonly IovaRange[]): IovaRange[] {
  const out: IovaRange[] = [];
  for (const x of a) for (const y of b) {
    const s = Math.max(x.start, y.start), l = Math.min(x.last, y.last);
    if (s <= l) out.push({ start: s, last: l });
  }
  return out.sort((p, q) => p.start - q.start);
}

export function subtract(list: readonly IovaRange[], resv: readonly IovaRange[]): IovaRange[] {
  let cur = list.map((r) => ({ ...r }));
  for (const r of resv) {
    const next: IovaRange[] = [];
    for (const x of cur) {
      if (r.last < x.start || r.start > x.last) {
        next.push(x);
        continue;
      }
      if (r.start > x.start) next.push({ start: x.start, last: r.start - 1 });
      if (r.last < x.last) next.push({ start: r.last + 1, last: x.last });
    }
    cur = next;
  }
  return cur.sort((p, q) => p.start - q.start);
}
