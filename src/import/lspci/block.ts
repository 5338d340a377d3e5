// One device block of an lspci dump: its device line, verbose facts and optional hex block.

import type { DeviceLine } from "./device-line.js";
import type { HexBlock } from "./hex.js";
import type { VerboseFacts } from "./verbose.js";

export interface DeviceBlock {
  device: DeviceLine;
  line: number;
  verbose: VerboseFacts;
  hex?: HexBlock;
  /** Group from an Arch-wiki style `IOMMU Group N:` header. */
  headerGroup?: number;
  /** A blank line (or the next device line) closed the block; false for a block cut by end of file. */
  terminated: boolean;
}
