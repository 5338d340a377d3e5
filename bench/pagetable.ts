// Page-table workloads of shared/bench/WORKLOADS.md through the project's own VT-d code
// (4 levels, 48-bit), same names and figures as bench/c/ref-pagetable.c. Each workload runs once
// after a short warm-up on a separate domain (JIT), then once measured.

import { createVtdDomain, type VtdDomain } from "../src/iommu/index.js";
import { createVtdUnit } from "../src/iommu/vtd/unit.js";

const BASE = 0x100000000;
const N = 1 << 20;
const T = 10_000_000;
const RW = 3;

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function mapPages(d: VtdDomain, n: number): void {
  for (let i = 0; i < n; i++) d.map(BASE + i * 4096, i * 4096, 4096, RW);
}

function unmapPages(d: VtdDomain, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += d.unmap(BASE + i * 4096, 4096);
  return sum;
}

function translate(d: VtdDomain, n: number, pages: number): number {
  let rng = 2463534242 | 0; // int32 from the start: a double phi would slow the loop
  let sum = 0;
  for (let i = 0; i < n; i++) {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    sum += d.iovaToPhys(BASE + (rng & (pages - 1)) * 4096 + (i & 4095)); // pages is a power of two
  }
  return sum;
}

function pin(superpages: 0 | 1, guest: number, pageSize: number, perCall: boolean): { ms: number; tableBytes: number; reserved: number } {
  const p = createVtdDomain({ levels: 4, superpages });
  const pa0 = superpages ? 0x4000000000 : 0;
  const t0 = nowNs();
  if (perCall) for (let off = 0; off < guest; off += pageSize) p.map(off, pa0 + off, pageSize, RW);
  else p.map(0, pa0, guest, RW);
  const t1 = nowNs();
  const r = { ms: (t1 - t0) / 1e6, tableBytes: p.stats.tablePages * 4096, reserved: p.pt.pool.reservedBytes };
  p.destroy();
  return r;
}

function perPage(): object[] {
  const rows: object[] = [];
  const d = createVtdDomain({ levels: 4 });
  let t0 = nowNs();
  mapPages(d, N);
  let t1 = nowNs();
  rows.push({ workload: "map4k", ops: N, ns_per_op: round((t1 - t0) / N) });
  t0 = nowNs();
  const check = translate(d, T, N);
  t1 = nowNs();
  rows.push({ workload: "translate4k", ops: T, ns_per_op: round((t1 - t0) / T), check: check % 65536 });
  t0 = nowNs();
  const unmapped = unmapPages(d, N);
  t1 = nowNs();
  if (unmapped !== N * 4096) throw new Error(`unmap4k removed ${unmapped} bytes`);
  rows.push({ workload: "unmap4k", ops: N, ns_per_op: round((t1 - t0) / N) });
  d.destroy();
  return rows;
}

function warmUp(): void {
  for (let r = 0; r < 3; r++) {
    pin(1, 2 ** 34, 2 ** 21, false);
    pin(1, 2 ** 34, 2 ** 21, true);
    pin(0, 2 ** 30, 4096, false);
    pin(0, 2 ** 30, 4096, true);
  }
  for (let r = 0; r < 4; r++) {
    const d = createVtdDomain({ levels: 4 });
    mapPages(d, 1 << 16);
    translate(d, 1 << 20, 1 << 16);
    unmapPages(d, 1 << 16);
    d.destroy();
  }
}

export async function runPagetableBench(): Promise<object[]> {
  const out: object[] = [];
  warmUp();

  // The 4K workloads run twice at full size; the second (JIT-compiled, heap settled) is reported.
  let rows: object[] = [];
  for (let rep = 0; rep < 2; rep++) rows = perPage();
  out.push(...rows);

  // Pinning a guest: one iommu_map of the whole range, split by iommu_pgsize into map_pages runs,
  // as VFIO type1 does for contiguous memory. The *_percall rows do one map call per page like the C.
  const g256 = 256 * 2 ** 30;
  const huge = 2 ** 21;
  let r = pin(1, g256, huge, false);
  out.push({ workload: "pin256g_2m", ops: g256 / huge, ms_total: round(r.ms, 3), table_bytes: r.tableBytes });
  r = pin(1, g256, huge, true);
  out.push({ workload: "pin256g_2m_percall", ops: g256 / huge, ms_total: round(r.ms, 3) });
  const g16 = 16 * 2 ** 30;
  r = pin(0, g16, 4096, false);
  out.push({ workload: "pin16g_4k", ops: g16 / 4096, ms_total: round(r.ms, 3), table_bytes: r.tableBytes, pool_reserved_bytes: r.reserved });
  r = pin(0, g16, 4096, true);
  out.push({ workload: "pin16g_4k_percall", ops: g16 / 4096, ms_total: round(r.ms, 3), table_bytes: r.tableBytes });

  out.push(...iotlbBench());
  return out;
}

/** DMA translations through a VT-d unit: all hits (working set fits the IOTLB) and all misses. */
function iotlbBench(): object[] {
  const unit = createVtdUnit({ iotlbEntries: 4096, iotlbWays: 8 });
  const d = createVtdDomain({ levels: 4, superpages: 0 }); // 4 KiB leaves: one IOTLB entry per page
  const sid = 0x0100; // 01:00.0
  unit.attach(d, [sid]);
  d.map(BASE, 0, N * 4096, RW);
  const hitPages = 2048;
  let sum = 0;
  for (let i = 0; i < hitPages; i++) sum += unit.dmaTranslate(sid, BASE + i * 4096, false);
  const H = 20_000_000;
  let t0 = nowNs();
  for (let i = 0; i < H; i++) sum += unit.dmaTranslate(sid, BASE + (i & (hitPages - 1)) * 4096, false);
  let t1 = nowNs();
  const hitRate = H / ((t1 - t0) / 1e9);
  const M = 2_000_000;
  const before = { ...unit.iotlb.counters };
  t0 = nowNs();
  // Stride of 4096 pages cycling over N: every access misses an IOTLB of 4096 entries.
  for (let i = 0; i < M; i++) sum += unit.dmaTranslate(sid, BASE + ((i * 4099) % N) * 4096, true);
  t1 = nowNs();
  const missRate = M / ((t1 - t0) / 1e9);
  const c = unit.iotlb.counters;
  const missRun = { hits: c.hits - before.hits, misses: c.misses - before.misses, walks: c.walks - before.walks };
  return [
    { workload: "iotlb_hit", ops: H, translations_per_s: Math.round(hitRate), ns_per_op: round(1e9 / hitRate) },
    { workload: "iotlb_miss", ops: M, translations_per_s: Math.round(missRate), ns_per_op: round(1e9 / missRate), ...missRun, check: sum % 65536 },
  ];
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
