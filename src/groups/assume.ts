// What to assume where the input hides facts the grouping needs (iommu-groups.md §11.9). Every
// assumption leaves the function's `hidden` reasons in place, so its groups stay uncertain.

import { formatBdf } from "../pci/address.js";
import { HIDDEN_CAPS_BEYOND_HEADER, HIDDEN_NO_EXTENDED_CAPS } from "../pci/config.js";
import type { HostInput, PciFunction } from "../pci/function.js";
import { PCI_ACS_CR, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_UF, PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_ENDPOINT, PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_UPSTREAM, PCI_HEADER_TYPE_BRIDGE } from "../pci/regs.js";
import { HIDDEN_ACCESS_DENIED, HIDDEN_NO_EXT_VISIBLE } from "../import/lspci/build.js";

/** Hidden reasons that leave the PCIe type known and hide only ACS/ARI/SR-IOV. */
export function hidesOnlyExtendedCaps(reason: string): boolean {
  return reason === HIDDEN_NO_EXT_VISIBLE || reason === HIDDEN_NO_EXTENDED_CAPS;
}

const STD = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

export function applyAssumptions(host: HostInput): void {
  const key = (f: PciFunction): string => `${f.vendor}:${f.device}`;
  const withAcs = new Map<string, PciFunction>();
  for (const f of host.functions) if (f.acs && !f.hidden.length) withAcs.set(key(f), f);
  const bridgeBySecondary = new Map<number, PciFunction>();
  for (const f of host.functions) if (f.headerType === PCI_HEADER_TYPE_BRIDGE && f.secondaryBus > f.bus) bridgeBySecondary.set(f.domain * 256 + f.secondaryBus, f);
  for (const f of host.functions) {
    if (!f.hidden.length) continue;
    const extOnly = f.hidden.every(hidesOnlyExtendedCaps);
    const twin = withAcs.get(key(f));
    // A function unreadable when dumped: the same vendor:device elsewhere in the dump tells its ACS.
    if (!f.acs && twin && (extOnly || !f.pcie) && f.pcie) {
      f.acs = { ...twin.acs! };
      f.hidden.push(`ACS assumed as on ${formatBdf(twin.domain, twin.bus, twin.devfn)} (same vendor:device)`);
      continue;
    }
    const denied = f.hidden.some((h) => h.startsWith(HIDDEN_ACCESS_DENIED) || h === HIDDEN_CAPS_BEYOND_HEADER);
    if (!denied || f.pcie) continue;
    // No capabilities at all (lspci without root): a bridge the port driver took is a PCIe port.
    if (f.headerType === PCI_HEADER_TYPE_BRIDGE && f.driver === "pcieport") {
      const parent = bridgeBySecondary.get(f.domain * 256 + f.bus);
      const type = !parent ? PCI_EXP_TYPE_ROOT_PORT : parent.pcie?.type === PCI_EXP_TYPE_UPSTREAM ? PCI_EXP_TYPE_DOWNSTREAM : PCI_EXP_TYPE_UPSTREAM;
      f.pcie = { offset: 0, type, version: 2, slotImplemented: false, ariForwardingSupported: false, ariForwardingEnabled: false };
      if (type !== PCI_EXP_TYPE_UPSTREAM) f.acs = twin?.acs ? { ...twin.acs } : { offset: 0, cap: STD, ctrl: STD };
      f.hidden.push(`assumed a PCIe ${type === PCI_EXP_TYPE_ROOT_PORT ? "Root" : type === PCI_EXP_TYPE_UPSTREAM ? "switch Upstream" : "switch Downstream"} Port${type !== PCI_EXP_TYPE_UPSTREAM ? " with ACS enabled (usual, but some ports have none)" : ""}`);
    } else if (bridgeBySecondary.has(f.domain * 256 + f.bus)) {
      f.pcie = { offset: 0, type: PCI_EXP_TYPE_ENDPOINT, version: 2, slotImplemented: false, ariForwardingSupported: false, ariForwardingEnabled: false };
      f.hidden.push("assumed a PCIe Endpoint without ACS");
    } else {
      f.hidden.push("assumed conventional PCI (no PCIe capability visible)");
    }
  }
}
