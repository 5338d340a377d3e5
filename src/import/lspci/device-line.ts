// The device line of `lspci -nn`: `[DDDD:]BB:DD.F CLASS [cccc]: VENDOR DEVICE [vvvv:dddd] (rev rr) (prog-if pp [..])`
// (pci-topology.md §9).

import { parseBdf, type PciAddress } from "../../pci/address.js";

export interface DeviceLine {
  addr: PciAddress;
  /** 16-bit class (base, sub) from `[cccc]`; undefined when lspci ran without -nn. */
  classWord?: number;
  progIf: number;
  revision: number;
  /** Undefined when the line carries no complete `[vvvv:dddd]` (lspci truncated the name). */
  vendor?: number;
  device?: number;
  /** The hex digits lspci kept of a truncated `[vvvv:dddd]`, e.g. "808". */
  truncatedIdPrefix?: string;
  className?: string;
  /** Vendor and device names as one text (lspci -nn does not separate them). */
  names: string;
  line: string;
}

const ADDRESS_TOKEN = /^[0-9a-zA-Z]{1,4}(?::[0-9a-zA-Z]{1,4}){1,2}\.\S*$/;
const CLASS_PART = /^(.*?) \[([0-9a-fA-F]{4})\]: (.*)$/;
const NO_NN_CLASS = /^([^:]*): (.*)$/;
const PROG_IF = / \(prog-if ([0-9a-fA-F]{2})(?: \[[^\]]*\])?\)$/;
const REV = / \(rev ([0-9a-fA-F]{2})\)$/;
const ID_PAIR = / ?\[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]$/;
const TRUNCATED_ID = / ?\[([0-9a-fA-F]{0,4}):?([0-9a-fA-F]{0,3})\.\.\.?$/;

/** True when a top-level line starts with something shaped like a PCI address (`xx:yy.z`) and a space. */
export function looksLikeDeviceLine(text: string): boolean {
  const sp = text.indexOf(" ");
  if (sp < 0) return false;
  return ADDRESS_TOKEN.test(text.slice(0, sp));
}

/** Parses a device line; a string result is the error message (malformed address). */
export function parseDeviceLine(text: string): DeviceLine | string {
  const sp = text.indexOf(" ");
  const addrText = text.slice(0, sp);
  const addr = parseBdf(addrText);
  if (!addr) return `malformed PCI address "${addrText}" on a device line`;
  let rest = text.slice(sp + 1);
  const out: DeviceLine = { addr, progIf: 0, revision: 0, names: "", line: text };
  const cls = CLASS_PART.exec(rest);
  if (cls) {
    out.className = cls[1];
    out.classWord = parseInt(cls[2]!, 16);
    rest = cls[3]!;
  } else {
    const plain = NO_NN_CLASS.exec(rest);
    if (plain) {
      out.className = plain[1];
      rest = plain[2]!;
    }
  }
  const progIf = PROG_IF.exec(rest);
  if (progIf) {
    out.progIf = parseInt(progIf[1]!, 16);
    rest = rest.slice(0, progIf.index);
  }
  const rev = REV.exec(rest);
  if (rev) {
    out.revision = parseInt(rev[1]!, 16);
    rest = rest.slice(0, rev.index);
  }
  const ids = ID_PAIR.exec(rest);
  if (ids) {
    out.vendor = parseInt(ids[1]!, 16);
    out.device = parseInt(ids[2]!, 16);
    rest = rest.slice(0, ids.index);
  } else {
    const cut = TRUNCATED_ID.exec(rest);
    if (cut) {
      out.truncatedIdPrefix = cut[1]!;
      rest = rest.slice(0, cut.index);
    }
  }
  out.names = rest.trim();
  return out;
}
