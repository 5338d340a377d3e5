// Vendor and device names from the pci.ids database (the PCI ID Repository, shipped by
// distributions as pci.ids / hwdata). Read lazily, once, only when a name is needed.

import { existsSync, readFileSync } from "node:fs";

const CANDIDATES = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids", "/usr/local/share/pci.ids", "/usr/share/misc/pci.ids.gz"];

export class PciIds {
  private vendors = new Map<number, string>();
  private devices = new Map<number, string>();
  private constructor(readonly path: string | null) {}

  static load(path?: string): PciIds {
    const file = path ?? process.env.VFIO_LAB_PCI_IDS ?? CANDIDATES.find((p) => !p.endsWith(".gz") && existsSync(p)) ?? null;
    const ids = new PciIds(file);
    if (file) {
      try {
        ids.parse(readFileSync(file, "utf8"));
      } catch {
        /* unreadable: names fall back to IDs */
      }
    }
    return ids;
  }

  /** Parses the pci.ids text: vendors at column 0, devices after one tab; classes ("C ...") end the list. */
  private parse(text: string): void {
    let vendor = -1;
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      if (line.startsWith("C ")) break;
      if (line[0] !== "\t") {
        const id = parseInt(line.slice(0, 4), 16);
        vendor = Number.isNaN(id) ? -1 : id;
        if (vendor >= 0) this.vendors.set(vendor, line.slice(6).trim());
      } else if (line[1] !== "\t" && vendor >= 0) {
        const id = parseInt(line.slice(1, 5), 16);
        if (!Number.isNaN(id)) this.devices.set(vendor * 65536 + id, line.slice(7).trim());
      }
    }
  }

  vendorName(vendor: number): string | undefined {
    return this.vendors.get(vendor);
  }

  deviceName(vendor: number, device: number): string | undefined {
    return this.devices.get(vendor * 65536 + device);
  }
}
