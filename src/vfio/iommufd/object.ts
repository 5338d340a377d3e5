// The object table of an iommufd context (drivers/iommu/iommufd/main.c): one xarray with
// XA_FLAGS_ALLOC1 (lowest free ID ≥ 1, IDs reused after destroy), a `users` count per object
// (1 for the table + 1 per holder, iommufd.md §2), typed lookups (wrong type or missing → ENOENT).

import { allocFails } from "../iommu.js";

export type ObjType = "ioas" | "hwpt_paging" | "hwpt_nested" | "device" | "access" | "selftest";

export abstract class IommufdObject {
  id = 0;
  /** refcount: the table's reference plus one per holder. */
  users = 1;
  abstract readonly type: ObjType;
}

/** Object ID limit: 2^32-1 on 6.2-6.5, 2^31-1 from ≈6.6 (xa_limit_31b). */
export class ObjectTable {
  private readonly byId = new Map<number, IommufdObject>();
  /** IDs reserved by creations under way (iommufd_object_alloc before finalize). */
  private readonly reserved = new Set<number>();
  private lowestFree = 1;

  constructor(readonly idLimit: number) {}

  get size(): number {
    return this.byId.size;
  }

  /** iommufd_object_alloc: reserves the lowest free ID; -ENOSPC-like failure as 0 when full. */
  reserve(): number {
    if (allocFails()) return 0; // kzalloc of the object fails (fail_nth)
    let id = this.lowestFree;
    while (this.byId.has(id) || this.reserved.has(id)) id++;
    if (id > this.idLimit) return 0;
    this.reserved.add(id);
    this.lowestFree = id + 1;
    return id;
  }

  /** iommufd_object_finalize. */
  finalize<T extends IommufdObject>(id: number, o: T): T {
    this.reserved.delete(id);
    o.id = id;
    this.byId.set(id, o);
    return o;
  }

  /** iommufd_object_abort: the ID becomes free again. */
  abort(id: number): void {
    this.reserved.delete(id);
    if (id < this.lowestFree) this.lowestFree = id;
  }

  get(id: number): IommufdObject | null {
    return this.byId.get(id) ?? null;
  }

  getTyped<T extends IommufdObject>(id: number, type: ObjType): T | null {
    const o = this.byId.get(id);
    return o && o.type === type ? (o as T) : null;
  }

  remove(o: IommufdObject): void {
    this.byId.delete(o.id);
    if (o.id < this.lowestFree) this.lowestFree = o.id;
  }

  all(): IommufdObject[] {
    return [...this.byId.values()];
  }
}
