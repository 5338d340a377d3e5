// The worked examples of iommu-groups.md §10 (E1-E6) and the override rules of §8, as
// topology files, with the groups the spec gives.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeGroups } from "../../src/groups/compute.js";
import { parseAcsOverride, type AcsOverride } from "../../src/groups/options.js";
import { readTopologyFile } from "../../src/import/topology-file.js";
import { canonical } from "../support/fixtures.js";

function groups(yaml: string, opts: { override?: string; kernel?: string } = {}): string[] {
  const host = readTopologyFile("example.yaml", yaml);
  const acsOverride = opts.override ? (parseAcsOverride(opts.override) as AcsOverride) : null;
  const r = computeGroups(host, { kernel: opts.kernel ?? "6.12", acsOverride });
  return canonical((r.overrideRun ?? r.run).groups.map((g) => g.devices.map((d) => d.slice(5))));
}

const HOST = `iommu: intel\nfunctions:\n  - { bdf: "00:00.0", id: "8086:3e30", class: "0600", type: pci }\n`;

const E1 = (rp: string) => `${HOST}  - { bdf: "00:01.0", id: "8086:1901", type: root-port, bus: { secondary: 1, subordinate: 4 }${rp} }
  - { bdf: "01:00.0", id: "10b5:8747", type: upstream-port, bus: { secondary: 2, subordinate: 4 } }
  - { bdf: "02:00.0", id: "10b5:8748", type: downstream-port, bus: { secondary: 3, subordinate: 3 } }
  - { bdf: "02:01.0", id: "10b5:8748", type: downstream-port, bus: { secondary: 4, subordinate: 4 } }
  - { bdf: "03:00.0", id: "144d:a808", class: "010802", type: endpoint }
  - { bdf: "04:00.0", id: "8086:1533", class: "0200", type: endpoint }
`;

describe("E1: switch without ACS on its downstream ports", () => {
  it("groups each downstream port with what is below it", () => {
    assert.deepEqual(groups(E1(", acs: true")), canonical([["00:00.0"], ["00:01.0"], ["01:00.0"], ["02:00.0", "03:00.0"], ["02:01.0", "04:00.0"]]));
  });
  it("pcie_acs_override=downstream makes every function its own group", () => {
    assert.deepEqual(groups(E1(", acs: true"), { override: "downstream" }), canonical([["00:00.0"], ["00:01.0"], ["01:00.0"], ["02:00.0"], ["03:00.0"], ["02:01.0"], ["04:00.0"]]));
  });
  it("a root port without ACS pulls everything below it into its group", () => {
    assert.deepEqual(groups(E1("")), canonical([["00:00.0"], ["00:01.0", "01:00.0", "02:00.0", "02:01.0", "03:00.0", "04:00.0"]]));
  });
});

const E2 = (audio: string) => `${HOST}  - { bdf: "00:01.0", id: "8086:1901", type: root-port, bus: { secondary: 1, subordinate: 1 }, acs: true }
  - { bdf: "01:00.0", id: "10de:1b80", class: "0300", type: endpoint, multifunction: true }
  - { bdf: "01:00.1", id: "10de:10f0", class: "0403", type: endpoint${audio} }
`;

describe("E2: multifunction endpoint without ACS", () => {
  it("keeps the GPU and its audio function together", () => {
    assert.deepEqual(groups(E2("")), canonical([["00:00.0"], ["00:01.0"], ["01:00.0", "01:00.1"]]));
  });
  it("multifunction and id: overrides split them", () => {
    const split = canonical([["00:00.0"], ["00:01.0"], ["01:00.0"], ["01:00.1"]]);
    assert.deepEqual(groups(E2(""), { override: "multifunction" }), split);
    assert.deepEqual(groups(E2(""), { override: "id:10de:1b80,id:10de:10f0" }), split);
  });
  it("an audio function with ACS RR/CR enabled stands alone", () => {
    assert.deepEqual(groups(E2(`, acs: { cap: "SV|RR|CR|UF" }`)), canonical([["00:00.0"], ["00:01.0"], ["01:00.0"], ["01:00.1"]]));
  });
});

