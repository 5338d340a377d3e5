// PAPR TCE hypercalls as KVM handles them (power-pe-tce-eeh.md §5; book3s_64_vio.c): the LIOBN
// registry (`kvm_vm_ioctl_create_spapr_tce`), `kvmppc_ioba_validate`, `kvmppc_tce_validate`, and
// H_PUT_TCE / H_PUT_TCE_INDIRECT (≤ 512 entries, all validated before any is written) / H_STUFF_TCE /
// H_GET_TCE with their return codes. A linked VFIO (hardware) window is updated through too.

import { IommuError } from "../domain.js";
import type { TceWindow } from "./window.js";

export const H_SUCCESS = 0;
export const H_BUSY = 1;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_NOT_ENOUGH_RESOURCES = -44;
/** KVM-internal: exit to QEMU, which handles the call again; never returned to guests. */
export const H_TOO_HARD = 9999;

export const H_GET_TCE = 0x1c;
export const H_PUT_TCE = 0x20;
export const H_STUFF_TCE = 0x138;
export const H_PUT_TCE_INDIRECT = 0x13c;
export const TCES_PER_PAGE = 512;

export const HCALL_RETURN_NAMES: Readonly<Record<number, string>> = {
  [H_SUCCESS]: "H_SUCCESS",
  [H_BUSY]: "H_BUSY",
  [H_HARDWARE]: "H_HARDWARE",
  [H_FUNCTION]: "H_FUNCTION",
  [H_PRIVILEGE]: "H_PRIVILEGE",
  [H_PARAMETER]: "H_PARAMETER",
  [H_NOT_ENOUGH_RESOURCES]: "H_NOT_ENOUGH_RESOURCES",
  [H_TOO_HARD]: "H_TOO_HARD",
};

/** Guest memory as the hypercalls see it. */
export interface GuestMemory {
  /** Is [gpa, gpa+len) guest RAM? */
  isRam(gpa: number, len: number): boolean;
  /** Is it preregistered (VFIO_IOMMU_SPAPR_REGISTER_MEMORY)? Needed for VFIO-backed tables. */
  isPreregistered(gpa: number, len: number): boolean;
  /** The big-endian 64-bit word at gpa, as a number. */
  readBe64(gpa: number): number;
}

interface Registered {
  table: TceWindow;
  hw: TceWindow[];
}

export class SpaprTce {
  private readonly tables = new Map<number, Registered>();
  /** Project choice: an injected hardware fault makes the next TCE write fail with H_HARDWARE. */
  injectHardwareFault = false;

  constructor(private readonly mem: GuestMemory) {}

  /** KVM_CREATE_SPAPR_TCE_64: page_shift 12..34 (EINVAL), duplicate LIOBN (EBUSY). */
  register(table: TceWindow): void {
    if (table.pageShift < 12 || table.pageShift > 34) throw new IommuError("window", "EINVAL", `TCE page shift ${table.pageShift}`);
    if (this.tables.has(table.liobn)) throw new IommuError("window", "EBUSY", `LIOBN 0x${table.liobn.toString(16)} already registered`);
    this.tables.set(table.liobn, { table, hw: [] });
  }

  /** `kvm_spapr_tce_attach_iommu_group`: hardware page ≤ guest page, same start, size ≥. */
  linkHardware(liobn: number, hw: TceWindow): void {
    const r = this.tables.get(liobn);
    if (!r) throw new IommuError("attach", "ENOENT", `LIOBN 0x${liobn.toString(16)} not registered`);
    if (hw.pageShift > r.table.pageShift || hw.busStart !== r.table.busStart || hw.size < r.table.size) {
      throw new IommuError("attach", "EINVAL", "hardware TCE table does not match the guest window");
    }
    r.hw.push(hw);
  }

  /** `kvmppc_ioba_validate`. */
  private iobaOk(t: TceWindow, ioba: number, npages: number): boolean {
    if (ioba % t.pageSize !== 0) return false;
    const idx = Math.floor(ioba / t.pageSize);
    const offset = t.busStart / t.pageSize;
    return idx >= offset && idx - offset + npages <= t.entries;
  }

