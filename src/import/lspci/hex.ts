// Hex blocks of `lspci -x/-xxx/-xxxx`: `OO: xx xx ... xx`, 16 bytes per line, offsets 00: to ff0:.

export const HEX_LINE = /^([0-9a-fA-F]{2,3}):(.*)$/;
const HEX_BYTE = /^[0-9a-fA-F]{2}$/;
const VALID_LENGTHS = [64, 256, 4096];

export interface HexBlock {
  bytes: number[];
  firstLine: number;
  lastLine: number;
}

/** Appends one hex line to the block; a string result is the error message. */
export function addHexLine(block: HexBlock, offsetText: string, body: string): string | undefined {
  const offset = parseInt(offsetText, 16);
  if (offset !== block.bytes.length) {
    return `hex line at offset ${offsetText}: expected offset ${block.bytes.length.toString(16).padStart(2, "0")} (lines missing or out of order)`;
  }
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 16) return `hex line at offset ${offsetText} has ${body.trim() === "" ? 0 : parts.length} bytes, expected 16`;
  for (const p of parts) {
    if (!HEX_BYTE.test(p)) return `hex line at offset ${offsetText}: "${p}" is not a hex byte`;
    block.bytes.push(parseInt(p, 16));
  }
  if (block.bytes.length > 4096) return "hex block longer than 4096 bytes";
  return undefined;
}

/** Checks the finished block's length (64, 256 or 4096 bytes). */
export function hexBlockError(block: HexBlock): string | undefined {
  if (VALID_LENGTHS.includes(block.bytes.length)) return undefined;
  return `hex block of ${block.bytes.length} bytes (lines ${block.firstLine}–${block.lastLine}); lspci prints 64, 256 or 4096: truncated?`;
}
