// The argument of an ioctl as the kernel sees it: the user's struct bytes (the model's
// copy_from_user / copy_to_user work on them), a scalar passed by value, or a string.

export const ARG_BYTES = 256;
export const TWO32 = 0x100000000;
export const TWO64 = 18446744073709551616;

export class IoctlArg {
  readonly buf = new Uint8Array(ARG_BYTES);
  readonly dv = new DataView(this.buf.buffer);
  /** Scalar argument (A_VALUE requests); u64 as a JS number (exact up to 2^53). */
  value = 0;
  /** String argument (VFIO_GROUP_GET_DEVICE_FD). */
  str = "";
  /**
   * User memory behind an array pointer (iommufd `allowed_iovas`): the ranges the caller's
   * buffer holds (input) or receives (output). A pointer field of 0 stands for NULL.
   */
  userRanges: { start: bigint; last: bigint }[] = [];

  /** Zeroes the struct area (every request's struct and capability space fits in 64 bytes;
   *  iommufd and the cap chains of larger argsz use clearAll). */
  reset(): this {
    this.buf.fill(0, 0, 64);
    if (this.dirtyHigh) {
      this.buf.fill(0, 64);
      this.dirtyHigh = false;
    }
    this.value = 0;
    this.str = "";
    if (this.userRanges.length) this.userRanges = [];
    return this;
  }
  u32(off: number): number {
    return this.dv.getUint32(off, true);
  }
  s32(off: number): number {
    return this.dv.getInt32(off, true);
  }
  u16(off: number): number {
    return this.dv.getUint16(off, true);
  }
  /** u64 as a number: exact below 2^53 and for any multiple of 4096. */
  u64(off: number): number {
    return this.dv.getUint32(off + 4, true) * TWO32 + this.dv.getUint32(off, true);
  }
  /** Low 32 bits of a u64 field (for alignment checks that must be exact). */
  lo(off: number): number {
    return this.dv.getUint32(off, true);
  }
  hi(off: number): number {
    return this.dv.getUint32(off + 4, true);
  }
  /** Set by writers past byte 64, so the next reset clears everything. */
  dirtyHigh = false;
  setU32(off: number, v: number): void {
    if (off >= 60) this.dirtyHigh = true;
    this.dv.setUint32(off, v >>> 0, true);
  }
  setU16(off: number, v: number): void {
    if (off >= 62) this.dirtyHigh = true;
    this.dv.setUint16(off, v & 0xffff, true);
  }
  setU64(off: number, v: number): void {
    if (off >= 56) this.dirtyHigh = true;
    const hi = Math.floor(v / TWO32);
    this.dv.setUint32(off, v - hi * TWO32, true);
    this.dv.setUint32(off + 4, hi >>> 0, true);
  }
  setBig64(off: number, v: bigint): void {
    if (off >= 56) this.dirtyHigh = true;
    this.dv.setBigUint64(off, BigInt.asUintN(64, v), true);
  }
  big64(off: number): bigint {
    return this.dv.getBigUint64(off, true);
  }
}
