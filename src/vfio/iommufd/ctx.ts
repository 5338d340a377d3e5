// An iommufd context (/dev/iommu): object table and ioctl dispatch (drivers/iommu/iommufd/main.c).

import type { IoctlArg } from "../arg.js";
import type { VfioGroup } from "../group.js";
import { ENOTTY, EINVAL } from "../uapi.js";

export interface IommufdHost {
  readonly k: { readonly iommufd: boolean };
}

export class IommufdCtx {
  constructor(readonly sys: IommufdHost) {}
  ioctl(_nr: number, _a: IoctlArg): number {
    return -ENOTTY;
  }
  bindGroup(_g: VfioGroup): number {
    return -EINVAL;
  }
  release(): void {}
}

export class IommufdFile {
  readonly kind = "iommufd" as const;
  refs = 1;
  constructor(readonly ctx: IommufdCtx) {}
}
