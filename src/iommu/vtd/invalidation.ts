// How Linux turns a flushed range into a page-selective invalidation (`calculate_psi_aligned_address`,
// intel/cache.c) and the queued-invalidation IOTLB descriptor it submits (`qi_flush_iotlb`).

export const QI_IOTLB_TYPE = 0x2;
export const QI_CC_TYPE = 0x1;
export const QI_IWD_TYPE = 0x5;
export const IOTLB_GRAN_GLOBAL = 1;
export const IOTLB_GRAN_DSI = 2;
export const IOTLB_GRAN_PSI = 3;

/** ADDR and AM of the smallest aligned 2^AM-page block that contains [start, end] (inclusive). */
export function calculatePsiAlignedAddress(start: number, end: number): { addr: number; am: number } {
  const first = Math.floor(start / 4096);
  const last = Math.floor(end / 4096);
  const pages = last - first + 1;
  let am = Math.ceil(Math.log2(pages));
  if (2 ** am < pages) am++;
  if (first % 2 ** am !== 0) {
    // Grow the mask until first and last agree above it (same aligned block).
    while (Math.floor(first / 2 ** am) !== Math.floor(last / 2 ** am)) am++;
  }
  const block = 2 ** am;
  return { addr: Math.floor(first / block) * block * 4096, am };
}

/**
 * IOTLB invalidation descriptor (type 0x2) as [qw0, qw1] BigInts: granularity 5:4, DW 6, DR 7,
 * DID 31:16 in qw0; AM 5:0, IH 6, ADDR 63:12 in qw1. Not a hot path.
 */
export function iotlbDescriptor(gran: number, did: number, addr = 0, am = 0, ih = false, drain = { dr: false, dw: false }): [bigint, bigint] {
  const qw0 = BigInt(QI_IOTLB_TYPE | (gran << 4) | (drain.dw ? 1 << 6 : 0) | (drain.dr ? 1 << 7 : 0)) | (BigInt(did & 0xffff) << 16n);
  const qw1 = BigInt(am & 0x3f) | (ih ? 1n << 6n : 0n) | (BigInt(addr) & ~0xfffn);
  return [qw0, qw1];
}
