// Importer for `lspci -vvvnn` text, with or without -D and -x/-xxx/-xxxx hex blocks, and for the
// Arch-wiki script's `IOMMU Group N:` listing (pci-topology.md §9, iommu-groups.md §11).

import { formatBdf } from "../pci/address.js";
import type { HostInput, PciFunction } from "../pci/function.js";
import { InputError } from "./errors.js";
import type { DeviceBlock } from "./lspci/block.js";
import { buildFunction } from "./lspci/build.js";
import { looksLikeDeviceLine, parseDeviceLine } from "./lspci/device-line.js";
import { addHexLine, HEX_LINE } from "./lspci/hex.js";
import { resolveTruncatedIds } from "./lspci/truncated-ids.js";
import { addVerboseLine, newVerboseFacts } from "./lspci/verbose.js";

// Control characters other than tab/CR/LF, DEL, and U+FFFD (bytes that were not UTF-8).
// eslint-disable-next-line no-control-regex -- detecting control characters is the point
const BINARY = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]/;
const GROUP_HEADER = /^IOMMU Group (\d+):?\s*(.*)$/i;

export function parseLspci(text: string, file: string): HostInput {
  rejectBinary(text, file);
  const lines = text.split("\n");
  const warnings: string[] = [];
  const blocks: DeviceBlock[] = [];
  const seen = new Map<string, number>();
  let current: DeviceBlock | null = null;
  let afterBlank = true;
  let headerGroup: number | undefined;
  let hasKernelGroups = false;
  let pcilibNoise = 0;
  let brokenLines = 0;
  let rejoined = 0;
  let preamble = 0;

  const closeBlock = (): void => {
    if (current) current.terminated = true;
    current = null;
  };
  const startBlock = (deviceText: string, lineNo: number): void => {
    closeBlock();
    const device = parseDeviceLine(deviceText);
    if (typeof device === "string") throw new InputError(device, file, lineNo);
    const key = formatBdf(device.addr.domain, device.addr.bus, device.addr.devfn);
    const first = seen.get(key);
    if (first !== undefined) throw new InputError(`device ${key} listed twice (first at line ${first})`, file, lineNo);
    seen.set(key, lineNo);
    current = { device, line: lineNo, verbose: newVerboseFacts(), terminated: false };
    if (headerGroup !== undefined) current.headerGroup = headerGroup;
    blocks.push(current);
  };

  // The text after the last newline is a line only when non-empty.
  const count = lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
  for (let i = 0; i < count; i++) {
    const lineNo = i + 1;
    let raw = stripCr(lines[i]!);
    const noise = raw.indexOf("pcilib:");
    if (noise >= 0) {
      // Stray stderr spliced into a line: drop it to the end of the line (pci-topology.md §9);
      // the broken line's rest follows on the next line without indentation: join it back.
      pcilibNoise++;
      raw = raw.slice(0, noise);
      const next = i + 1 < count ? stripCr(lines[i + 1]!) : "";
      if (raw.trim() !== "" && next !== "" && next[0] !== "\t" && !next.includes("pcilib:") && !looksLikeDeviceLine(next)) {
        raw += next;
        i++;
        rejoined++;
      }
      if (raw.trim() === "") continue;
    }
    if (raw.trim() === "") {
      closeBlock();
      afterBlank = true;
      continue;
    }
    const block = current as DeviceBlock | null;
    if (raw[0] === "\t" || raw[0] === " ") {
      const trimmed = raw.trim();
      if (headerGroup !== undefined && looksLikeDeviceLine(trimmed)) startBlock(trimmed, lineNo);
      else if (block) addVerboseLine(block.verbose, raw, lineNo, file);
      else if (blocks.length === 0 && raw[0] === " ") preamble++;
      else throw new InputError("indented line outside a device block", file, lineNo);
      afterBlank = false;
      continue;
    }
    const group = GROUP_HEADER.exec(raw);
    if (group) {
      headerGroup = parseInt(group[1]!, 10);
      hasKernelGroups = true;
      closeBlock();
      if (group[2] && looksLikeDeviceLine(group[2])) startBlock(group[2], lineNo);
      afterBlank = false;
      continue;
    }
    if (looksLikeDeviceLine(raw)) {
      startBlock(raw, lineNo);
      afterBlank = false;
      continue;
    }
    const hex = HEX_LINE.exec(raw);
    if (hex) {
      if (!block) throw new InputError("hex line outside a device block", file, lineNo);
      block.hex ??= { bytes: [], firstLine: lineNo, lastLine: lineNo };
      block.hex.lastLine = lineNo;
      const err = addHexLine(block.hex, hex[1]!, hex[2]!);
      if (err) throw new InputError(err, file, lineNo);
      afterBlank = false;
      continue;
    }
    if (block && !afterBlank && !block.hex) brokenLines++; // rest of a line broken by stray stderr
    else if (blocks.length === 0) preamble++;
    else throw new InputError(`expected a device line ("BB:DD.F CLASS [cccc]: ...") but found "${raw.slice(0, 40)}"`, file, lineNo);
    afterBlank = false;
  }
  if (blocks.length === 0) throw new InputError("no lspci device line found (expected lines like \"00:00.0 Host bridge [0600]: ...\")", file, 1);
  const functions: PciFunction[] = blocks.map((b) => buildFunction(b, file));
  resolveTruncatedIds(blocks, functions, warnings);
  for (const f of functions) if (f.kernelGroup !== undefined) hasKernelGroups = true;
  if (pcilibNoise) warnings.push(`skipped ${pcilibNoise} stray "pcilib:" message(s) spliced into the text (${rejoined} broken line(s) joined back)`);
  if (brokenLines) warnings.push(`skipped ${brokenLines} untabbed line(s) inside device blocks (rest of lines broken by stray stderr)`);
  if (preamble) warnings.push(`skipped ${preamble} line(s) before the first device line`);
  return { source: `lspci:${file}`, functions, acsCtrlIsLive: true, hasKernelGroups, warnings };
}

const stripCr = (line: string): string => (line.endsWith("\r") ? line.slice(0, -1) : line);

function rejectBinary(text: string, file: string): void {
  const m = BINARY.exec(text);
  if (!m) return;
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < m.index; i = text.indexOf("\n", i + 1)) line++;
  const code = m[0].charCodeAt(0);
  const what = code === 0 ? "NUL byte" : code === 0xfffd ? "bytes that are not UTF-8 text" : `control character 0x${code.toString(16)}`;
  throw new InputError(`binary data in an lspci dump (${what})`, file, line);
}
