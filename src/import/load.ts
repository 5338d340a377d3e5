// One entry for every host source the commands accept.

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { HostInput } from "../pci/function.js";
import { InputError } from "./errors.js";
import { parseLspci } from "./lspci.js";
import { readSnapshot } from "./snapshot.js";
import { readSysfs } from "./sysfs.js";
import { readTopologyFile } from "./topology-file.js";

export interface LoadOptions {
  lspci?: string;
  sysfs?: string;
  topology?: string;
  snapshot?: string;
  sample?: boolean;
}

export const SAMPLE_HOST_PATH = fileURLToPath(new URL("../../../fixtures/sample/host.yaml", import.meta.url));

export function loadHost(opts: LoadOptions): HostInput {
  const given = (["lspci", "sysfs", "topology", "snapshot"] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 1) throw new InputError(`give one source, not ${given.map((g) => `--${g}`).join(" and ")}`, "command line");
  if (opts.lspci !== undefined) {
    const file = opts.lspci;
    let text: string;
    try {
      text = file === "-" ? readFileSync(0, "latin1") : readFileSync(file, "latin1");
    } catch (e) {
      throw new InputError(`cannot read: ${(e as Error).message}`, file);
    }
    return parseLspci(text, file === "-" ? "stdin" : file);
  }
  if (opts.sysfs !== undefined) return readSysfs(opts.sysfs);
  if (opts.topology !== undefined) return readTopologyFile(opts.topology);
  if (opts.snapshot !== undefined) return readSnapshot(opts.snapshot);
  if (!opts.sample && liveSysfsHasDevices()) return readSysfs("/sys");
  const host = readTopologyFile(SAMPLE_HOST_PATH);
  host.source = "sample";
  return host;
}

export function liveSysfsHasDevices(): boolean {
  try {
    return readdirSync("/sys/bus/pci/devices").length > 0;
  } catch {
    return false;
  }
}
