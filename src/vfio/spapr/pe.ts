// The PowerNV PE behind each VFIO group (power-pe-tce-eeh.md §2.4: group = PE). The VFIO model's
// host has no PHB of its own, so each group gets one PE on first use, numbered by the group, with
// the host's default DMA setup (window 0 + bypass) until a container takes it. Keyed by the group's
// backend object: the PE, its EEH state included, lives as long as the group does.

import type { BackendGroup } from "../type1/type1.js";
import { EehPe } from "../../iommu/power/eeh.js";
import { PowerPe } from "../../iommu/power/phb.js";

/** tce32_size of the modelled PHB (vfio-uapi.md §10.4: platform value, unverified). */
export const PE_TCE32_SIZE = 0x80000000;

const pes = new WeakMap<BackendGroup, PowerPe>();

/** `iommu_group_get_iommudata` → the group's `pnv_ioda_pe` (and `eeh_iommu_group_to_pe`). */
export function spaprPeOf(g: BackendGroup): PowerPe {
  let pe = pes.get(g);
  if (!pe) {
    pe = new PowerPe(
      {
        peNumber: g.id, kind: "bus", devices: [], reason: `IOMMU group ${g.id} as one PowerNV PE`,
        domain: 0, firstBus: 0, lastBus: 0, bridges: [], rids: [], parentPe: -1,
      },
      new EehPe(`PE#${g.id.toString(16)}`),
    );
    pe.setupDefault(PE_TCE32_SIZE);
    pes.set(g, pe);
  }
  return pe;
}
