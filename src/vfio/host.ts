// The host as VFIO sees it: PCI functions with config bytes, IOMMU groups, boot-time drivers.
// This adapter is the only place that touches the host-model API of src/import / src/groups
// (see fromHostInput); the replay host's sysfs can also be read directly (loadSysfsHost).

import { readdirSync, readFileSync, readlinkSync, lstatSync, existsSync } from "node:fs";
import { join, basename } from "node:path";
import type { HostInput, PciFunction } from "../pci/function.js";
import { loadHost } from "../import/load.js";
import { computeGroups } from "../groups/compute.js";
import { cfg8, cfg16, decodeSriov } from "./pci-config.js";

export interface HostDevice {
  /** Index in VfioHost.devices. */
  readonly index: number;
  readonly bdf: string;
  readonly domain: number;
  readonly bus: number;
  readonly devfn: number;
  readonly vendor: number;
  readonly device: number;
  readonly classCode: number;
  /** Header layout (bit 7, multifunction, removed). */
  readonly headerType: number;
  readonly config: Uint8Array;
  /** Config space size the kernel exposes: 4096 for PCIe, 256 otherwise. */
  readonly cfgSize: number;
  readonly isVirtfn: boolean;
  readonly physfn: string | null;
  /** IOMMU group number, -1 when the device has none. */
  readonly group: number;
  readonly bootDriver: string | null;
}

export interface VfioHost {
  readonly source: string;
  readonly devices: readonly HostDevice[];
  readonly byBdf: ReadonlyMap<string, HostDevice>;
  /** IOMMU group number → member devices, in BDF order. */
  readonly groups: ReadonlyMap<number, readonly HostDevice[]>;
}

export interface RawFunction {
  bdf: string;
  config: Uint8Array;
  group: number;
  driver: string | null;
  vendor?: number;
  device?: number;
  isVirtfn?: boolean;
  physfn?: string | null;
}

const BDF_RE = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/;

export function parseBdfStrict(s: string): { domain: number; bus: number; devfn: number } | null {
  const m = BDF_RE.exec(s);
  if (!m) return null;
  const slot = parseInt(m[3]!, 16);
  if (slot > 0x1f) return null;
  return { domain: parseInt(m[1]!, 16), bus: parseInt(m[2]!, 16), devfn: (slot << 3) | parseInt(m[4]!, 10) };
}

export function formatBdf(domain: number, bus: number, devfn: number): string {
  return `${domain.toString(16).padStart(4, "0")}:${bus.toString(16).padStart(2, "0")}:${(devfn >> 3)
    .toString(16).padStart(2, "0")}.${devfn & 7}`;
}

/** Builds the host from raw functions: resolves VFs (IDs from the PF's SR-IOV capability). */
export function buildHost(source: string, raws: RawFunction[]): VfioHost {
  raws.sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0));
  const rawBy = new Map(raws.map((r) => [r.bdf, r]));
  // VF resolution: PF with SR-IOV enabled → its VFs' BDFs.
  const vfOf = new Map<string, { pf: RawFunction; vfDevice: number }>();
  for (const r of raws) {
    const s = decodeSriov(r.config);
    if (!s || !(s.ctrl & 1) || s.numVfs === 0) continue;
    const p = parseBdfStrict(r.bdf)!;
    const rid0 = (p.bus << 8) | p.devfn;
    for (let i = 0; i < s.numVfs; i++) {
      const rid = rid0 + s.firstVfOffset + i * s.vfStride;
      vfOf.set(formatBdf(p.domain, (rid >> 8) & 0xff, rid & 0xff), { pf: r, vfDevice: s.vfDeviceId });
    }
  }
  const devices: HostDevice[] = [];
  for (const r of raws) {
    const p = parseBdfStrict(r.bdf);
    if (!p) continue;
    const vf = vfOf.get(r.bdf);
    const c = r.config;
    const isVirtfn = r.isVirtfn ?? vf !== undefined;
    const pf = r.physfn ?? (vf ? vf.pf.bdf : null);
    const pfRaw = pf ? rawBy.get(pf) : undefined;
    const vendor = isVirtfn && pfRaw ? cfg16(pfRaw.config, 0) : r.vendor ?? cfg16(c, 0);
    const device = isVirtfn ? (vf ? vf.vfDevice : r.device ?? cfg16(c, 2)) : r.device ?? cfg16(c, 2);
    const classCode = (cfg8(c, 0x0b) << 16) | (cfg8(c, 0x0a) << 8) | cfg8(c, 0x09);
    devices.push({
      index: devices.length,
      bdf: r.bdf,
      domain: p.domain,
      bus: p.bus,
      devfn: p.devfn,
      vendor,
      device,
      classCode,
      headerType: cfg8(c, 0x0e) & 0x7f,
      config: c,
      cfgSize: c.length > 256 ? 4096 : 256,
      isVirtfn,
      physfn: isVirtfn ? pf : null,
      group: r.group,
      bootDriver: r.driver,
    });
  }
  const groups = new Map<number, HostDevice[]>();
  for (const d of devices) {
    if (d.group < 0) continue;
    let g = groups.get(d.group);
    if (!g) groups.set(d.group, (g = []));
    g.push(d);
  }
  return { source, devices, byBdf: new Map(devices.map((d) => [d.bdf, d])), groups };
}

