// Reads the project's topology format (YAML or JSON) into a HostInput. Errors name the file and
// the line of the offending function.

import { readFileSync } from "node:fs";
import { LineCounter, parseDocument, isMap, isSeq, type Node } from "yaml";
import { parseBdf } from "../pci/address.js";
import { emptyFunction, type HostInput, type PciFunction } from "../pci/function.js";
import {
  PCI_ACS_CR, PCI_ACS_DT, PCI_ACS_EC, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_TB, PCI_ACS_UF, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE, PCI_EXP_TYPE_RC_EC, PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM, PCI_SRIOV_CTRL_VFE,
} from "../pci/regs.js";
import { InputError } from "./errors.js";
import { topologyFileSchema, type TopologyFile, type TopologyFunction } from "./topology-schema.js";

const PCIE_TYPE: Record<string, number | null> = {
  endpoint: PCI_EXP_TYPE_ENDPOINT, "legacy-endpoint": PCI_EXP_TYPE_LEG_END, "root-port": PCI_EXP_TYPE_ROOT_PORT,
  "upstream-port": PCI_EXP_TYPE_UPSTREAM, "downstream-port": PCI_EXP_TYPE_DOWNSTREAM, "pcie-to-pci-bridge": PCI_EXP_TYPE_PCI_BRIDGE,
  "pci-to-pcie-bridge": PCI_EXP_TYPE_PCIE_BRIDGE, rciep: PCI_EXP_TYPE_RC_END, rcec: PCI_EXP_TYPE_RC_EC, pci: null, "pci-bridge": null,
};
const BRIDGE_TYPES = new Set(["root-port", "upstream-port", "downstream-port", "pcie-to-pci-bridge", "pci-to-pcie-bridge", "pci-bridge"]);
const ACS_BIT: Record<string, number> = { SV: PCI_ACS_SV, TB: PCI_ACS_TB, RR: PCI_ACS_RR, CR: PCI_ACS_CR, UF: PCI_ACS_UF, EC: PCI_ACS_EC, DT: PCI_ACS_DT };
const acsWord = (s: string): number => (s === "none" ? 0 : s.split("|").reduce((w, b) => w | ACS_BIT[b]!, 0));

export function readTopologyFile(file: string, text?: string): HostInput {
  let body: string;
  try {
    body = text ?? readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, file);
  }
  if (body.includes("\0")) throw new InputError("binary data, not a YAML or JSON topology", file, 1);
  const lines = new LineCounter();
  const doc = parseDocument(body, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new InputError(e.message.split("\n")[0]!, file, e.linePos?.[0]?.line);
  }
  const data: unknown = doc.toJS();
  const parsed = topologyFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const line = lineOfPath(doc.contents, issue.path as (string | number)[], lines);
    throw new InputError(`${issue.path.join(".") || "(top)"}: ${issue.message}`, file, line);
  }
  const fnLine = (k: number): number | undefined => lineOfPath(doc.contents, ["functions", k], lines);
  return hostFromTopology(parsed.data, file, fnLine);
}

export function hostFromTopology(t: TopologyFile, file: string, fnLine: (k: number) => number | undefined = () => undefined): HostInput {
  const simulate = (t.acsCtrl ?? "simulate") === "simulate";
  const functions = t.functions.map((f, k) => functionFromEntry(f, file, fnLine(k), simulate));
  const host: HostInput = {
    source: `topology:${file}`, functions, acsCtrlIsLive: !simulate, hasKernelGroups: functions.some((f) => f.kernelGroup !== undefined), warnings: [],
  };
  if (t.iommu) host.iommu = t.iommu;
  if (t.kernel) host.kernelRelease = t.kernel;
  if (t.settings) host.settings = { ...t.settings };
  return host;
}

