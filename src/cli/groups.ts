// `vfio-lab groups`: compute IOMMU groups as the kernel does, explain them, what-if the ACS override.

import { Command, Option } from "commander";
import { bdfIndex, computeGroups } from "../groups/compute.js";
import { explainDevice } from "../groups/explain.js";
import { parseAcsOverride } from "../groups/options.js";
import { loadHost } from "../import/load.js";
import { normalizeBdf } from "../pci/address.js";
import { NEWEST_KERNEL } from "../pci/version.js";
import { UsageError } from "./errors.js";
import { groupsJson, printExplanation, printGroups } from "./groups-output.js";
import { usePciIds } from "./names.js";
import { powerGroups } from "./power.js";

export interface SourceOptions {
  lspci?: string;
  sysfs?: string;
  topology?: string;
  snapshot?: string;
  sample?: boolean;
}

export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option("--lspci <file>", "text of `lspci -vvvnn` (with or without -x/-xxx/-xxxx hex, with or without -D); - reads stdin")
    .option("--sysfs <dir>", "a directory like /sys/bus/pci/devices (or /sys itself)")
    .option("--topology <file>", "the project's YAML/JSON topology format (see README)")
    .option("--snapshot <file>", "a file written by `vfio-lab snapshot`")
    .option("--sample", "the built-in sample host (an AMD B550 desktop with a GPU)");
}

export function registerGroupsCommand(program: Command, log: (s: string) => void): void {
  const cmd = new Command("groups")
    .description("compute a host's IOMMU groups exactly as the Linux kernel does, with the reason for each")
    .addHelpText("after", `
Without a source option: the live /sys when it has PCI devices, else the built-in sample host.

Examples:
  vfio-lab groups --lspci dump.txt --kernel 6.8
  vfio-lab groups --sysfs /sys --explain 0000:01:00.0
  vfio-lab groups --lspci dump.txt --acs-override downstream,multifunction
  vfio-lab groups --sample --json`);
  addSourceOptions(cmd)
    .option("--json", "one JSON object on stdout (the contract's format)")
    .option("--kernel <version>", `apply that kernel's rules and quirk tables (e.g. 6.1, 6.12.80, 7.0; default: the input's, else ${NEWEST_KERNEL})`)
    .option("--explain <bdf>", "say step by step why this device is in its group")
    .option("--acs-override <spec>", "what-if: pcie_acs_override= values downstream, multifunction, id:vvvv:dddd (comma-separated)")
    .option("--acs-override-ignore-cap", "use the override variant that also covers ports whose ACS capability lacks needed bits (LF Edge EVE)")
    .addOption(new Option("--platform <platform>", "x86 (IOMMU groups) or power (PowerNV partitionable endpoints)").choices(["x86", "power"]).default("x86"))
    .addOption(new Option("--iommu <kind>", "override the IOMMU the host is judged to have").choices(["intel", "amd", "none"]))
    .option("--ivrs-covers-root-complex", "AMD: the firmware's IVRS ranges include the root complex 00:00.0 (default: not, as on Zen boards)")
    .option("--pci-ids <file>", "pci.ids database for device names (default: the system's)")
    .action((o: SourceOptions & Record<string, string | boolean | undefined>) => {
      usePciIds(o.pciIds as string | undefined);
      const host = loadHost(o);
      if (o.ivrsCoversRootComplex) host.settings = { ...host.settings, ivrsCoversRootComplex: true };
      let acsOverride = null;
      if (typeof o.acsOverride === "string") {
        const parsed = parseAcsOverride(o.acsOverride, o.acsOverrideIgnoreCap === true);
        if (typeof parsed === "string") throw new UsageError(`--acs-override: ${parsed}`);
        acsOverride = parsed;
      }
      const result = computeGroups(host, {
        kernel: o.kernel as string | undefined, acsOverride, iommu: o.iommu as "intel" | "amd" | "none" | undefined,
      });
      if (o.platform === "power") {
        const out = powerGroups(result);
        if (o.json) log(JSON.stringify(out, null, 2));
        else for (const line of out.text) log(line);
        return;
      }
      let explanation = null;
      if (typeof o.explain === "string") {
        const bdf = normalizeBdf(o.explain);
        if (!bdf) throw new UsageError(`--explain ${o.explain}: not a PCI address ([dddd:]bb:dd.f)`);
        const i = bdfIndex(result.topology).get(bdf);
        if (i === undefined) throw new UsageError(`--explain ${bdf}: no such device in ${result.source}`);
        explanation = explainDevice(result.topology, result.overrideRun ?? result.run, i);
      }
      if (o.json) log(JSON.stringify(groupsJson(result, explanation), null, 2));
      else if (explanation) printExplanation(explanation, log);
      else printGroups(result, log);
    });
  program.addCommand(cmd);
}