function linkBase(path: string): string | null {
  if (!existsSync(path)) {
    try {
      lstatSync(path);
    } catch {
      return null;
    }
  }
  let target: string;
  try {
    target = lstatSync(path).isSymbolicLink() ? readlinkSync(path) : readFileSync(path, "utf8");
  } catch {
    return null;
  }
  target = target.trim();
  return target ? basename(target) : null;
}

/** Reads a sysfs-like folder: one folder per function with `config`, `iommu_group`, `driver`. */
export function loadSysfsHost(dir: string): VfioHost {
  const raws: RawFunction[] = [];
  for (const name of readdirSync(dir)) {
    if (!parseBdfStrict(name)) continue;
    const fdir = join(dir, name);
    let config: Uint8Array;
    try {
      config = new Uint8Array(readFileSync(join(fdir, "config")));
    } catch {
      continue;
    }
    const g = linkBase(join(fdir, "iommu_group"));
    const physfn = linkBase(join(fdir, "physfn"));
    raws.push({
      bdf: name,
      config,
      group: g !== null && /^\d+$/.test(g) ? Number(g) : -1,
      driver: linkBase(join(fdir, "driver")),
      ...(physfn ? { physfn, isVirtfn: true } : {}),
    });
  }
  if (raws.length === 0) throw new Error(`${dir}: no PCI functions (folders named dddd:bb:dd.f with a config file)`);
  return buildHost(`sysfs:${dir}`, raws);
}

/**
 * Adapter to the host model of src/import + src/groups: functions as HostInput / GroupingResult
 * give them (config bytes, boot-time driver, VF resolution), groups as computeGroups numbers them.
 */
export function fromHostInput(
  host: HostInput,
  grouping: { groups: readonly { id: number; devices: readonly string[] }[]; functions?: readonly PciFunction[] },
): VfioHost {
  const groupOf = new Map<string, number>();
  for (const g of grouping.groups) for (const d of g.devices) groupOf.set(d, g.id);
  const fns = grouping.functions ?? host.functions;
  const raws: RawFunction[] = [];
  for (const fn of fns) {
    const bdf = formatBdf(fn.domain, fn.bus, fn.devfn);
    const extra = fn as PciFunction & { physfn?: string };
    raws.push({
      bdf,
      config: fn.config ?? synthConfig(fn),
      group: groupOf.get(bdf) ?? fn.kernelGroup ?? -1,
      driver: fn.driver ?? null,
      vendor: fn.vendor,
      device: fn.device,
      ...(fn.isVirtfn ? { isVirtfn: true, physfn: extra.physfn ?? null } : {}),
    });
  }
  return buildHost(host.source, raws);
}

/** Minimal config bytes for a function known without them (IDs, class, header type). */
function synthConfig(fn: PciFunction): Uint8Array {
  const c = new Uint8Array(fn.pcie ? 4096 : 256);
  c[0] = fn.vendor & 0xff; c[1] = fn.vendor >> 8; c[2] = fn.device & 0xff; c[3] = fn.device >> 8;
  c[8] = fn.revision; c[9] = fn.classCode & 0xff; c[10] = (fn.classCode >> 8) & 0xff; c[11] = (fn.classCode >> 16) & 0xff;
  c[0x0e] = Math.max(0, fn.headerType);
  return c;
}

export interface HostSource {
  lspci?: string;
  sysfs?: string;
  topology?: string;
  sample?: boolean;
  /** Kernel release for the grouping rules (sources without the kernel's own groups). */
  kernel?: string;
}

/**
 * The host for VFIO from any source the CLI accepts. A sysfs folder carries the kernel's own
 * groups (iommu_group links) and boot-time drivers: read directly. Other sources go through
 * loadHost + computeGroups (src/import, src/groups).
 */
export function loadVfioHost(src: HostSource): VfioHost {
  if (src.sysfs !== undefined) return loadSysfsHost(src.sysfs);
  const opts: { lspci?: string; topology?: string; sample?: boolean } = {};
  if (src.lspci !== undefined) opts.lspci = src.lspci;
  else if (src.topology !== undefined) opts.topology = src.topology;
  else opts.sample = true;
  const input = loadHost(opts);
  const grouping = computeGroups(input, src.kernel !== undefined ? { kernel: src.kernel } : {});
  return fromHostInput(input, {
    groups: grouping.kernelGroups ?? grouping.groups.map((g) => ({ id: g.id, devices: g.devices })),
    functions: grouping.functions,
  });
}
