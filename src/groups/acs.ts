// ACS as the kernel evaluates it for grouping: the effective control word (pci_enable_acs()),
// pci_acs_flags_enabled(), pci_acs_enabled() with the device-specific table first, and
// pci_acs_path_enabled(). Every answer is precomputed once per function into typed arrays.

import { kernelAtLeast, inStableRange } from "../pci/version.js";
import {
  NOT_PCIE, PCI_ACS_CR, PCI_ACS_DT, PCI_ACS_EC, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_TB, PCI_ACS_UF, PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_LEG_END, PCI_EXP_TYPE_PCI_BRIDGE, PCI_EXP_TYPE_PCIE_BRIDGE, PCI_EXP_TYPE_RC_EC,
  PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM, REQ_ACS_FLAGS,
} from "../pci/regs.js";
import { FN_ACS_CTRL8, FN_HAS_ACS, FN_MULTIFUNCTION, type Topology } from "../pci/topology.js";
import type { GroupingOptions } from "./options.js";
import {
  ACS_QUIRK_TABLE, ANY_ID, INTEL_PCH_ACS_ROOT_PORTS, INTEL_SPT_ROOT_PORTS, isCaviumRootPortId, isWangxunGoodId, isZhaoxinGoodPortId,
  type AcsQuirkEntry,
} from "./quirks/acs-table.js";

/** Why pci_acs_enabled() answered as it did. */
export const enum AcsWhy {
  Quirk = 1,
  OverrideId,
  OverrideDownstream,
  OverrideMultifunction,
  NotPcie,
  BridgeTypeNever,
  PortFlags,
  MultifunctionFlags,
  SingleFunction,
  OtherType,
}

const STD_BITS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;
const NO_ANSWER = -1;

export class AcsState {
  /** Capability word as the kernel uses it (7.0+: cached, IDT SV dropped). */
  readonly cap: Uint16Array;
  /** Effective control word (after the kernel's enabling when the input is not a live dump). */
  readonly ctrl: Uint16Array;
  /** PCI_DEV_FLAGS_ACS_ENABLED_QUIRK (Intel PCH enable hook succeeded). */
  readonly pchEnabled: Uint8Array;
  /** pci_acs_enabled(dev, REQ_ACS_FLAGS), 0/1. */
  readonly enabled: Uint8Array;
  readonly why: Uint8Array;
  /** Table entry index for AcsWhy.Quirk. */
  readonly quirkIndex: Int16Array;
  private readonly pathMemo: Int8Array;
  private readonly table: readonly AcsQuirkEntry[];
  private readonly byVendor = new Map<number, number[]>();

  constructor(
    readonly topo: Topology,
    readonly opts: GroupingOptions,
  ) {
    const n = topo.count;
    this.cap = new Uint16Array(n);
    this.ctrl = new Uint16Array(n);
    this.pchEnabled = new Uint8Array(n);
    this.enabled = new Uint8Array(n);
    this.why = new Uint8Array(n);
    this.quirkIndex = new Int16Array(n).fill(-1);
    this.pathMemo = new Int8Array(n).fill(-1);
    this.table = ACS_QUIRK_TABLE.filter((e) => kernelAtLeast(opts.kernel, e.since[0], e.since[1]));
    this.table.forEach((e, k) => {
      const list = this.byVendor.get(e.vendor);
      if (list) list.push(k);
      else this.byVendor.set(e.vendor, [k]);
    });
    this.computeControl();
    for (let i = 0; i < n; i++) this.enabled[i] = this.evaluate(i);
  }

  /** The device-specific table entry behind quirk decisions. */
  quirkEntry(i: number): AcsQuirkEntry | null {
    const k = this.quirkIndex[i]!;
    return k >= 0 ? this.table[k]! : null;
  }

  /** pci_enable_acs() as it ran at boot (iommu-groups.md §3.1). */
  private computeControl(): void {
    const { topo, opts } = this;
    const k = opts.kernel;
    const acsRequested = opts.iommu !== "none";
    // 6.11.0-6.11.6 and 6.12-rc1..rc5 skipped the enable quirk for ports without an ACS capability.
    const quirkSkippedWithoutCap = inStableRange(k, 6, 11, 0, 6) || (k.major === 6 && k.minor === 12 && k.rc !== null && k.rc <= 5);
    const idtDropsSv = kernelAtLeast(k, 7, 0);
    for (let i = 0; i < topo.count; i++) {
      const hasAcs = (topo.flags[i]! & FN_HAS_ACS) !== 0;
      let cap = topo.acsCap[i]!;
      if (idtDropsSv && topo.vendor[i] === 0x111d && (topo.device[i] === 0x80b5 || topo.device[i] === 0x8090)) cap &= ~PCI_ACS_SV;
      this.cap[i] = cap;
      const isRootPort = topo.pcieType[i] === PCI_EXP_TYPE_ROOT_PORT;
      const isPch = topo.vendor[i] === 0x8086 && isRootPort && INTEL_PCH_ACS_ROOT_PORTS.has(topo.device[i]!);
      if (isPch && acsRequested && !opts.pchQuirkFailed && !(quirkSkippedWithoutCap && !hasAcs)) this.pchEnabled[i] = 1;
      let ctrl = topo.acsCtrl[i]!;
      if (!opts.acsCtrlIsLive && hasAcs && acsRequested && !isPch && !this.isSpt(i)) ctrl |= cap & STD_BITS;
      this.ctrl[i] = ctrl;
    }
  }

