// PCI addresses: domain:bus:dev.fn, and the requester ID (PCI_DEVID).

export interface PciAddress {
  domain: number;
  bus: number;
  devfn: number;
}

export const pciSlot = (devfn: number): number => devfn >> 3;
export const pciFunc = (devfn: number): number => devfn & 7;
export const pciDevfn = (slot: number, fn: number): number => ((slot & 0x1f) << 3) | (fn & 7);
/** Requester ID: bus << 8 | devfn (pci_dev_id()). */
export const requesterId = (bus: number, devfn: number): number => ((bus & 0xff) << 8) | (devfn & 0xff);

const hex = (v: number, width: number): string => v.toString(16).padStart(width, "0");

/** Kernel device name format %04x:%02x:%02x.%d. */
export function formatBdf(domain: number, bus: number, devfn: number): string {
  return `${hex(domain, 4)}:${hex(bus, 2)}:${hex(pciSlot(devfn), 2)}.${pciFunc(devfn)}`;
}

const BDF_RE = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/;

/** Parses `[dddd:]bb:dd.f`; a missing domain means 0000. Returns null when malformed. */
export function parseBdf(text: string): PciAddress | null {
  const m = BDF_RE.exec(text.trim());
  if (!m) return null;
  const slot = parseInt(m[3]!, 16);
  if (slot > 0x1f) return null;
  return { domain: m[1] ? parseInt(m[1], 16) : 0, bus: parseInt(m[2]!, 16), devfn: pciDevfn(slot, parseInt(m[4]!, 10)) };
}

/** Normalises any accepted BDF spelling to the full lower-case form, or null. */
export function normalizeBdf(text: string): string | null {
  const a = parseBdf(text);
  return a ? formatBdf(a.domain, a.bus, a.devfn) : null;
}
