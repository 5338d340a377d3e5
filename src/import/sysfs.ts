// sysfs input: a directory laid out like /sys/bus/pci/devices (one folder per function holding
// at least `config`), or /sys itself. `iommu_group` links are the kernel's answer, `driver`
// links the bound drivers; `sriov_*` files and `physfn` links describe SR-IOV when present.

import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { parseBdf } from "../pci/address.js";
import { decodeConfigSpace } from "../pci/config.js";
import type { HostInput, PciFunction } from "../pci/function.js";
import { InputError } from "./errors.js";

/** Resolves `/sys` (or a copy of it) to its bus/pci/devices folder. */
export function pciDevicesDir(dir: string): string {
  const nested = join(dir, "bus", "pci", "devices");
  return existsSync(nested) ? nested : dir;
}

export function readSysfs(dir: string): HostInput {
  if (!existsSync(dir)) throw new InputError("no such directory", dir);
  if (!statSync(dir).isDirectory()) throw new InputError("not a directory (--sysfs wants /sys or a folder like /sys/bus/pci/devices)", dir);
  const devices = pciDevicesDir(dir);
  const isLiveRoot = devices !== dir;
  const entries = readdirSync(devices).sort();
  const functions: PciFunction[] = [];
  const warnings: string[] = [];
  let hasKernelGroups = false;
  for (const name of entries) {
    const addr = parseBdf(name);
    const path = join(devices, name);
    if (!addr || !/^[0-9a-f]{4}:/i.test(name)) {
      if (statSync(path).isDirectory()) warnings.push(`${path}: not a PCI address (dddd:bb:dd.f), skipped`);
      continue;
    }
    const configPath = join(path, "config");
    if (!existsSync(configPath)) throw new InputError(`${name} has no config file`, path);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(configPath));
    } catch (e) {
      throw new InputError(`cannot read: ${(e as Error).message}`, configPath);
    }
    const fn = decodeConfigSpace(bytes, addr, { file: configPath }, { lengthIsKernelCfgSize: true });
    if (bytes.length === 64 && fn.hidden.length) fn.hidden.push("sysfs gives only the 64-byte header to non-root readers: run as root");
    const group = linkName(join(path, "iommu_group"));
    if (group !== null) {
      const n = Number(group);
      if (!Number.isInteger(n)) throw new InputError(`iommu_group link ends in "${group}", not a group number`, join(path, "iommu_group"));
      fn.kernelGroup = n;
      hasKernelGroups = true;
    }
    const driver = linkName(join(path, "driver"));
    if (driver !== null) fn.driver = driver;
    if (linkName(join(path, "physfn")) !== null) fn.isVirtfn = true;
    functions.push(fn);
  }
  if (!functions.length) throw new InputError("no PCI functions found (expected folders named dddd:bb:dd.f with a config file)", devices);
  const host: HostInput = { source: `sysfs:${dir}`, functions, acsCtrlIsLive: true, hasKernelGroups, warnings };
  if (isLiveRoot) {
    const rel = readText(join(dir, "..", "proc", "sys", "kernel", "osrelease")) ?? (dir === "/sys" ? readText("/proc/sys/kernel/osrelease") : null);
    if (rel) host.kernelRelease = rel;
    const iommus = existsSync(join(dir, "class", "iommu")) ? readdirSync(join(dir, "class", "iommu")) : [];
    if (iommus.some((n) => n.startsWith("dmar"))) host.iommu = "intel";
    else if (iommus.some((n) => n.startsWith("ivhd"))) host.iommu = "amd";
    else warnings.push("no IOMMU is active on this host (nothing in /sys/class/iommu): showing the groups the kernel would make with its IOMMU enabled");
  }
  return host;
}

/** Last element of a link's target; copies made without symlinks keep the target as file text. */
function linkName(path: string): string | null {
  try {
    return basename(readlinkSync(path));
  } catch {
    try {
      const text = readFileSync(path, "utf8").trim();
      return text && !text.includes("\n") ? basename(text) : null;
    } catch {
      return null;
    }
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}
