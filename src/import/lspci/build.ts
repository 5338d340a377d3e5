// Turns one device block into a PciFunction: hex (the truth where present) first, then the
// verbose text for what a 64- or 256-byte hex block lacks, or for everything without hex.

import {
  decodeConfigSpace, HIDDEN_CAPS_BEYOND_HEADER, HIDDEN_NO_EXTENDED_CAPS,
} from "../../pci/config.js";
import { emptyFunction, type PciFunction, type SriovInfo } from "../../pci/function.js";
import { InputError } from "../errors.js";
import type { DeviceBlock } from "./block.js";
import { hexBlockError } from "./hex.js";
import type { VerboseFacts } from "./verbose.js";

export const HIDDEN_ACCESS_DENIED = "capabilities hidden: lspci run without root";
export const HIDDEN_NO_EXT_VISIBLE = "extended capabilities not visible (device in D3 or link down when lspci ran?)";
export const HIDDEN_NO_VERBOSE = "no verbose lspci text for this function: capabilities unknown";

export function buildFunction(block: DeviceBlock, file: string): PciFunction {
  const { device, verbose } = block;
  const source = { file, line: block.line };
  let fn: PciFunction;
  if (block.hex) {
    const err = hexBlockError(block.hex);
    if (err) throw new InputError(err, file, block.hex.lastLine);
    fn = decodeConfigSpace(Uint8Array.from(block.hex.bytes), device.addr, source);
    checkHexAgainstText(fn, block, file);
    if (verbose.lines > 0 && fn.headerType >= 0) fillFromText(fn, block.hex.bytes.length, verbose);
  } else {
    if (device.classWord === undefined) {
      throw new InputError("device line without numeric IDs ([cccc] class, [vvvv:dddd]): run lspci with -nn", file, block.line);
    }
    fn = emptyFunction(device.addr.domain, device.addr.bus, device.addr.devfn, source);
    fn.vendor = device.vendor ?? 0xffff;
    fn.device = device.device ?? 0xffff;
    fn.classCode = (device.classWord << 8) | device.progIf;
    fn.revision = device.revision;
    headerFromText(fn, verbose);
    if (fn.headerType >= 0) {
      if (verbose.lines === 0) fn.hidden.push(HIDDEN_NO_VERBOSE);
      else fillFromText(fn, 0, verbose);
    }
  }
  // lspci -nn prints vendor and device names as one text: kept whole in names.device.
  fn.names = { line: device.line, device: device.names };
  if (device.className !== undefined) fn.names.className = device.className;
  if (verbose.driver !== undefined) fn.driver = verbose.driver;
  const group = block.headerGroup ?? verbose.kernelGroup;
  if (group !== undefined) fn.kernelGroup = group;
  if (!block.terminated && !verbose.sawKernelLines && !block.hex && verbose.lines > 0 && !verbose.accessDenied && fn.headerType >= 0) {
    fn.hidden.push("dump ends inside this device's block: capability lines after the cut are missing");
  }
  return fn;
}

function headerFromText(fn: PciFunction, verbose: VerboseFacts): void {
  if (verbose.unknownHeaderType !== undefined) {
    fn.headerType = -1;
    fn.hidden.push(`config space unreadable when lspci ran (!!! Unknown header type ${verbose.unknownHeaderType}): header and capabilities unknown`);
    return;
  }
  if (verbose.bus) {
    // lspci prints the Bus: line for type 1 and CardBus (class 0607) headers.
    fn.headerType = fn.classCode >>> 8 === 0x0607 ? 2 : 1;
    if (fn.headerType === 1) {
      fn.primaryBus = verbose.bus.primary;
      fn.secondaryBus = verbose.bus.secondary;
      fn.subordinateBus = verbose.bus.subordinate;
    }
  }
  if (verbose.subsystem) {
    fn.subsystemVendor = verbose.subsystem.vendor;
    fn.subsystemDevice = verbose.subsystem.device;
  }
}