describe("E3: PCIe-to-PCI bridge with conventional devices", () => {
  const yaml = (bridge: string) => `${HOST}  - { bdf: "00:1c.0", id: "8086:a110", type: root-port, bus: { secondary: 1, subordinate: 2 }, acs: true }
${bridge}
  - { bdf: "02:00.0", id: "102b:0522", class: "0300", type: pci }
  - { bdf: "02:01.0", id: "8086:1229", class: "0200", type: pci }
  - { bdf: "02:02.0", id: "1000:0030", class: "0100", type: pci }
`;
  const want = canonical([["00:00.0"], ["00:1c.0"], ["01:00.0", "02:00.0", "02:01.0", "02:02.0"]]);
  it("the bridge takes ownership: one group with everything behind it", () => {
    assert.deepEqual(groups(yaml(`  - { bdf: "01:00.0", id: "1a03:1150", type: pcie-to-pci-bridge, bus: { secondary: 2, subordinate: 2 } }`)), want);
  });
  it("the same for an ASM1083 without PCIe capability and for a plain conventional bridge; overrides cannot split it", () => {
    const asm = yaml(`  - { bdf: "01:00.0", id: "1b21:1080", type: pci-bridge, bus: { secondary: 2, subordinate: 2 } }`);
    assert.deepEqual(groups(asm), want);
    assert.deepEqual(groups(asm, { override: "downstream,multifunction" }), want);
  });
});

describe("E4: SR-IOV PF with VFs under an isolating root port", () => {
  const yaml = (acs: string, offset = 2, stride = 1) => `${HOST}  - { bdf: "00:01.0", id: "8086:1901", type: root-port, bus: { secondary: 1, subordinate: 2 }${acs}, ariForwarding: true }
  - { bdf: "01:00.0", id: "15b3:1017", class: "0200", type: endpoint, ari: true, sriov: { totalVfs: 8, numVfs: 4, offset: ${offset}, stride: ${stride}, vfDeviceId: "1018" } }
`;
  it("each VF gets its own group", () => {
    assert.deepEqual(groups(yaml(", acs: true")), canonical([["00:00.0"], ["00:01.0"], ["01:00.0"], ["01:00.2"], ["01:00.3"], ["01:00.4"], ["01:00.5"]]));
  });
  it("under a root port without ACS the PF and every VF join the port's group", () => {
    assert.deepEqual(groups(yaml("")), canonical([["00:00.0"], ["00:01.0", "01:00.0", "01:00.2", "01:00.3", "01:00.4", "01:00.5"]]));
  });
  it("offset 0x80 stride 2 puts VF n at devfn 0x80+2n; past 0xff VFs move to a virtual bus", () => {
    assert.deepEqual(groups(yaml(", acs: true", 0x80, 2)).filter((g) => g.startsWith("01:1")), ["01:10.0", "01:10.2", "01:10.4", "01:10.6"]);
    assert.deepEqual(groups(yaml(", acs: true", 0xff, 1)).filter((g) => g.startsWith("02:")), ["02:00.0", "02:00.1", "02:00.2"]);
  });
});

describe("E5: Marvell SATA with a phantom function-1 alias", () => {
  const yaml = (extra: string) => `${HOST}  - { bdf: "00:1c.4", id: "8086:a114", type: root-port, bus: { secondary: 5, subordinate: 5 }, acs: true }
  - { bdf: "05:00.0", id: "1b4b:9230", class: "0106", type: endpoint${extra} }
`;
  it("alone when nothing sits at 05:00.1", () => {
    assert.deepEqual(groups(yaml("")), canonical([["00:00.0"], ["00:1c.4"], ["05:00.0"]]));
  });
  it("with an IDE function at 05:00.1 (88SE9123 SKU) both share a group even with ACS on it", () => {
    const y = `${HOST}  - { bdf: "00:1c.4", id: "8086:a114", type: root-port, bus: { secondary: 5, subordinate: 5 }, acs: true }
  - { bdf: "05:00.0", id: "1b4b:9123", class: "0106", type: endpoint, multifunction: true, acs: true }
  - { bdf: "05:00.1", id: "1b4b:91a0", class: "0101", type: endpoint, acs: true }
`;
    assert.deepEqual(groups(y), canonical([["00:00.0"], ["00:1c.4"], ["05:00.0", "05:00.1"]]));
  });
});

