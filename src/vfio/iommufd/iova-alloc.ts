// Automatic IOVA allocation (iopt_alloc_iova, __alloc_iova_check_range) exactly as iommufd.md §5
// gives it: first fit by ascending address, never IOVA 0, never the first or last page, keeping
// the in-page offset of the user address; the overflow fix (a wrap-around is no fit → ENOSPC).
// All arithmetic in bigint: IOVAs span the whole u64 space.

export interface Span {
  start: bigint;
  last: bigint;
}

export const U64_MAX = 0xffffffffffffffffn;
export const PAGE = 4096n;
/** HPAGE_SIZE with THP on x86-64. */
export const MAXA = 2n * 1024n * 1024n;

export function roundupPow2(x: bigint): bigint {
  let p = 1n;
  while (p < x) p <<= 1n;
  return p;
}

export function lowestSetBit(x: bigint): bigint {
  return x & -x;
}

/** Gaps of the sorted, non-overlapping `used` intervals inside [lo, hi]. */
export function gaps(used: readonly Span[], lo: bigint, hi: bigint): Span[] {
  const out: Span[] = [];
  let cur = lo;
  for (const u of used) {
    if (u.last < cur) continue;
    if (u.start > hi) break;
    if (u.start > cur) out.push({ start: cur, last: u.start - 1n < hi ? u.start - 1n : hi });
    if (u.last >= hi) return out;
    cur = u.last + 1n;
  }
  if (cur <= hi) out.push({ start: cur, last: hi });
  return out;
}

/** Returns the IOVA, or a negative errno as a number. */
export function allocIova(
  addr: bigint,
  length: bigint,
  iovaAlignment: bigint,
  allowed: readonly Span[],
  used: readonly Span[],
): bigint | number {
  if (length === 0n || length >= 0x7fffffffffffffffn) return -75; // EOVERFLOW
  let a = roundupPow2(length);
  if (addr) {
    const l = lowestSetBit(addr);
    if (l < a) a = l;
  }
  if (a > MAXA) a = MAXA;
  if (a < iovaAlignment) return -22; // EINVAL
  const off = addr % PAGE;
  const fit = (start: bigint, last: bigint): bigint | null => {
    let t = start + a - 1n;
    if (t > U64_MAX) return null;
    t &= ~(a - 1n);
    t |= off;
    if (t >= last || last - t < length - 1n) return null;
    return t;
  };
  const lo = PAGE, hi = U64_MAX - PAGE;
  const spans: Span[] = [];
  if (allowed.length === 0) spans.push({ start: lo, last: hi });
  else {
    for (const s of allowed) {
      const st = s.start < lo ? lo : s.start, la = s.last > hi ? hi : s.last;
      if (st <= la) spans.push({ start: st, last: la });
    }
  }
  for (const S of spans) {
    const s = fit(S.start, S.last);
    if (s === null) continue;
    for (const H of gaps(used, s, S.last)) {
      const t = fit(H.start, H.last);
      if (t !== null) return t;
    }
  }
  return -28; // ENOSPC
}