/** A hex block and the text printed from it must agree on the bridge bus numbers. */
function checkHexAgainstText(fn: PciFunction, block: DeviceBlock, file: string): void {
  const bus = block.verbose.bus;
  if (!bus || fn.headerType !== 1) return;
  if (bus.primary !== fn.primaryBus || bus.secondary !== fn.secondaryBus || bus.subordinate !== fn.subordinateBus) {
    throw new InputError("Bus: line contradicts the hex block's bus numbers (bytes 0x18-0x1a)", file, bus.line);
  }
}

/** Capabilities from the text: all of them (hexLength 0), or what 64/256 hex bytes lack. */
function fillFromText(fn: PciFunction, hexLength: number, v: VerboseFacts): void {
  if (hexLength >= 4096) return;
  if (hexLength < 256) {
    if (hexLength === 64) removeHidden(fn, HIDDEN_CAPS_BEYOND_HEADER);
    if (v.accessDenied) {
      const port = v.driver === "pcieport" ? " (Kernel driver in use: pcieport: a PCIe port of unknown type, ACS unknown)" : "";
      fn.hidden.push(HIDDEN_ACCESS_DENIED + port);
      return;
    }
    if (v.pcie) {
      fn.pcie = {
        offset: v.pcie.offset, type: v.pcie.type ?? 0, version: v.pcie.version, slotImplemented: v.pcie.slotImplemented,
        ariForwardingSupported: v.pcie.ariForwardingSupported, ariForwardingEnabled: v.pcie.ariForwardingEnabled,
      };
      if (v.pcie.type === undefined) fn.hidden.push(`PCIe port type "${v.pcie.typeText}" not recognised`);
    }
  }
  removeHidden(fn, HIDDEN_NO_EXTENDED_CAPS);
  if (v.accessDenied) return;
  if (fn.pcie && !v.anyExtendedCap) {
    fn.hidden.push(HIDDEN_NO_EXT_VISIBLE);
    return;
  }
  if (v.acs) {
    fn.acs = { offset: v.acs.offset, cap: v.acs.cap ?? 0, ctrl: v.acs.ctrl ?? 0 };
    if (v.acs.cap === undefined || v.acs.ctrl === undefined) fn.hidden.push("ACS capability listed without its ACSCap/ACSCtl lines");
  }
  if (v.ari) {
    fn.ari = { offset: v.ari.offset, nextFunction: v.ari.nextFunction ?? 0 };
    if (v.ari.nextFunction === undefined) fn.hidden.push("ARI capability listed without its ARICap line");
  }
  if (v.sriov) fn.sriov = sriovFromText(fn, v);
}

function sriovFromText(fn: PciFunction, v: VerboseFacts): SriovInfo {
  const s = v.sriov!;
  const complete = s.ctrl !== undefined && s.numVfs !== undefined && s.firstVfOffset !== undefined;
  if (!complete) fn.hidden.push("SR-IOV capability listed without its IOVCtl / VF count / VF offset lines");
  const u16 = (n: number | undefined): number => (n !== undefined && n <= 0xffff ? n : 0);
  if ([s.initialVfs, s.totalVfs, s.numVfs, s.firstVfOffset, s.vfStride].some((n) => n !== undefined && n > 0xffff)) {
    throw new InputError("SR-IOV value out of range (16-bit register)", fn.source.file, fn.source.line);
  }
  return {
    offset: s.offset, ctrl: s.ctrl ?? 0, initialVfs: u16(s.initialVfs), totalVfs: u16(s.totalVfs), numVfs: u16(s.numVfs),
    firstVfOffset: u16(s.firstVfOffset), vfStride: u16(s.vfStride), vfDeviceId: s.vfDeviceId ?? 0xffff,
  };
}

function removeHidden(fn: PciFunction, reason: string): void {
  const i = fn.hidden.indexOf(reason);
  if (i >= 0) fn.hidden.splice(i, 1);
}