function functionFromEntry(f: TopologyFunction, file: string, line: number | undefined, simulate: boolean): PciFunction {
  const addr = parseBdf(f.bdf)!;
  const fn = emptyFunction(addr.domain, addr.bus, addr.devfn, { file, line });
  const [v, d] = f.id.split(":");
  fn.vendor = parseInt(v!, 16);
  fn.device = parseInt(d!, 16);
  const isBridge = BRIDGE_TYPES.has(f.type);
  const cls = f.class ?? (isBridge ? "0604" : "ff00");
  fn.classCode = cls.length === 4 ? parseInt(cls, 16) << 8 : parseInt(cls, 16);
  fn.headerType = isBridge ? 1 : 0;
  fn.multifunctionBit = f.multifunction ?? null;
  if (isBridge) {
    if (!f.bus) throw new InputError(`${f.bdf}: a ${f.type} needs bus: { secondary, subordinate }`, file, line);
    if (f.bus.subordinate < f.bus.secondary) throw new InputError(`${f.bdf}: subordinate bus below secondary bus`, file, line);
    if (f.bus.secondary <= addr.bus) throw new InputError(`${f.bdf}: secondary bus ${f.bus.secondary} must be above its own bus ${addr.bus}`, file, line);
    fn.primaryBus = addr.bus;
    fn.secondaryBus = f.bus.secondary;
    fn.subordinateBus = f.bus.subordinate;
  } else if (f.bus) throw new InputError(`${f.bdf}: only bridges and ports have bus numbers`, file, line);
  const type = PCIE_TYPE[f.type]!;
  if (type !== null) {
    fn.pcie = { offset: 0x40, type, version: 2, slotImplemented: false, ariForwardingSupported: f.ariForwarding !== undefined, ariForwardingEnabled: f.ariForwarding === true };
  } else if (f.acs || f.ari || f.sriov || f.ariForwarding) {
    throw new InputError(`${f.bdf}: a conventional PCI function has no extended capabilities (acs, ari, sriov)`, file, line);
  }
  if (f.acs) {
    const cap = f.acs === true ? PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF : acsWord(f.acs.cap);
    const ctrl = f.acs === true ? (simulate ? 0 : cap) : f.acs.ctrl !== undefined ? acsWord(f.acs.ctrl) : simulate ? 0 : cap;
    fn.acs = { offset: 0x100, cap, ctrl };
  }
  if (f.ari) fn.ari = { offset: 0x140, nextFunction: 0 };
  if (f.sriov) {
    const s = f.sriov;
    if (s.numVfs > s.totalVfs) throw new InputError(`${f.bdf}: numVfs ${s.numVfs} exceeds totalVfs ${s.totalVfs}`, file, line);
    if (s.numVfs > 0 && s.stride === 0 && s.numVfs > 1) throw new InputError(`${f.bdf}: VF stride 0 would put every VF at one address`, file, line);
    fn.sriov = {
      offset: 0x160, ctrl: s.numVfs > 0 ? PCI_SRIOV_CTRL_VFE : 0, initialVfs: s.totalVfs, totalVfs: s.totalVfs, numVfs: s.numVfs,
      firstVfOffset: s.offset, vfStride: s.stride, vfDeviceId: parseInt(s.vfDeviceId, 16),
    };
  }
  if (f.subsystem) {
    const [sv, sd] = f.subsystem.split(":");
    fn.subsystemVendor = parseInt(sv!, 16);
    fn.subsystemDevice = parseInt(sd!, 16);
  }
  if (f.name) fn.names = { line: f.name };
  if (f.driver) fn.driver = f.driver;
  if (f.kernelGroup !== undefined) fn.kernelGroup = f.kernelGroup;
  if (f.dmaAliases) fn.extraDmaAliases = f.dmaAliases.map((a) => parseBdf(`00:${a}`)!.devfn);
  return fn;
}

/** Line (1-based) of the YAML node at `path`, or of its nearest ancestor that exists. */
function lineOfPath(root: unknown, path: (string | number)[], lines: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let best: number | undefined;
  const lineOf = (n: Node | null | undefined): number | undefined => (n?.range ? lines.linePos(n.range[0]).line : undefined);
  best = lineOf(node);
  for (const key of path) {
    if (isMap(node)) node = node.get(key, true) as Node | undefined;
    else if (isSeq(node) && typeof key === "number") node = node.get(key, true) as Node | undefined;
    else break;
    best = lineOf(node) ?? best;
  }
  return best;
}
