// Device names as lspci shows them: from the dump when present, else pci.ids, else the IDs.

import type { PciFunction } from "../pci/function.js";
import { PciIds } from "../pci/ids.js";

let ids: PciIds | null = null;
let idsPath: string | undefined;

export function usePciIds(path: string | undefined): void {
  idsPath = path;
  ids = null;
}

export function deviceName(f: PciFunction, vendor: number, device: number): string {
  const n = f.names;
  if (n?.device) return n.className ? `${n.className}: ${n.device}` : n.device;
  if (n?.line) return n.line;
  ids ??= PciIds.load(idsPath);
  const v = ids.vendorName(vendor);
  const d = ids.deviceName(vendor, device);
  if (v || d) return [v, d].filter(Boolean).join(" ");
  return `[${hex4(vendor)}:${hex4(device)}]`;
}

export const hex4 = (v: number): string => v.toString(16).padStart(4, "0");
