// vfio-lab command line: parse, call the library, print. Exit 0 on success, 2 on bad input.

import { Command } from "commander";
import { exitStatusFor } from "./errors.js";
import { registerGroupsCommand } from "./groups.js";
import { registerReplayCommand } from "./replay.js";
import { registerSnapshotCommand } from "./snapshot.js";
import { registerSynthCommand } from "./synth.js";

export async function main(argv: string[]): Promise<number> {
  const out = (s: string): void => {
    process.stdout.write(s + "\n");
  };
  const program = new Command("vfio-lab")
    .description("Linux VFIO device assignment in software: IOMMU groups exactly as the kernel computes them, and why")
    .version("0.1.0")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerGroupsCommand(program, out);
  registerSnapshotCommand(program, out);
  registerSynthCommand(program);
  registerReplayCommand(program);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    const { status, message } = exitStatusFor(e);
    if (message) process.stderr.write(`vfio-lab: ${message}\n`);
    return status;
  }
}
