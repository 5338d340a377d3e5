// `vfio-lab snapshot`: save the live host (or a sysfs copy) into one shareable file.

import { writeFileSync } from "node:fs";
import { Command } from "commander";
import { takeSnapshot } from "../import/snapshot.js";

export function registerSnapshotCommand(program: Command, log: (s: string) => void): void {
  program
    .command("snapshot")
    .description("save this host's PCI config space, drivers, kernel release, command line and the kernel's own IOMMU groups into one JSON file (load it with `groups --snapshot FILE`)")
    .option("--sysfs <dir>", "snapshot a sysfs copy instead of the live /sys", "/sys")
    .option("-o, --output <file>", "write here instead of stdout")
    .action((o: { sysfs: string; output?: string }) => {
      const snap = takeSnapshot(o.sysfs);
      const text = JSON.stringify(snap, null, 1) + "\n";
      if (o.output) {
        writeFileSync(o.output, text);
        log(`saved ${snap.functions.length} functions to ${o.output}`);
      } else process.stdout.write(text);
    });
}
