// A PowerNV PHB (power-pe-tce-eeh.md §2-§3): PEs formed from its functions, the RID → PE lookup
// (`pe_rmap`, `pnv_pci_bdfn_to_pe`), two TVEs per PE (bus address bit 59 selects window 0 or 1), and
// DMA through a PE: outside every window or through an invalid TCE freezes that PE (and its PELT-V).

import { IommuError } from "../domain.js";
import { EehPe } from "./eeh.js";
import { formPhbPes, type FormedPe, type FormPesOptions, type PowerPciFunction } from "./form-pes.js";
import { TCE_PCI_READ, TCE_PCI_WRITE } from "./tce.js";
import { createTceWindow, TVE1_BUS_START, type TceWindow, type TceWindowOptions } from "./window.js";

export class PowerPe {
  /** TVE (PE# << 1) + 0 and + 1. */
  readonly windows: [TceWindow | null, TceWindow | null] = [null, null];
  /** Bypass (1:1 view of RAM through window 1) as the host sets it up when it owns the PE. */
  bypass = false;
  /** tce32 size of the host default window (0 = the host never set one up). */
  private hostTce32Size = 0;

  constructor(
    readonly info: FormedPe,
    readonly eeh: EehPe,
  ) {}

  get number(): number {
    return this.info.peNumber;
  }

  /**
   * One DMA from a device of this PE: PA, or -1 when blocked. A frozen PE's DMA does not reach memory;
   * a translation failure freezes the PE (hardware).
   */
  dma(busAddr: number, write: boolean): number {
    if (this.eeh.frozen || this.eeh.removed) return -1;
    const win = busAddr >= TVE1_BUS_START ? 1 : 0;
    if (win === 1 && this.bypass) return busAddr - TVE1_BUS_START;
    const w = this.windows[win];
    const pa = w ? w.dmaTranslate(busAddr, write ? TCE_PCI_WRITE : TCE_PCI_READ) : -1;
    if (pa < 0) this.eeh.freeze();
    return pa;
  }

  /** `pnv_pci_ioda2_create_table` + set_window: window 0 starts at 0, window 1 at 1 << 59. */
  createWindow(num: 0 | 1, o: Omit<TceWindowOptions, "busStart">): TceWindow {
    if (this.windows[num]) throw new IommuError("window", "EBUSY", `PE#${this.number} window ${num} exists`);
    const w = createTceWindow({ ...o, busStart: num === 0 ? 0 : TVE1_BUS_START });
    this.windows[num] = w;
    if (num === 1) this.bypass = false;
    return w;
  }

  removeWindow(num: 0 | 1): void {
    this.windows[num]?.destroy();
    this.windows[num] = null;
  }

  /**
   * `pnv_pci_ioda2_set_window`: points TVE num at a table someone else owns (VFIO v2 programs one
   * container table into every PE of the container: `pnv_pci_link_table_and_group`, shared).
   */
  setWindow(num: 0 | 1, w: TceWindow): void {
    if (this.windows[num]) throw new IommuError("window", "EBUSY", `PE#${this.number} window ${num} exists`);
    if (w.busStart !== (num === 0 ? 0 : TVE1_BUS_START)) throw new IommuError("window", "EINVAL", `window ${num} cannot start at 0x${w.busStart.toString(16)}`);
    this.windows[num] = w;
  }

  /** `pnv_pci_ioda2_unset_window`: unlinks the table; its owner frees it. */
  unsetWindow(num: 0 | 1): void {
    this.windows[num] = null;
  }

  /** The host's own DMA setup (`pnv_pci_ioda2_setup_default_config`): window 0 of 4 KiB TCEs, window 1 = bypass. */
  setupDefault(tce32Size = 2 ** 31): void {
    this.hostTce32Size = tce32Size;
    this.createWindow(0, { pageShift: 12, windowSize: tce32Size, levels: 2 });
    this.bypass = true;
  }

  /** `pnv_ioda2_take_ownership`: VFIO takes the PE; bypass off, default window removed. */
  takeOwnership(): void {
    this.bypass = false;
    this.removeWindow(0);
    this.removeWindow(1);
    this.eeh.passed = true;
  }

  /** `pnv_ioda2_release_ownership`: the user's windows must be unset already; the host default comes back. */
  releaseOwnership(): void {
    this.eeh.passed = false;
    if (this.hostTce32Size > 0 && !this.windows[0]) this.setupDefault(this.hostTce32Size);
  }
}

export interface PhbOptions extends FormPesOptions {
  /** tce32 window size for the host's default window 0 (`m32_pci_base`); default 2 GiB. */
  tce32Size?: number;
  maxFreezes?: number;
}

export class Phb {
  readonly pes: PowerPe[] = [];
  private readonly rmap = new Int32Array(65536).fill(-1);
  private readonly byNumber = new Map<number, PowerPe>();

  constructor(
    readonly domain: number,
    functions: PowerPciFunction[],
    opts: PhbOptions = {},
  ) {
    const formed = formPhbPes(functions.filter((f) => f.domain === domain), opts);
    for (const f of formed) {
      if (f.peNumber < 0) continue;
      const parent = f.parentPe >= 0 ? this.byNumber.get(f.parentPe)?.eeh ?? null : null;
      const pe = new PowerPe(f, new EehPe(`PHB#${domain.toString(16)}-PE#${f.peNumber.toString(16)}`, parent, opts.maxFreezes));
      this.pes.push(pe);
      this.byNumber.set(f.peNumber, pe);
      for (const rid of f.rids) this.rmap[rid] = f.peNumber;
      for (let b = f.firstBus; f.kind === "bus" && b <= f.lastBus; b++) {
        for (let df = 0; df < 256; df++) if (this.rmap[b * 256 + df] < 0) this.rmap[b * 256 + df] = f.peNumber;
      }
      // Host default (`pnv_pci_ioda2_setup_default_config`): window 0 of 4 KiB TCEs; window 1 = bypass.
      if (f.devices.length > 0) pe.setupDefault(opts.tce32Size ?? 2 ** 31);
    }
  }

  /** `pnv_pci_bdfn_to_pe`. */
  peOf(rid: number): PowerPe | undefined {
    const n = this.rmap[rid & 0xffff];
    return n < 0 ? undefined : this.byNumber.get(n);
  }

  pe(number: number): PowerPe | undefined {
    return this.byNumber.get(number);
  }

  /** DMA by requester rid: PA or -1 (no PE, frozen PE, or a translation error that freezes it). */
  dma(rid: number, busAddr: number, write: boolean): number {
    const pe = this.peOf(rid);
    return pe ? pe.dma(busAddr, write) : -1;
  }

  /** MMIO load from a function: all ones while its PE's MMIO is stopped. */
  mmioRead(rid: number, value: number, bytes: 1 | 2 | 4): number {
    const pe = this.peOf(rid);
    return pe ? pe.eeh.mmioRead(value, bytes) : 2 ** (8 * bytes) - 1;
  }
}

export function createPhb(domain: number, functions: PowerPciFunction[], opts: PhbOptions = {}): Phb {
  return new Phb(domain, functions, opts);
}
