// Maps failures to exit statuses: 2 for bad input (message names file and line), 1 otherwise.

import { CommanderError } from "commander";
import { InputError } from "../import/errors.js";
import { TopologyError } from "../pci/topology.js";
import { GroupingError } from "../groups/compute.js";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function exitStatusFor(e: unknown): { status: number; message: string | null } {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return { status: 0, message: null };
    return { status: 2, message: null }; // commander already printed the usage error
  }
  if (e instanceof InputError || e instanceof UsageError || e instanceof GroupingError) return { status: 2, message: e.message };
  if (e instanceof TopologyError) {
    const where = e.file ? `${e.file}${e.line !== undefined ? `:${e.line}` : ""}: ` : "";
    return { status: 2, message: `${where}${e.message}` };
  }
  const err = e as Error;
  return { status: 1, message: `internal error: ${err?.message ?? String(e)}${process.env.VFIO_LAB_DEBUG ? `\n${err?.stack}` : " (set VFIO_LAB_DEBUG=1 for details)"}` };
}
