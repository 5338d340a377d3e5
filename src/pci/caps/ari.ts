// ARI extended capability (ID 0x0e), pci-topology.md §7.

import { readU16 } from "./bytes.js";

export function decodeAri(bytes: Uint8Array, offset: number): { offset: number; nextFunction: number } | undefined {
  const cap = readU16(bytes, offset + 4);
  if (cap === undefined) return undefined;
  return { offset, nextFunction: (cap >> 8) & 0xff };
}
