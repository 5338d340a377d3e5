// The IOAS object (drivers/iommu/iommufd/ioas.c): an io_pagetable in the object table, with the
// paging HWPTs made on it (ioas->hwpt_list, the order auto-domain reuse walks).

import { Ioas } from "./ioas.js";
import { IommufdObject } from "./object.js";
import type { HwptPaging } from "./hwpt.js";
import type { ProcessMm } from "../mm.js";

export class IoasObject extends IommufdObject {
  readonly type = "ioas";
  readonly ioas: Ioas;
  readonly hwpts: HwptPaging[] = [];

  constructor(mm: ProcessMm, accountMode: () => number) {
    super();
    this.ioas = new Ioas(mm, accountMode);
  }
}
