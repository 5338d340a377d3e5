// Plain reference model for the property tests: a map of leaves (start page → size, PA page, prot)
// with the kernel's rules spelled out naively: a map fails (and changes nothing) if any page is
// taken; an unmap removes whole leaves whose first page is covered, stopping at a hole or at a
// leaf that starts before the cursor (generic_pt `__unmap_range`).

export interface Leaf {
  start: number;
  pages: number;
  ppfn: number;
  prot: number;
}

export class LeafModel {
  readonly leaves = new Map<number, Leaf>();
  private readonly owner = new Map<number, number>(); // page → leaf start

  /** Splits a map into leaves the way the format does; returns false on overlap (unchanged). */
  map(leaves: Leaf[]): boolean {
    for (const l of leaves) for (let p = l.start; p < l.start + l.pages; p++) if (this.owner.has(p)) return false;
    for (const l of leaves) {
      this.leaves.set(l.start, l);
      for (let p = l.start; p < l.start + l.pages; p++) this.owner.set(p, l.start);
    }
    return true;
  }

  /** Pages removed. */
  unmap(start: number, pages: number): number {
    let cur = start;
    let removed = 0;
    while (cur < start + pages) {
      const s = this.owner.get(cur);
      if (s === undefined || s !== cur) break;
      const l = this.leaves.get(s) as Leaf;
      for (let p = l.start; p < l.start + l.pages; p++) this.owner.delete(p);
      this.leaves.delete(s);
      removed += l.pages;
      cur += l.pages;
    }
    return removed;
  }

  translate(iova: number): number {
    const pfn = Math.floor(iova / 4096);
    const s = this.owner.get(pfn);
    if (s === undefined) return -1;
    const l = this.leaves.get(s) as Leaf;
    return (l.ppfn + (pfn - l.start)) * 4096 + (iova % 4096);
  }
}

/** `iommu_pgsize` splitting over a list of page sizes (in pages, ascending). */
export function splitPgsize(ipfn: number, ppfn: number, n: number, sizes: number[], prot: number): Leaf[] {
  const out: Leaf[] = [];
  while (n > 0) {
    let size = 1;
    for (const s of sizes) if (ipfn % s === 0 && ppfn % s === 0 && n >= s) size = s;
    out.push({ start: ipfn, pages: size, ppfn, prot });
    ipfn += size;
    ppfn += size;
    n -= size;
  }
  return out;
}
