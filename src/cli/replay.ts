// `vfio-lab replay TRACE [--topology FILE | --lspci FILE | --sysfs DIR] [--kernel VERSION]`:
// runs a VFIO call trace against the modelled host and prints one result line per call, as the
// real-kernel runner (shared/oracle/replay/vfio-replay.c) prints them. Exit status as the runner's:
// 0 every line ran, 2 a line it cannot understand (stderr names it), 3 a line that would block.

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { loadVfioHost } from "../vfio/host.js";
import { runTrace } from "../vfio/replay/run.js";
import { UsageError } from "./errors.js";

interface ReplayCliOptions {
  topology?: string;
  lspci?: string;
  sysfs?: string;
  kernel?: string;
  iommufd?: boolean;
}

export function registerReplayCommand(program: Command): void {
  program
    .command("replay")
    .description("run a VFIO / iommufd call trace against the modelled host; one result line per call, as the real kernel answers")
    .argument("<trace>", "the trace file (shared/contracts/replay.md); - for standard input")
    .option("--topology <file>", "host from a topology file")
    .option("--lspci <file>", "host from an lspci dump")
    .option("--sysfs <dir>", "host from a sysfs-like folder (config, iommu_group and driver links)")
    .option("--kernel <version>", "kernel whose answers to give: 6.1 (default) or 6.12; add +iommufd for a kernel with /dev/iommu")
    .addHelpText("after", `
Without a host option the built-in sample host is used.

Examples:
  vfio-lab replay fixtures/traces/examples/memlock.trace --sysfs fixtures/oracle/replay-host/sysfs
  vfio-lab replay my.trace --sysfs ../shared/oracle/replay/host/sysfs --kernel 6.12`)
    .action((trace: string, o: ReplayCliOptions) => {
      const given = [o.topology, o.lspci, o.sysfs].filter((x) => x !== undefined).length;
      if (given > 1) throw new UsageError("give one host source: --topology, --lspci or --sysfs");
      let text: string;
      try {
        text = readFileSync(trace === "-" ? 0 : trace, "utf8");
      } catch (e) {
        throw new UsageError(`${trace}: ${(e as Error).message}`);
      }
      const host = loadVfioHost({
        ...(o.sysfs !== undefined ? { sysfs: o.sysfs } : {}),
        ...(o.lspci !== undefined ? { lspci: o.lspci } : {}),
        ...(o.topology !== undefined ? { topology: o.topology } : {}),
        ...(o.kernel !== undefined ? { kernel: o.kernel.replace(/\+iommufd$/, "") } : {}),
      });
      let buf = "";
      const flush = (): void => {
        if (buf) process.stdout.write(buf);
        buf = "";
      };
      const r = runTrace(text, host, {
        kernel: o.kernel ?? "6.1",
        traceName: trace,
        onLine: (l) => {
          buf += l + "\n";
          if (buf.length > 65536) flush();
        },
      });
      flush();
      if (r.exitCode !== 0) {
        process.stderr.write(`vfio-lab replay: ${r.error ?? ""}\n`);
        process.exitCode = r.exitCode;
      }
    });
}