describe("E6: Intel Lynx Point PCH root ports covered by the quirk", () => {
  const yaml = `${HOST}  - { bdf: "00:1c.0", id: "8086:8c10", type: root-port, multifunction: true, bus: { secondary: 2, subordinate: 2 } }
  - { bdf: "00:1c.2", id: "8086:8c14", type: root-port, bus: { secondary: 3, subordinate: 3 } }
  - { bdf: "00:1c.3", id: "8086:8c16", type: root-port, bus: { secondary: 4, subordinate: 4 } }
  - { bdf: "00:1f.0", id: "8086:8c44", class: "0601", type: pci, multifunction: true }
  - { bdf: "00:1f.2", id: "8086:8c02", class: "0106", type: pci }
  - { bdf: "00:1f.3", id: "8086:8c22", class: "0c05", type: pci }
  - { bdf: "02:00.0", id: "8086:1533", class: "0200", type: endpoint }
  - { bdf: "03:00.0", id: "1b21:1142", class: "0c03", type: endpoint }
  - { bdf: "04:00.0", id: "1b4b:9172", class: "0106", type: endpoint }
`;
  it("isolates each port when the enable hook succeeded", () => {
    assert.deepEqual(groups(yaml), canonical([["00:00.0"], ["00:1c.0"], ["00:1c.2"], ["00:1c.3"], ["00:1f.0", "00:1f.2", "00:1f.3"], ["02:00.0"], ["03:00.0"], ["04:00.0"]]));
  });
  it("6.11.0-6.11.6 skipped the hook for ports without ACS: one group, and the override does not help", () => {
    const merged = canonical([["00:00.0"], ["00:1c.0", "00:1c.2", "00:1c.3", "02:00.0", "03:00.0", "04:00.0"], ["00:1f.0", "00:1f.2", "00:1f.3"]]);
    assert.deepEqual(groups(yaml, { kernel: "6.11.3" }), merged);
    assert.deepEqual(groups(yaml, { kernel: "6.11.3", override: "downstream" }), merged);
    assert.notDeepEqual(groups(yaml, { kernel: "6.11.7" }), merged);
  });
});

describe("pcie_acs_override parsing (the out-of-tree patch)", () => {
  it("accepts prefixes and ids, at most 15 ids", () => {
    const o = parseAcsOverride("downstream,multifunction,id:10de:1b80") as AcsOverride;
    assert.equal(o.downstream && o.multifunction, true);
    assert.deepEqual(o.ids, [0x10de1b80]);
    const many = Array.from({ length: 16 }, (_, k) => `id:10de:${k.toString(16).padStart(4, "0")}`).join(",");
    assert.equal(typeof parseAcsOverride(many), "string");
    assert.equal(typeof parseAcsOverride("id:10de:1b8"), "string");
    assert.equal(typeof parseAcsOverride("upstream"), "string");
  });
  it("never overrides a device whose ACS capability lacks bits (unless the EVE variant)", () => {
    const y = `${HOST}  - { bdf: "00:01.0", id: "8086:1901", type: root-port, bus: { secondary: 1, subordinate: 2 }, acs: true }
  - { bdf: "01:00.0", id: "10b5:8747", type: upstream-port, bus: { secondary: 2, subordinate: 2 } }
  - { bdf: "02:00.0", id: "10b5:8748", type: downstream-port, bus: { secondary: 3, subordinate: 3 }, acs: { cap: "SV|RR|CR|UF", ctrl: "SV" } }
  - { bdf: "03:00.0", id: "8086:1533", type: endpoint }
`.replace("secondary: 2, subordinate: 2 } }", "secondary: 2, subordinate: 3 } }").replace("secondary: 1, subordinate: 2 }", "secondary: 1, subordinate: 3 }");
    const live = y.replace("iommu: intel", "iommu: intel\nacsCtrl: live");
    assert.ok(groups(live, { override: "downstream" }).includes("02:00.0,03:00.0"));
    const host = readTopologyFile("x.yaml", live);
    const r = computeGroups(host, { kernel: "6.12", acsOverride: parseAcsOverride("downstream", true) as AcsOverride });
    assert.ok(r.overrideRun!.groups.some((g) => g.devices.length === 1 && g.devices[0] === "0000:03:00.0"));
  });
});