  private isSpt(i: number): boolean {
    const t = this.topo;
    return t.vendor[i] === 0x8086 && t.pcieType[i] === PCI_EXP_TYPE_ROOT_PORT && INTEL_SPT_ROOT_PORTS.has(t.device[i]!) && (t.flags[i]! & FN_HAS_ACS) !== 0;
  }

  /** pci_acs_flags_enabled(): no capability → false; missing features count as hard-wired on. */
  flagsEnabled(i: number, flags: number): boolean {
    if (!(this.topo.flags[i]! & FN_HAS_ACS)) return false;
    const need = flags & (this.cap[i]! | PCI_ACS_EC);
    return (this.ctrl[i]! & need) === need;
  }

  /** pci_acs_path_enabled(start, NULL, REQ_ACS_FLAGS): every bridge up to the root bus passes. */
  pathEnabled(start: number): boolean {
    const t = this.topo;
    const memo = this.pathMemo;
    let d = start;
    // Walk up until a memoised answer or the root; then fill the memo on the way back down.
    let depth = 0;
    let result: number;
    while (true) {
      const m = memo[d]!;
      if (m !== -1) {
        result = m;
        break;
      }
      if (!this.enabled[d]) {
        result = 0;
        break;
      }
      const b = t.busOf[d]!;
      if (t.busParent[b] === -1) {
        result = 1;
        break;
      }
      const up = t.busSelf[b]!;
      if (up < 0) {
        result = 1; // the kernel would dereference NULL here; never seen for bridges
        break;
      }
      d = up;
      depth++;
    }
    // Everything between start and d shares the answer only if result is the AND of the chain.
    d = start;
    for (let k = 0; k <= depth; k++) {
      if (memo[d] !== -1) break;
      memo[d] = result as 0 | 1;
      d = t.busSelf[t.busOf[d]!]!;
      if (d < 0) break;
    }
    return result === 1;
  }

  /** pci_acs_enabled(dev, REQ_ACS_FLAGS) (pci.c), recording why. */
  private evaluate(i: number): number {
    const t = this.topo;
    const q = this.deviceSpecific(i);
    if (q !== NO_ANSWER) return q;
    const type = t.pcieType[i]!;
    if (type === NOT_PCIE) {
      this.why[i] = AcsWhy.NotPcie;
      return 0;
    }
    switch (type) {
      case PCI_EXP_TYPE_PCI_BRIDGE:
      case PCI_EXP_TYPE_PCIE_BRIDGE:
      case PCI_EXP_TYPE_RC_EC:
        this.why[i] = AcsWhy.BridgeTypeNever;
        return 0;
      case PCI_EXP_TYPE_DOWNSTREAM:
      case PCI_EXP_TYPE_ROOT_PORT:
        this.why[i] = AcsWhy.PortFlags;
        return this.flagsEnabled(i, REQ_ACS_FLAGS) ? 1 : 0;
      case PCI_EXP_TYPE_ENDPOINT:
      case PCI_EXP_TYPE_UPSTREAM:
      case PCI_EXP_TYPE_LEG_END:
      case PCI_EXP_TYPE_RC_END:
        if (t.flags[i]! & FN_MULTIFUNCTION) {
          this.why[i] = AcsWhy.MultifunctionFlags;
          return this.flagsEnabled(i, REQ_ACS_FLAGS) ? 1 : 0;
        }
        this.why[i] = AcsWhy.SingleFunction;
        return 1;
      default:
        this.why[i] = AcsWhy.OtherType;
        return 1;
    }
  }

  /** pci_dev_specific_acs_enabled(): first entry answering >= 0 decides; the override is last. */
  private deviceSpecific(i: number): number {
    const t = this.topo;
    const list = this.byVendor.get(t.vendor[i]!);
    if (list) {
      for (const k of list) {
        const e = this.table[k]!;
        if (e.devices[0] !== ANY_ID && !e.devices.includes(t.device[i]!)) continue;
        const r = this.runHandler(e, i);
        if (r !== NO_ANSWER) {
          this.why[i] = AcsWhy.Quirk;
          this.quirkIndex[i] = k;
          return r;
        }
      }
    }
    return this.overrideAnswer(i);
  }

