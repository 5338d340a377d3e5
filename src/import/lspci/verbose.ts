// Facts from the verbose (`-vv`/`-vvv`) lines of one device block (pci-topology.md §5–§9).

import { InputError } from "../errors.js";
import { expressTypeFromText } from "./express-type.js";

export interface TextPcie {
  offset: number;
  type?: number;
  typeText: string;
  version: number;
  slotImplemented: boolean;
  ariForwardingSupported: boolean;
  ariForwardingEnabled: boolean;
}

export interface TextSriov {
  offset: number;
  ctrl?: number;
  initialVfs?: number;
  totalVfs?: number;
  numVfs?: number;
  firstVfOffset?: number;
  vfStride?: number;
  vfDeviceId?: number;
}

type CapKind = "express" | "acs" | "ari" | "sriov" | "other";

export interface VerboseFacts {
  /** Count of verbose lines seen. */
  lines: number;
  bus?: { primary: number; secondary: number; subordinate: number; line: number };
  unknownHeaderType?: string;
  accessDenied: boolean;
  driver?: string;
  /** `Kernel driver in use` / `Kernel modules` close a verbose block: nothing was cut after them. */
  sawKernelLines: boolean;
  kernelGroup?: number;
  subsystem?: { vendor: number; device: number };
  pcie?: TextPcie;
  anyExtendedCap: boolean;
  acs?: { offset: number; cap?: number; ctrl?: number };
  ari?: { offset: number; nextFunction?: number };
  sriov?: TextSriov;
  capOffsets: Set<number>;
  currentCap: CapKind | null;
  currentRegister: string;
}

export function newVerboseFacts(): VerboseFacts {
  return { lines: 0, accessDenied: false, sawKernelLines: false, anyExtendedCap: false, capOffsets: new Set(), currentCap: null, currentRegister: "" };
}

const CAP_HEADER = /^Capabilities: \[([0-9a-fA-F]{2,3})(?: v\d+)?\] (.*)$/;
const EXPRESS = /^Express (?:\(v(\d+)\) )?(.*)$/;
const BUS_LINE = /^Bus: primary=([0-9a-fA-F]{2}), secondary=([0-9a-fA-F]{2}), subordinate=([0-9a-fA-F]{2})(?:,|$)/;
const ID_PAIR_AT_END = /\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*$/;
const ACS_WORDS = /\b(SrcValid|TransBlk|ReqRedir|CmpltRedir|UpstreamFwd|EgressCtrl|DirectTrans)([+-])/g;
const ACS_BIT: Record<string, number> = { SrcValid: 0x1, TransBlk: 0x2, ReqRedir: 0x4, CmpltRedir: 0x8, UpstreamFwd: 0x10, EgressCtrl: 0x20, DirectTrans: 0x40 };
const IOVCTL_WORDS = /\b(Enable|Migration|Interrupt|MSE|ARIHierarchy|10BitTagReq)([+-])/g;
const IOVCTL_BIT: Record<string, number> = { Enable: 0x1, Migration: 0x2, Interrupt: 0x4, MSE: 0x8, ARIHierarchy: 0x10, "10BitTagReq": 0x20 };
const VF_COUNTS = /Initial VFs: (\d+), Total VFs: (\d+), Number of VFs: (\d+)/;
const VF_LAYOUT = /VF offset: (\d+), stride: (\d+), Device ID: ([0-9a-fA-F]{4})/;

function wordBits(text: string, re: RegExp, bits: Record<string, number>): number | undefined {
  let value = 0;
  let seen = false;
  for (const m of text.matchAll(re)) {
    seen = true;
    if (m[2] === "+") value |= bits[m[1]!]!;
  }
  return seen ? value : undefined;
}

/** Feeds one tab-indented line (leading whitespace intact) of the current device block. */
export function addVerboseLine(f: VerboseFacts, raw: string, lineNo: number, file: string): void {
  f.lines++;
  let tabs = 0;
  while (raw.charCodeAt(tabs) === 9) tabs++;
  const text = raw.trim();
  if (tabs <= 1 && raw.charCodeAt(tabs) !== 32) {
    topLevelLine(f, text, lineNo, file);
    return;
  }
  // Register line (two tabs) or its continuation (three tabs, or tabs plus a space).
  const continuation = tabs >= 3 || raw.charCodeAt(tabs) === 32;
  if (!continuation) {
    const colon = /^([A-Za-z0-9]+):/.exec(text);
    f.currentRegister = colon ? colon[1]! : "";
  }
  capabilityBodyLine(f, text);
}

