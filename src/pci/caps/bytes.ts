// Little-endian config-space reads that know how many bytes the source carried.
// Reads past the end return undefined: the register is not in the dump (not the same as 0).

export function readU8(bytes: Uint8Array, off: number): number | undefined {
  return off >= 0 && off < bytes.length ? bytes[off] : undefined;
}

export function readU16(bytes: Uint8Array, off: number): number | undefined {
  if (off < 0 || off + 2 > bytes.length) return undefined;
  return bytes[off]! | (bytes[off + 1]! << 8);
}

export function readU32(bytes: Uint8Array, off: number): number | undefined {
  if (off < 0 || off + 4 > bytes.length) return undefined;
  return (bytes[off]! | (bytes[off + 1]! << 8) | (bytes[off + 2]! << 16) | (bytes[off + 3]! << 24)) >>> 0;
}
