// VFIO type1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c) as vfio-uapi.md §6 gives it:
// the DMA tree (one vfio_dma per MAP, never merged), dma_entry_limit, pinning with locked-memory
// accounting, valid IOVA ranges, domains shared by compatible groups (or one per group in the
// per-device-domain mode) with existing mappings replayed into a new domain, v1 and v2 unmap
// semantics, UNMAP_ALL and VADDR. Returns 0 / a positive value, or -errno like the kernel.

import { IommuError, IOMMU_READ, IOMMU_WRITE, type IommuDomain, type IovaRange } from "../../iommu/domain.js";
import type { IoctlArg } from "../arg.js";
import { TWO64 } from "../arg.js";
import { allocFails, createDomain, type IommuKind } from "../iommu.js";
import type { KernelFeatures } from "../kernel.js";
import { PAGE_SIZE, type ProcessMm } from "../mm.js";
import {
  EBUSY, EEXIST, EFAULT, EINVAL, ENOENT, ENOMEM, ENOSPC, ENOTTY, EACCES, errnoNumber,
  VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU, VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_VADDR, VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, VFIO_DMA_UNMAP_FLAG_VADDR, VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_GET_INFO, VFIO_IOMMU_INFO_CAPS, VFIO_IOMMU_INFO_PGSIZES, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
  VFIO_TYPE1_IOMMU, VFIO_TYPE1_NESTING_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_UNMAP_ALL, VFIO_UPDATE_VADDR,
} from "../uapi.js";

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
        if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
          if (flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)) return -EINVAL;
          if (a.u32(0) < 24 + 24) return -EINVAL;
        }
        const r = this.unmapChecked(flags, a, 8, 16);
        if (r < 0) return r;
        a.setU64(16, r);
        return 0;
      }
      case VFIO_IOMMU_DIRTY_PAGES:
        if (!this.v2) return -EACCES;
        if (a.u32(0) < 8) return -EINVAL;
        return -EINVAL; // dirty tracking is outside the model (no bitmaps)
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
    const dma: Dma = { iova, size, vaddr, prot, lockedPages: 0, runs: [], vaddrInvalid: false };
    const r = this.pinMap(dma);
    if (r < 0) return r;
    this.insert(dma);
    this.dmaAvail--;
    return 0;
  }

  /** Pins the pages (charging locked_vm) and maps each contiguous run into every domain. */
  private pinMap(dma: Dma): number {
    const mm = this.mm;
    const pages = dma.size / PAGE_SIZE;
    const write = (dma.prot & IOMMU_WRITE) !== 0;
    const allowed = mm.chargeLocked ? Math.max(0, mm.limitPages - mm.lockedVm) : Infinity;
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
    for (let r = 0; r < dma.runs.length; r += 3) {
      for (let di = 0; di < this.domains.length; di++) {
        const e = this.domainMap(this.domains[di]!.dom, dma.runs[r]!, dma.runs[r + 1]!, dma.runs[r + 2]!, dma.prot);
        if (e) {
          // undo: this run in the domains done so far, and every earlier run everywhere
          for (let dj = 0; dj < di; dj++) this.domains[dj]!.dom.unmap(dma.runs[r]!, dma.runs[r + 2]!);
          for (let q = 0; q < r; q += 3) for (const d of this.domains) d.dom.unmap(dma.runs[q]!, dma.runs[q + 2]!);
          dma.runs.length = 0;
          return -e;
        }
      }
    }
    const charged = mm.chargeOf(dma.vaddr, pages);
    if (mm.chargeLocked) {
      dma.lockedPages = charged;
      mm.lockedVm += charged;
    }
    return 0;
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

  private unmapChecked(flags: number, a: IoctlArg, iOff: number, sOff: number): number {
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
    if (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) return -EINVAL; // tracking never on
    iova = iova || 0;
    return this.unmap(iova, size, all, (flags & VFIO_DMA_UNMAP_FLAG_VADDR) !== 0);
  }

  /** vfio_dma_do_unmap after the checks; returns the bytes removed (or marked) or -errno. */
  unmap(iova: number, size: number, all: boolean, vaddr = false): number {
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
    let j = i;
    for (; j < this.dmas.length; j++) {
      const d = this.dmas[j]!;
      if (d.iova >= end) break;
      if (!this.v2 && iova > d.iova) break;
      unmapped += d.size;
      this.removeDma(d);
    }
    if (j > i) {
      this.dmas.splice(i, j - i);
      this.dmaAvail += j - i;
    }
    return unmapped;
  }

  private removeDma(d: Dma): void {
    for (let r = 0; r < d.runs.length; r += 3) for (const dom of this.domains) dom.dom.unmap(d.runs[r]!, d.runs[r + 2]!);
    this.mm.lockedVm -= d.lockedPages;
    d.lockedPages = 0;
    if (d.vaddrInvalid) this.vaddrInvalidCount--;
  }

  private unmapUnpinAll(): void {
    for (const d of this.dmas) this.removeDma(d);
    this.dmaAvail += this.dmas.length;
    this.dmas.length = 0;
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
    // replay every mapping into the new domain
    for (let i = 0; i < this.dmas.length; i++) {
      const d = this.dmas[i]!;
      for (let r = 0; r < d.runs.length; r += 3) {
        const e = this.domainMap(dom, d.runs[r]!, d.runs[r + 1]!, d.runs[r + 2]!, d.prot);
        if (e) {
          for (let q = 0; q < r; q += 3) dom.unmap(d.runs[q]!, d.runs[q + 2]!);
          for (let j = 0; j < i; j++) {
            const dj = this.dmas[j]!;
            for (let q = 0; q < dj.runs.length; q += 3) dom.unmap(dj.runs[q]!, dj.runs[q + 2]!);
          }
          retire();
          return -e;
        }
      }
    }
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
    if (d.groups.length === 0) {
      if (this.domains.length === 1 && !this.groups.some((x) => x.emulated)) this.unmapUnpinAll();
      else for (const dma of this.dmas) for (let r = 0; r < dma.runs.length; r += 3) d.dom.unmap(dma.runs[r]!, dma.runs[r + 2]!);
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
