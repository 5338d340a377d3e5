// Access objects (drivers/iommu/iommufd/device.c iommufd_access_*): the kernel-internal way for
// a driver without its own IOMMU (mdev, the selftest) to reach an IOAS's memory. A pinning access
// raises the IOAS alignment to PAGE_SIZE; pins hold the pages and block IOAS_UNMAP until the
// driver's unmap callback drops them (iommufd.md §9).

import type { Area, IoasAccess } from "./ioas.js";
import { EFAULT, EINVAL, ENOENT, EOVERFLOW, EPERM } from "./errno.js";
import { IommufdObject } from "./object.js";
import { PAGE, U64_MAX } from "./iova-alloc.js";
import type { IoasObject } from "./ioas-object.js";


/** IOMMUFD_ACCESS_RW_* */
export const ACCESS_RW_WRITE = 1, ACCESS_RW_SLOW_PATH = 4;

export interface AccessOps {
  readonly needsPin: boolean;
  /** The driver's unmap callback: drop every pin intersecting [iova, iova+length-1]. */
  unmap(iova: bigint, length: bigint): void;
}

/** One pinned piece: an area and its page index span. */
interface PinPiece {
  area: Area;
  first: number;
  last: number;
}

export class IommufdAccess extends IommufdObject implements IoasAccess {
  readonly type = "access";
  ioas: IoasObject | null = null;
  /** Live pins by "iova:length" (the kernel finds them again by range). */
  private readonly pins = new Map<string, PinPiece[][]>();

  constructor(readonly ops: AccessOps) {
    super();
  }

  get needsPin(): boolean {
    return this.ops.needsPin;
  }

  unmapCallback(iova: bigint, length: bigint): void {
    this.ops.unmap(iova, length);
  }

  /** iommufd_access_attach. */
  attach(ioas: IoasObject): number {
    if (this.ioas) return -EINVAL;
    const r = ioas.ioas.addAccess(this);
    if (r < 0) return r;
    ioas.users++;
    this.ioas = ioas;
    return 0;
  }

  /** iommufd_access_change_ioas (replace, detach). */
  change(next: IoasObject | null): number {
    const cur = this.ioas;
    if (cur === next) return 0;
    if (next) {
      const r = next.ioas.addAccess(this);
      if (r < 0) return r;
    }
    if (cur) {
      this.ops.unmap(0n, U64_MAX);
      cur.ioas.removeAccess(this);
      cur.users--;
    }
    if (next) next.users++;
    this.ioas = next;
    return 0;
  }

  /** iommufd_access_replace: ENOENT while detached. */
  replace(next: IoasObject): number {
    if (!this.ioas) return -ENOENT;
    return this.change(next);
  }

  /** iommufd_access_pin_pages. */
  pin(iova: bigint, length: bigint, write: boolean): number {
    if (!this.ops.needsPin) return -EINVAL;
    if (length === 0n) return -EINVAL;
    if (iova + length - 1n > U64_MAX) return -EOVERFLOW;
    if (!this.ioas) return -ENOENT;
    const ioas = this.ioas.ioas;
    const last = iova + length - 1n;
    const areas = ioas.covering(iova, last);
    const pieces: PinPiece[] = [];
    const undo = (): void => {
      for (const p of pieces) {
        p.area.pages!.release(p.first, p.last);
        p.area.accessPins--;
      }
    };
    const fail = (r: number): number => {
      undo();
      return r;
    };
    let cur = iova;
    for (const a of areas ?? []) {
      const end = a.last < last ? a.last : last;
      const startByte = a.uptr + (cur - a.iova);
      // iopt_area_contig_is_aligned: the first byte on a page start, inner boundaries at page ends
      if (cur === iova && startByte % PAGE !== 0n) return fail(-EINVAL);
      if (end !== last && (a.uptr + (end - a.iova)) % PAGE !== PAGE - 1n) return fail(-EINVAL);
      if (write ? !a.writeable : !a.readable) return fail(-EPERM); // check_area_prot
      if (!a.pages) return fail(-EFAULT);
      if (write && !a.pages.writable) return fail(-EPERM);
      const first = a.pages.index(Number(startByte));
      const lastIdx = a.pages.index(Number(a.uptr + (end - a.iova)));
      const r = a.pages.hold(first, lastIdx);
      if (r < 0) return fail(r);
      a.accessPins++;
      pieces.push({ area: a, first, last: lastIdx });
      cur = end + 1n;
    }
    if (!areas) return fail(-ENOENT);
    const key = `${iova}:${length}`;
    const list = this.pins.get(key) ?? [];
    list.push(pieces);
    this.pins.set(key, list);
    return 0;
  }

  /** iommufd_access_unpin_pages: exactly a range pinned before. */
  unpin(iova: bigint, length: bigint): void {
    const key = `${iova}:${length}`;
    const list = this.pins.get(key);
    const pieces = list?.pop();
    if (!pieces) throw new Error(`access unpin of a range never pinned: ${key}`);
    if (list!.length === 0) this.pins.delete(key);
    for (const p of pieces) {
      p.area.pages!.release(p.first, p.last);
      p.area.accessPins--;
    }
  }

  /** iommufd_access_rw: copies between `data` and the IOAS's memory. */
  rw(iova: bigint, data: Uint8Array, flags: number): number {
    const length = BigInt(data.length);
    if (length === 0n) return -EINVAL;
    if (iova + length - 1n > U64_MAX) return -EOVERFLOW;
    if (!this.ioas) return -ENOENT;
    const ioas = this.ioas.ioas;
    const last = iova + length - 1n;
    const write = (flags & ACCESS_RW_WRITE) !== 0;
    let cur = iova, off = 0;
    for (;;) {
      const a = ioas.areas.find((x) => x.iova <= cur && cur <= x.last);
      if (!a) return -ENOENT;
      if (write ? !a.writeable : !a.readable) return -EPERM;
      if (!a.pages || (write && !a.pages.writable)) return a.pages ? -EPERM : -EFAULT;
      const end = a.last < last ? a.last : last;
      const n = Number(end - cur + 1n);
      const va = Number(a.uptr + (cur - a.iova));
      const mm = ioas.mm;
      if (write) {
        if (!mm.write(va, data.subarray(off, off + n))) return -EFAULT;
      } else {
        const got = mm.read(va, n);
        if (!got) return -EFAULT;
        data.set(got, off);
      }
      off += n;
      if (end === last) return 0;
      cur = end + 1n;
    }
  }

  /** Pins still held (tests). */
  get pinCount(): number {
    let n = 0;
    for (const l of this.pins.values()) n += l.length;
    return n;
  }
}
