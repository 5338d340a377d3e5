// `vfio-lab snapshot`: the live host (or a sysfs copy) saved into one JSON file that loads again
// with nothing lost: raw config space, drivers, the kernel's groups, kernel release and command line.

import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { z } from "zod";
import { parseBdf } from "../pci/address.js";
import { decodeConfigSpace } from "../pci/config.js";
import type { HostInput, PciFunction } from "../pci/function.js";
import { InputError } from "./errors.js";
import { pciDevicesDir, readSysfs } from "./sysfs.js";

export const SNAPSHOT_FORMAT = "vfio-lab-snapshot";

const snapshotSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    version: z.literal(1),
    taken: z.string(),
    hostname: z.string().optional(),
    kernelRelease: z.string().optional(),
    cmdline: z.string().optional(),
    iommu: z.enum(["intel", "amd", "none"]).optional(),
    functions: z
      .array(
        z
          .object({
            bdf: z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/),
            config: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64"),
            driver: z.string().optional(),
            iommuGroup: z.number().int().min(0).optional(),
            physfn: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type Snapshot = z.infer<typeof snapshotSchema>;

/** Reads a sysfs tree (default the live /sys) into a snapshot object. */
export function takeSnapshot(sysDir = "/sys"): Snapshot {
  const host = readSysfs(sysDir);
  const devices = pciDevicesDir(sysDir);
  const procDir = devices !== sysDir ? join(sysDir, "..", "proc") : null;
  const text = (p: string): string | undefined => {
    try {
      return readFileSync(p, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const snap: Snapshot = {
    format: SNAPSHOT_FORMAT, version: 1, taken: new Date().toISOString(), hostname: hostname(),
    functions: host.functions.map((f) => {
      const bdf = basename(f.source.file.replace(/\/config$/, ""));
      const entry: Snapshot["functions"][number] = { bdf, config: Buffer.from(f.config ?? new Uint8Array()).toString("base64") };
      if (f.driver) entry.driver = f.driver;
      if (f.kernelGroup !== undefined) entry.iommuGroup = f.kernelGroup;
      try {
        entry.physfn = basename(readlinkSync(join(devices, bdf, "physfn")));
      } catch {
        /* not a VF */
      }
      return entry;
    }),
  };
  const rel = host.kernelRelease ?? (procDir ? text(join(procDir, "sys", "kernel", "osrelease")) : undefined);
  if (rel) snap.kernelRelease = rel;
  const cmdline = sysDir === "/sys" ? text("/proc/cmdline") : procDir && existsSync(join(procDir, "cmdline")) ? text(join(procDir, "cmdline")) : undefined;
  if (cmdline) snap.cmdline = cmdline;
  if (host.iommu) snap.iommu = host.iommu;
  else if (devices !== sysDir && existsSync(join(sysDir, "class", "iommu")) && readdirSync(join(sysDir, "class", "iommu")).length === 0) snap.iommu = "none";
  return snap;
}

export function readSnapshot(file: string): HostInput {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(`not a snapshot (${(e as Error).message})`, file);
  }
  const parsed = snapshotSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${issue.path.join(".") || "(top)"}: ${issue.message}`, file);
  }
  const s = parsed.data;
  const functions: PciFunction[] = s.functions.map((f, k) => {
    const addr = parseBdf(f.bdf)!;
    const bytes = new Uint8Array(Buffer.from(f.config, "base64"));
    const fn = decodeConfigSpace(bytes, addr, { file: `${file}#functions[${k}]` }, { lengthIsKernelCfgSize: true });
    if (f.driver) fn.driver = f.driver;
    if (f.iommuGroup !== undefined) fn.kernelGroup = f.iommuGroup;
    if (f.physfn) fn.isVirtfn = true;
    return fn;
  });
  const host: HostInput = {
    source: `snapshot:${file}`, functions, acsCtrlIsLive: true, hasKernelGroups: functions.some((f) => f.kernelGroup !== undefined), warnings: [],
  };
  if (s.kernelRelease) host.kernelRelease = s.kernelRelease;
  if (s.iommu && s.iommu !== "none") host.iommu = s.iommu;
  if (s.iommu === "none") host.warnings.push("the snapshot's host ran without an IOMMU: showing the groups its kernel would make with the IOMMU enabled");
  if (s.cmdline) {
    host.settings = { cmdline: s.cmdline };
    if (/pcie_acs_override=/.test(s.cmdline)) host.warnings.push(`the host booted with ${s.cmdline.match(/pcie_acs_override=\S+/)![0]}: its kernel's groups include the override; ours are the unpatched kernel's (use --acs-override to compare)`);
  }
  return host;
}
