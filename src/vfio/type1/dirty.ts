// Dirty-page bitmaps of the type1 backend (vfio_iommu_type1.c, "dirty page tracking" since 5.8):
// the per-mapping bitmap (one bit per smallest IOMMU page, u64 words, little endian, plus the
// extra u64 vfio_dma_bitmap_alloc adds for bitmap_shift_left) and the user-argument checks
// (access_ok, verify_bitmap_size). Bit i of a bitmap is byte i >> 3, bit i & 7: the byte view of
// the kernel's little-endian unsigned long words.

/** VFIO_IOMMU_DIRTY_PAGES flags (include/uapi/linux/vfio.h). */
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_START = 1;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP = 2;
export const VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP = 4;

/** DIRTY_BITMAP_PAGES_MAX: bitmap_set takes an int bit count (INT_MAX pages, 8 TiB of 4 KiB). */
export const DIRTY_BITMAP_PAGES_MAX = 0x7fffffff;
/** DIRTY_BITMAP_SIZE_MAX = DIRTY_BITMAP_BYTES(INT_MAX) = 256 MiB (the MIGRATION cap's max). */
export const DIRTY_BITMAP_SIZE_MAX = 268435456n;
/** x86-64 TASK_SIZE_MAX with 4-level paging: the end of user space for access_ok. */
const TASK_SIZE_MAX = 0x7ffffffff000n;
const U64 = (1n << 64n) - 1n;

/** DIRTY_BITMAP_BYTES(n) = ALIGN(n, 64) / 8, in u64 arithmetic (ALIGN wraps near 2^64). */
export function dirtyBitmapBytes(npages: bigint): bigint {
  return (((npages + 63n) & U64) & ~63n) >> 3n;
}

/** vfio_dma_bitmap_alloc: zeroed, DIRTY_BITMAP_BYTES(npages) + sizeof(u64) bytes. */
export function bitmapAlloc(npages: number): Uint8Array {
  return new Uint8Array(Math.ceil(npages / 64) * 8 + 8);
}

/** bitmap_set(map, start, n). */
export function setBits(map: Uint8Array, start: number, n: number): void {
  let i = start;
  const end = start + n;
  while (i < end && i & 7) map[i >> 3]! |= 1 << (i++ & 7);
  const full = (end - i) >> 3;
  if (full > 0) {
    map.fill(0xff, i >> 3, (i >> 3) + full);
    i += full << 3;
  }
  while (i < end) map[i >> 3]! |= 1 << (i++ & 7);
}

/** bitmap_clear(map, start, n). */
export function clearBits(map: Uint8Array, start: number, n: number): void {
  let i = start;
  const end = start + n;
  while (i < end && i & 7) map[i >> 3]! &= ~(1 << (i++ & 7));
  const full = (end - i) >> 3;
  if (full > 0) {
    map.fill(0, i >> 3, (i >> 3) + full);
    i += full << 3;
  }
  while (i < end) map[i >> 3]! &= ~(1 << (i++ & 7));
}

export function testBit(map: Uint8Array, i: number): boolean {
  return ((map[i >> 3] ?? 0) >> (i & 7) & 1) === 1;
}

/**
 * __bitmap_shift_left(map, map, shift, nbits) for 0 < shift < 64, in place: the words
 * 0 .. BITS_TO_LONGS(nbits) - 1 move up by `shift` bits; what leaves the last word is lost and
 * the last word is not masked to nbits (bits past nbits stay, as in the kernel).
 */
export function shiftLeft(map: Uint8Array, shift: number, nbits: number): void {
  const len = Math.ceil(nbits / 64) * 8;
  const bytes = shift >> 3, bits = shift & 7;
  for (let i = len - 1; i >= 0; i--) {
    const hi = i - bytes >= 0 ? map[i - bytes]! : 0;
    const lo = bits && i - bytes - 1 >= 0 ? map[i - bytes - 1]! : 0;
    map[i] = bits ? ((hi << bits) | (lo >> (8 - bits))) & 0xff : hi;
  }
}

/** access_ok(ptr, size) on x86-64: ptr + size within user space, no wrap (6.1's asm-generic form;
 *  6.12's USER_PTR_MAX = TASK_SIZE_MAX check of the sum answers the same). */
export function accessOk(ptr: bigint, size: bigint): boolean {
  return size <= TASK_SIZE_MAX && ptr <= TASK_SIZE_MAX - size;
}

/** __ffs(x) as the shift count `>>` uses on x86-64: tzcnt(0) = 64, masked by the shift to 0. */
export function pgshiftOf(pgsize: bigint): bigint {
  if (pgsize === 0n) return 0n;
  let s = 0n;
  while (((pgsize >> s) & 1n) === 0n) s++;
  return s;
}

/** verify_bitmap_size: the user's bitmap holds one bit per page of the range (rounded to u64). */
export function verifyBitmapSize(npages: bigint, bitmapSize: bigint): boolean {
  return npages !== 0n && bitmapSize !== 0n && bitmapSize <= DIRTY_BITMAP_SIZE_MAX && bitmapSize >= dirtyBitmapBytes(npages);
}
