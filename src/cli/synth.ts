// `vfio-lab synth --functions N`: writes a generated host in the topology format (JSON).

import { createWriteStream } from "node:fs";
import { Command } from "commander";
import { formatBdf } from "../pci/address.js";
import { NOT_PCIE, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM } from "../pci/regs.js";
import { FN_BRIDGE, FN_HAS_ACS, FN_MULTIFUNCTION, FN_VIRTFN } from "../pci/topology.js";
import { generateSyntheticHost } from "../import/synth.js";
import { UsageError } from "./errors.js";

const TYPE_NAME: Record<number, string> = {
  [PCI_EXP_TYPE_ENDPOINT]: "endpoint", [PCI_EXP_TYPE_ROOT_PORT]: "root-port", [PCI_EXP_TYPE_UPSTREAM]: "upstream-port",
  [PCI_EXP_TYPE_DOWNSTREAM]: "downstream-port", [PCI_EXP_TYPE_PCI_BRIDGE]: "pcie-to-pci-bridge",
};
const h4 = (v: number): string => v.toString(16).padStart(4, "0");

export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description("write a generated host (root ports with and without ACS, switches, multifunction endpoints, SR-IOV VFs, PCIe-to-PCI bridges) as a topology file")
    .requiredOption("--functions <n>", "number of PCI functions (at least; VFs included)")
    .option("--seed <n>", "random seed", "1")
    .option("-o, --output <file>", "write here instead of stdout")
    .action(async (o: { functions: string; seed: string; output?: string }) => {
      const n = Number(o.functions);
      if (!Number.isInteger(n) || n < 1 || n > 50_000_000) throw new UsageError(`--functions ${o.functions}: expected a whole number from 1 to 50000000`);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed ${o.seed}: expected a whole number`);
      const out = o.output ? createWriteStream(o.output) : process.stdout;
      let buf = `{"name":"synthetic-${n}","description":"vfio-lab synth --functions ${n} --seed ${seed}","iommu":"intel","acsCtrl":"live","functions":[\n`;
      let first = true;
      const flush = async (): Promise<void> => {
        if (!out.write(buf)) await new Promise<void>((r) => out.once("drain", () => r()));
        buf = "";
      };
      const lines: string[] = [];
      generateSyntheticHost(n, (f, sriov) => {
        if (f.flags & FN_VIRTFN) return; // VFs follow from the PF's sriov entry
        const e: Record<string, unknown> = { bdf: formatBdf(f.domain, f.bus, f.devfn), id: `${h4(f.vendor)}:${h4(f.device)}` };
        e.class = (f.classCode >>> 0).toString(16).padStart(6, "0");
        e.type = f.pcieType === NOT_PCIE ? (f.flags & FN_BRIDGE ? "pci-bridge" : "pci") : TYPE_NAME[f.pcieType];
        if (f.flags & FN_MULTIFUNCTION) e.multifunction = true;
        if (f.flags & FN_BRIDGE) e.bus = { secondary: f.secondaryBus, subordinate: f.subordinateBus };
        if (f.flags & FN_HAS_ACS) e.acs = { cap: "SV|RR|CR|UF", ctrl: "SV|RR|CR|UF" };
        if (sriov) e.sriov = { totalVfs: sriov.numVfs, numVfs: sriov.numVfs, offset: sriov.offset, stride: sriov.stride, vfDeviceId: h4(sriov.vfDeviceId) };
        lines.push((first ? "" : ",\n") + JSON.stringify(e));
        first = false;
      }, seed);
      for (let k = 0; k < lines.length; k++) {
        buf += lines[k];
        if (buf.length > 1 << 20) await flush();
      }
      buf += "\n]}\n";
      await flush();
      if (o.output) await new Promise<void>((r) => (out as ReturnType<typeof createWriteStream>).end(() => r()));
    });
}
