// lspci shortens long names and can cut the `[vvvv:dddd]` pair itself (realdata dell-r720
// 3f:0f.2: "... Decoder Registers [808... (rev 04)"). Without hex the IDs are then taken from a
// function of the same dump with the same name text at the same dev.fn on another bus (the
// mirror function of another socket); else the vendor alone from the kept digits when every
// vendor of the dump that starts with them is the same one; else the IDs stay 0xffff, hidden.

import { formatBdf } from "../../pci/address.js";
import type { PciFunction } from "../../pci/function.js";
import type { DeviceBlock } from "./block.js";

const hex4 = (v: number): string => v.toString(16).padStart(4, "0");

export function resolveTruncatedIds(blocks: DeviceBlock[], functions: PciFunction[], warnings: string[]): void {
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    const fn = functions[i]!;
    if (block.device.vendor !== undefined || block.hex || block.device.classWord === undefined) continue;
    const name = block.device.names;
    const bdf = formatBdf(fn.domain, fn.bus, fn.devfn);
    const mirror = blocks.findIndex((b) => b.device.vendor !== undefined && b.device.addr.devfn === fn.devfn && name !== "" && b.device.names.startsWith(name));
    if (mirror >= 0) {
      const m = blocks[mirror]!.device;
      fn.vendor = m.vendor!;
      fn.device = m.device!;
      warnings.push(`${bdf}: lspci cut the vendor:device pair; took [${hex4(fn.vendor)}:${hex4(fn.device)}] from ${formatBdf(m.addr.domain, m.addr.bus, m.addr.devfn)} (same name, same dev.fn)`);
      continue;
    }
    const prefix = (block.device.truncatedIdPrefix ?? "").toLowerCase();
    const vendors = new Set<number>();
    if (prefix !== "") {
      for (const b of blocks) if (b.device.vendor !== undefined && hex4(b.device.vendor).startsWith(prefix)) vendors.add(b.device.vendor);
    }
    const shown = block.device.truncatedIdPrefix !== undefined ? `"[${block.device.truncatedIdPrefix}..."` : "missing";
    if (vendors.size === 1) {
      fn.vendor = [...vendors][0]!;
      fn.hidden.push(`device ID unknown: lspci cut the vendor:device pair (${shown}); vendor ${hex4(fn.vendor)} from the other functions of the dump, device-ID quirks cannot be checked`);
    } else {
      fn.hidden.push(`vendor and device ID unknown: lspci cut the vendor:device pair (${shown}); ID-based quirks cannot be checked`);
    }
  }
}
