// One typed error per layer, naming the failing operation (rust-vmm style). The kernel model
// itself returns negative errno numbers on its hot paths, like the kernel; the library-facing
// wrappers (VfioSystem.call*, iommufd objects) turn them into these.

import { errnoName } from "./uapi.js";

export type VfioLayer = "container" | "group" | "device" | "type1" | "spapr" | "iommufd" | "host" | "mm";

export class VfioError extends Error {
  readonly errnoName: string;
  constructor(
    readonly layer: VfioLayer,
    readonly op: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${layer}: ${op}: ${errnoName(errno)}${detail ? ` (${detail})` : ""}`);
    this.name = "VfioError";
    this.errnoName = errnoName(errno);
  }
}

export class Type1Error extends VfioError {
  constructor(op: string, errno: number, detail?: string) {
    super("type1", op, errno, detail);
    this.name = "Type1Error";
  }
}

export class IommufdError extends VfioError {
  constructor(op: string, errno: number, detail?: string) {
    super("iommufd", op, errno, detail);
    this.name = "IommufdError";
  }
}

export class SpaprError extends VfioError {
  constructor(op: string, errno: number, detail?: string) {
    super("spapr", op, errno, detail);
    this.name = "SpaprError";
  }
}

/** Throws the layer's error when `ret` is a negative errno; else returns it. */
export function check(ret: number, layer: VfioLayer, op: string): number {
  if (ret < 0) {
    if (layer === "type1") throw new Type1Error(op, -ret);
    if (layer === "iommufd") throw new IommufdError(op, -ret);
    if (layer === "spapr") throw new SpaprError(op, -ret);
    throw new VfioError(layer, op, -ret);
  }
  return ret;
}