function topLevelLine(f: VerboseFacts, text: string, lineNo: number, file: string): void {
  f.currentCap = null;
  f.currentRegister = "";
  if (text.startsWith("Capabilities:")) {
    capabilityHeader(f, text, lineNo, file);
  } else if (text.startsWith("Bus:")) {
    const m = BUS_LINE.exec(text);
    if (!m) throw new InputError(`malformed bridge bus line "${text}" (expected primary=XX, secondary=XX, subordinate=XX in hex)`, file, lineNo);
    f.bus = { primary: parseInt(m[1]!, 16), secondary: parseInt(m[2]!, 16), subordinate: parseInt(m[3]!, 16), line: lineNo };
  } else if (text.startsWith("Subsystem:")) {
    const m = ID_PAIR_AT_END.exec(text);
    if (m) f.subsystem = { vendor: parseInt(m[1]!, 16), device: parseInt(m[2]!, 16) };
  } else if (text.startsWith("Kernel driver in use:")) {
    f.driver = text.slice("Kernel driver in use:".length).trim();
    f.sawKernelLines = true;
  } else if (text.startsWith("Kernel modules:")) {
    f.sawKernelLines = true;
  } else if (text.startsWith("IOMMU group:")) {
    const n = /^IOMMU group: (\d+)$/.exec(text);
    if (n) f.kernelGroup = parseInt(n[1]!, 10);
  } else if (text.startsWith("Flags:")) {
    const n = /IOMMU group (\d+)/.exec(text);
    if (n) f.kernelGroup = parseInt(n[1]!, 10);
  } else if (text.startsWith("!!! Unknown header type")) {
    f.unknownHeaderType = text.slice("!!! Unknown header type".length).trim();
  }
}

function capabilityHeader(f: VerboseFacts, text: string, lineNo: number, file: string): void {
  if (text.includes("<access denied>")) {
    f.accessDenied = true;
    return;
  }
  const m = CAP_HEADER.exec(text);
  if (!m) return; // <chain broken>, <chain looped>, unknown forms: not grouping facts
  const offset = parseInt(m[1]!, 16);
  if (f.capOffsets.has(offset)) throw new InputError(`capability at [${m[1]}] listed twice for one device`, file, lineNo);
  f.capOffsets.add(offset);
  const name = m[2]!;
  if (offset >= 0x100) f.anyExtendedCap = true;
  f.currentCap = "other";
  const express = offset < 0x100 ? EXPRESS.exec(name) : null;
  if (express) {
    if (f.pcie) return; // the kernel uses the first capability 0x10
    const comma = express[2]!.indexOf(", ");
    const typeText = comma >= 0 ? express[2]!.slice(0, comma) : express[2]!;
    f.pcie = {
      offset, typeText, version: express[1] ? parseInt(express[1], 10) : 0, slotImplemented: typeText.includes("(Slot+)"),
      ariForwardingSupported: false, ariForwardingEnabled: false,
    };
    const type = expressTypeFromText(typeText);
    if (type !== undefined) f.pcie.type = type;
    f.currentCap = "express";
  } else if (offset < 0x100 && name.startsWith("Subsystem:")) {
    // Type 1 bridges: SSVID capability (0x0d) carries the subsystem IDs.
    const ids = ID_PAIR_AT_END.exec(name);
    if (ids && !f.subsystem) f.subsystem = { vendor: parseInt(ids[1]!, 16), device: parseInt(ids[2]!, 16) };
  } else if (offset >= 0x100 && name.startsWith("Access Control Services")) {
    if (!f.acs) {
      f.acs = { offset };
      f.currentCap = "acs";
    }
  } else if (offset >= 0x100 && name.startsWith("Alternative Routing-ID Interpretation")) {
    if (!f.ari) {
      f.ari = { offset };
      f.currentCap = "ari";
    }
  } else if (offset >= 0x100 && name.startsWith("Single Root I/O Virtualization")) {
    if (!f.sriov) {
      f.sriov = { offset };
      f.currentCap = "sriov";
    }
  }
}

function capabilityBodyLine(f: VerboseFacts, text: string): void {
  switch (f.currentCap) {
    case "express": {
      const pcie = f.pcie!;
      const fwd = /\bARIFwd([+-])/.exec(text);
      if (!fwd) return;
      if (f.currentRegister === "DevCap2") pcie.ariForwardingSupported = fwd[1] === "+";
      else if (f.currentRegister === "DevCtl2") pcie.ariForwardingEnabled = fwd[1] === "+";
      return;
    }
    case "acs": {
      const acs = f.acs!;
      if (f.currentRegister === "ACSCap") acs.cap = wordBits(text, ACS_WORDS, ACS_BIT) ?? acs.cap;
      else if (f.currentRegister === "ACSCtl") acs.ctrl = wordBits(text, ACS_WORDS, ACS_BIT) ?? acs.ctrl;
      return;
    }
    case "ari": {
      const next = /Next Function: (\d+)/.exec(text);
      if (next && f.currentRegister === "ARICap") f.ari!.nextFunction = parseInt(next[1]!, 10) & 0xff;
      return;
    }
    case "sriov": {
      const s = f.sriov!;
      if (f.currentRegister === "IOVCtl") s.ctrl = wordBits(text, IOVCTL_WORDS, IOVCTL_BIT) ?? s.ctrl;
      const counts = VF_COUNTS.exec(text);
      if (counts) {
        s.initialVfs = parseInt(counts[1]!, 10);
        s.totalVfs = parseInt(counts[2]!, 10);
        s.numVfs = parseInt(counts[3]!, 10);
      }
      const layout = VF_LAYOUT.exec(text);
      if (layout) {
        s.firstVfOffset = parseInt(layout[1]!, 10);
        s.vfStride = parseInt(layout[2]!, 10);
        s.vfDeviceId = parseInt(layout[3]!, 16);
      }
      return;
    }
    default:
      return;
  }
}
