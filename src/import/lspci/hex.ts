// Hex blocks of `lspci -x/-xxx/-xxxx`: `OO: xx xx ... xx`, 16 bytes per line, offsets 00: to ff0:.

export const HEX_LINE = /^([0-9a-fA-F]{2,3}):(.*)$/;
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
  // " xx" sixteen times; scanned by hand (a 4096-byte block is 256 lines per device).
  const text = body.trimEnd();
  if (text.length !== 48) return `hex line at offset ${offsetText} has ${text.trim() === "" ? 0 : text.trim().split(/\s+/).length} bytes, expected 16`;
  for (let i = 0; i < 48; i += 3) {
    const hi = hexDigit(text.charCodeAt(i + 1));
    const lo = hexDigit(text.charCodeAt(i + 2));
    if (text.charCodeAt(i) !== 32 || hi < 0 || lo < 0) return `hex line at offset ${offsetText}: "${text.slice(i, i + 3).trim()}" is not a hex byte`;
    block.bytes.push((hi << 4) | lo);
  }
  if (block.bytes.length > 4096) return "hex block longer than 4096 bytes";
  return undefined;
}

/** Checks the finished block's length (64, 256 or 4096 bytes). */
export function hexBlockError(block: HexBlock): string | undefined {
  if (VALID_LENGTHS.includes(block.bytes.length)) return undefined;
  return `hex block of ${block.bytes.length} bytes (lines ${block.firstLine}–${block.lastLine}); lspci prints 64, 256 or 4096: truncated?`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
