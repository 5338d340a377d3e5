// PCIe Device/Port Type from the text after `Express (vN) `, by prefix as lspci versions differ
// (pci-topology.md §5).

const TYPE_PREFIXES: ReadonlyArray<readonly [string, number]> = [
  ["Root Complex Integrated Endpoint", 0x9],
  ["Root Complex Event Collector", 0xa],
  ["Legacy Endpoint", 0x1],
  ["Endpoint", 0x0],
  ["Root Port", 0x4],
  ["Upstream Port", 0x5],
  ["Downstream Port", 0x6],
  ["PCI-Express to PCI/PCI-X Bridge", 0x7],
  ["PCI/PCI-X to PCI-Express Bridge", 0x8],
  // pciutils before 3.x called type 7 "PCI/PCI-X Bridge".
  ["PCI/PCI-X Bridge", 0x7],
];

/** Type number for the text, or undefined when no known prefix matches. */
export function expressTypeFromText(text: string): number | undefined {
  for (const [prefix, type] of TYPE_PREFIXES) if (text.startsWith(prefix)) return type;
  const unknown = /^Unknown type (\d+)/.exec(text);
  return unknown ? parseInt(unknown[1]!, 10) & 0xf : undefined;
}