  private runHandler(e: AcsQuirkEntry, i: number): number {
    const t = this.topo;
    const type = t.pcieType[i]!;
    const pcie = type !== NOT_PCIE;
    const req = REQ_ACS_FLAGS;
    switch (e.handler) {
      case "amd_sb": {
        // Needs the IVRS table (an AMD IOMMU), a multifunction device on a root bus.
        if (this.opts.iommu !== "amd" || !(t.flags[i]! & FN_MULTIFUNCTION) || !t.isRootBus(t.busOf[i]!)) return NO_ANSWER;
        return ctrlOk(req & (PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC | PCI_ACS_DT), PCI_ACS_RR | PCI_ACS_CR);
      }
      case "mf_endpoint":
        return ctrlOk(req, PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_DT);
      case "rciep":
        return pcie && type === PCI_EXP_TYPE_RC_END ? ctrlOk(req, STD_BITS) : NO_ANSWER;
      case "qcom_rp":
      case "nxp_rp":
      case "xgene":
      case "brcm":
      case "loongson":
        return ctrlOk(req, STD_BITS);
      case "cavium":
        return pcie && type === PCI_EXP_TYPE_ROOT_PORT && isCaviumRootPortId(t.device[i]!) ? ctrlOk(req, STD_BITS) : NO_ANSWER;
      case "al":
        return pcie && type === PCI_EXP_TYPE_ROOT_PORT ? ((req & ~STD_BITS) === 0 ? 1 : 0) : NO_ANSWER;
      case "zhaoxin_pcie_ports":
        if (!pcie || (type !== PCI_EXP_TYPE_ROOT_PORT && type !== PCI_EXP_TYPE_DOWNSTREAM)) return NO_ANSWER;
        return isZhaoxinGoodPortId(t.device[i]!) ? ctrlOk(req, STD_BITS) : 0;
      case "wangxun_nic":
        return isWangxunGoodId(t.device[i]!, kernelAtLeast(this.opts.kernel, 6, 13)) ? ctrlOk(req, STD_BITS) : 0;
      case "intel_pch":
        if (!pcie || type !== PCI_EXP_TYPE_ROOT_PORT || !INTEL_PCH_ACS_ROOT_PORTS.has(t.device[i]!)) return NO_ANSWER;
        return this.pchEnabled[i] ? ctrlOk(req, STD_BITS) : ctrlOk(req, 0);
      case "intel_spt_pch": {
        if (!this.isSpt(i)) return NO_ANSWER;
        // cap = dword at acs+4, ctrl = dword at acs+8 (INTEL_SPT_ACS_CTRL); lspci's ACSCtl is the wrong register.
        const cap = this.cap[i]!;
        const known = (t.flags[i]! & FN_ACS_CTRL8) !== 0 && this.opts.acsCtrlIsLive;
        const ctrl = known ? t.acsCtrl8[i]! : cap & STD_BITS; // pci_quirk_enable_intel_spt_pch_acs() ran at boot
        return ctrlOk(req & (cap | PCI_ACS_EC), ctrl);
      }
    }
  }

  /** The out-of-tree pcie_acs_overrides handler, the table's last entry {ANY, ANY}. */
  private overrideAnswer(i: number): number {
    const o = this.opts.override;
    if (!o) return NO_ANSWER;
    const t = this.topo;
    const type = t.pcieType[i]!;
    if (type === NOT_PCIE) return NO_ANSWER;
    if (!o.ignoreAcsCapability && t.flags[i]! & FN_HAS_ACS) return NO_ANSWER;
    if (o.ids.includes((t.vendor[i]! << 16) | t.device[i]!)) {
      this.why[i] = AcsWhy.OverrideId;
      return 1;
    }
    if (o.downstream && (type === PCI_EXP_TYPE_ROOT_PORT || type === PCI_EXP_TYPE_DOWNSTREAM)) {
      this.why[i] = AcsWhy.OverrideDownstream;
      return 1;
    }
    const endpointLike = type === PCI_EXP_TYPE_ENDPOINT || type === PCI_EXP_TYPE_UPSTREAM || type === PCI_EXP_TYPE_LEG_END || type === PCI_EXP_TYPE_RC_END;
    if (o.multifunction && endpointLike && t.flags[i]! & FN_MULTIFUNCTION) {
      this.why[i] = AcsWhy.OverrideMultifunction;
      return 1;
    }
    return NO_ANSWER;
  }
}

/** pci_acs_ctrl_enabled(): 1 if every requested bit is in `have`. */
function ctrlOk(req: number, have: number): number {
  return (req & have) === req ? 1 : 0;
}
