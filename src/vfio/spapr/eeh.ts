// VFIO_EEH_PE_OP on one group's PE (6.1 vfio_spapr_eeh.c `vfio_spapr_iommu_eeh_ioctl`, 6.2+
// `vfio_spapr_ioctl_eeh_pe_op`), driving src/iommu/power/eeh.ts as eeh.c's entry points do:
// `eeh_pe_set_option`, `eeh_pe_get_state`, `eeh_pe_reset`, `eeh_pe_configure`, `eeh_pe_inject_err`.

import type { IoctlArg } from "../arg.js";
import { errnoNumber, EINVAL } from "../uapi.js";
import { IommuError } from "../../iommu/domain.js";
import {
  EEH_OPT_FREEZE_PE, EEH_OPT_THAW_DMA, EEH_OPT_THAW_MMIO, EEH_RESET_DEACTIVATE, EEH_RESET_FUNDAMENTAL, EEH_RESET_HOT, type EehPe,
} from "../../iommu/power/eeh.js";

export const VFIO_EEH_PE_DISABLE = 0;
export const VFIO_EEH_PE_ENABLE = 1;
export const VFIO_EEH_PE_UNFREEZE_IO = 2;
export const VFIO_EEH_PE_UNFREEZE_DMA = 3;
export const VFIO_EEH_PE_GET_STATE = 4;
export const VFIO_EEH_PE_RESET_DEACTIVATE = 5;
export const VFIO_EEH_PE_RESET_HOT = 6;
export const VFIO_EEH_PE_RESET_FUNDAMENTAL = 7;
export const VFIO_EEH_PE_CONFIGURE = 8;
export const VFIO_EEH_PE_INJECT_ERR = 9;

/** The op's result for this PE: ≥ 0 (GET_STATE: the state itself) or -errno. */
export function eehPeOp(pe: EehPe, a: IoctlArg): number {
  if (a.u32(0) < 12 || a.u32(4)) return -EINVAL;
  try {
    switch (a.u32(8)) {
      case VFIO_EEH_PE_DISABLE:
        return 0; // eeh_pe_set_option: nothing to disable per PE
      case VFIO_EEH_PE_ENABLE:
        // eeh_pe_change_owner: a frozen PE is thawed (MMIO, then DMA) and un-isolated
        if (pe.frozen) {
          pe.setOption(EEH_OPT_THAW_MMIO);
          pe.setOption(EEH_OPT_THAW_DMA);
        }
        return 0;
      case VFIO_EEH_PE_UNFREEZE_IO:
        pe.setOption(EEH_OPT_THAW_MMIO);
        return 0;
      case VFIO_EEH_PE_UNFREEZE_DMA:
        pe.setOption(EEH_OPT_THAW_DMA);
        return 0;
      case VFIO_EEH_PE_GET_STATE:
        return pe.getState();
      case VFIO_EEH_PE_RESET_DEACTIVATE:
        pe.reset(EEH_RESET_DEACTIVATE);
        return 0;
      case VFIO_EEH_PE_RESET_HOT:
      case VFIO_EEH_PE_RESET_FUNDAMENTAL:
        // eeh_pe_reset freezes the PE first so no MMIO reaches it during the reset
        pe.setOption(EEH_OPT_FREEZE_PE);
        pe.reset(a.u32(8) === VFIO_EEH_PE_RESET_HOT ? EEH_RESET_HOT : EEH_RESET_FUNDAMENTAL);
        return 0;
      case VFIO_EEH_PE_CONFIGURE:
        return pe.configure();
      case VFIO_EEH_PE_INJECT_ERR:
        if (a.u32(0) < 40) return -EINVAL;
        pe.injectError(a.u32(16), a.u32(20), a.u64(24), a.u64(32));
        return 0;
      default:
        return -EINVAL;
    }
  } catch (e) {
    if (e instanceof IommuError) return -errnoNumber(e.errno);
    throw e;
  }
}