  /** `kvmppc_tce_validate`: a valid TCE must be page-aligned guest RAM (preregistered when VFIO-backed). */
  private tceOk(r: Registered, tce: number): boolean {
    if ((tce & 3) === 0) return true;
    const ps = r.table.pageSize;
    const ga = tce - (tce % 4);
    if (ga % ps !== 0) return false;
    if (!this.mem.isRam(ga, ps)) return false;
    return r.hw.length === 0 || this.mem.isPreregistered(ga, ps);
  }

  private write(r: Registered, idx: number, tce: number): number {
    if (this.injectHardwareFault) {
      this.injectHardwareFault = false;
      this.put(r, idx, 0); // kvmppc_clear_tce
      return H_HARDWARE;
    }
    this.put(r, idx, tce);
    return H_SUCCESS;
  }

  private put(r: Registered, idx: number, tce: number): void {
    r.table.table.set(idx, tce);
    for (const hw of r.hw) {
      // A guest TCE of page P over hardware pages p < P writes P/p hardware entries.
      const k = r.table.pageSize / hw.pageSize;
      const perm = tce % 4;
      for (let j = 0; j < k; j++) hw.table.set(idx * k + j, (tce & 3) === 0 ? 0 : tce - perm + j * hw.pageSize + perm);
    }
  }

  hPutTce(liobn: number, ioba: number, tce: number): number {
    const r = this.tables.get(liobn);
    if (!r) return H_TOO_HARD;
    if (!this.iobaOk(r.table, ioba, 1)) return H_PARAMETER;
    if (!this.tceOk(r, tce)) return H_TOO_HARD;
    return this.write(r, r.table.indexOf(ioba), (tce & 3) === 0 ? 0 : tce);
  }

  hPutTceIndirect(liobn: number, ioba: number, tceList: number, npages: number): number {
    const r = this.tables.get(liobn);
    if (!r) return H_TOO_HARD;
    if (npages > TCES_PER_PAGE) return H_PARAMETER;
    if (tceList % 4096 !== 0) return H_PARAMETER;
    if (!this.iobaOk(r.table, ioba, npages)) return H_PARAMETER;
    if (npages === 0) return H_SUCCESS;
    if (!this.mem.isRam(tceList, npages * 8)) return H_TOO_HARD;
    const tces: number[] = [];
    for (let i = 0; i < npages; i++) {
      const t = this.mem.readBe64(tceList + i * 8);
      if (!this.tceOk(r, t)) return H_TOO_HARD;
      tces.push(t);
    }
    const first = r.table.indexOf(ioba);
    for (let i = 0; i < npages; i++) {
      const ret = this.write(r, first + i, (tces[i] & 3) === 0 ? 0 : tces[i]);
      if (ret !== H_SUCCESS) return ret; // earlier entries stay written
    }
    return H_SUCCESS;
  }

  hStuffTce(liobn: number, ioba: number, value: number, npages: number): number {
    const r = this.tables.get(liobn);
    if (!r) return H_TOO_HARD;
    if (!this.iobaOk(r.table, ioba, npages)) return H_PARAMETER;
    if ((value & 3) !== 0) return H_PARAMETER;
    const first = r.table.indexOf(ioba);
    for (let i = 0; i < npages; i++) {
      const ret = this.write(r, first + i, value);
      if (ret !== H_SUCCESS) return ret;
    }
    return H_SUCCESS;
  }

  hGetTce(liobn: number, ioba: number): { ret: number; tce: number } {
    const r = this.tables.get(liobn);
    if (!r) return { ret: H_TOO_HARD, tce: 0 };
    if (!this.iobaOk(r.table, ioba, 1)) return { ret: H_PARAMETER, tce: 0 };
    return { ret: H_SUCCESS, tce: r.table.table.getValue(r.table.indexOf(ioba)) };
  }
}
