// EEH state of one PE (power-pe-tce-eeh.md §6): hardware freeze (MMIO and DMA stopped, loads read
// all ones), detection (`eeh_dev_check_failure`), thaw options, resets, reported state
// (`eeh_pe_get_state`), host recovery with the freeze counter (`eeh_handle_normal_event`,
// `eeh_pe_update_time_stamp`) and permanent failure past eeh_max_freezes. Time is model seconds.

import { IommuError } from "../domain.js";

export const EEH_PE_STATE_NORMAL = 0;
export const EEH_PE_STATE_RESET = 1;
export const EEH_PE_STATE_STOPPED_IO_DMA = 2;
export const EEH_PE_STATE_STOPPED_DMA = 4;
export const EEH_PE_STATE_UNAVAIL = 5;

export const EEH_PE_ISOLATED = 1 << 0;
export const EEH_PE_RECOVERING = 1 << 1;
export const EEH_PE_CFG_BLOCKED = 1 << 2;
export const EEH_PE_RESET = 1 << 3;
export const EEH_PE_REMOVED = 1 << 10;

export const EEH_OPT_DISABLE = 0;
export const EEH_OPT_ENABLE = 1;
export const EEH_OPT_THAW_MMIO = 2;
export const EEH_OPT_THAW_DMA = 3;
export const EEH_OPT_FREEZE_PE = 4;

export const EEH_RESET_DEACTIVATE = 0;
export const EEH_RESET_HOT = 1;
export const EEH_RESET_FUNDAMENTAL = 3;

/** Error injection (uapi asm/eeh.h): types 32/64-bit IOA bus error, functions 0..19. */
export const EEH_ERR_TYPE_32 = 0;
export const EEH_ERR_TYPE_64 = 1;
export const EEH_ERR_FUNC_MIN = 0;
export const EEH_ERR_FUNC_MAX = 19;

export const EEH_MAX_FREEZES = 5;
export const EEH_FREEZE_WINDOW_S = 3600;

export type DriverVote = "none" | "can_recover" | "need_reset" | "disconnect";

export class EehPe {
  mmioEnabled = true;
  dmaEnabled = true;
  resetActive = false;
  flags = 0;
  freezeCount = 0;
  private stamp = 0;
  /** Held by VFIO (`eeh_pe_passed`): the host leaves detection and recovery to the guest. */
  passed = false;
  /** PEs below this one (its PELT-V besides itself). */
  readonly children: EehPe[] = [];
  /** Log lines like the kernel's. */
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    readonly parent: EehPe | null = null,
    readonly maxFreezes = EEH_MAX_FREEZES,
  ) {
    parent?.children.push(this);
  }

  get frozen(): boolean {
    return !this.mmioEnabled || !this.dmaEnabled;
  }

  get removed(): boolean {
    return (this.flags & EEH_PE_REMOVED) !== 0;
  }

  /** The PHB freezes this PE and every PE in its PELT-V (the PEs below it). */
  freeze(): void {
    if (this.removed) return;
    this.mmioEnabled = false;
    this.dmaEnabled = false;
    for (const c of this.children) c.freeze();
  }

  /** `eeh_dev_check_failure` after an all-ones read: 1 = error handled (recovery queued), 0 = ignored. */
  checkFailure(): number {
    if (this.passed) return 0;
    if (this.flags & EEH_PE_ISOLATED) return 1;
    if (!this.frozen) return 0; // a genuine 0xffffffff
    let top: EehPe | null = null; // highest frozen ancestor, else this PE
    for (let p = this.parent; p; p = p.parent) if (p.frozen && !p.removed) top = p;
    const pe = top ?? this;
    pe.markIsolated();
    pe.flags |= EEH_PE_RECOVERING;
    return 1;
  }

  private markIsolated(): void {
    this.flags |= EEH_PE_ISOLATED;
    for (const c of this.children) c.markIsolated();
  }

  /** `eeh_pe_get_state`: 0/1/2/4/5. */
  getState(): number {
    if (this.removed) return EEH_PE_STATE_UNAVAIL;
    for (let p = this.parent; p; p = p.parent) if (p.flags & (EEH_PE_ISOLATED | EEH_PE_RECOVERING) && p.frozen) return EEH_PE_STATE_UNAVAIL;
    if (this.resetActive) return EEH_PE_STATE_RESET;
    if (this.mmioEnabled && this.dmaEnabled) return EEH_PE_STATE_NORMAL;
    if (!this.mmioEnabled && !this.dmaEnabled) return EEH_PE_STATE_STOPPED_IO_DMA;
    if (this.mmioEnabled) return EEH_PE_STATE_STOPPED_DMA;
    return EEH_PE_STATE_UNAVAIL;
  }

  /** `eeh_pci_enable` options; thawing an active PE is a no-op. */
  setOption(opt: number): void {
    if (this.removed) throw new IommuError("eeh", "ENODEV", `${this.name} is permanently disabled`);
    switch (opt) {
      case EEH_OPT_THAW_MMIO:
        this.mmioEnabled = true;
        break;
      case EEH_OPT_THAW_DMA:
        if (!this.mmioEnabled) throw new IommuError("eeh", "EIO", "thaw DMA before MMIO");
        this.dmaEnabled = true;
        this.flags &= ~EEH_PE_ISOLATED;
        break;
      case EEH_OPT_FREEZE_PE:
        this.freeze();
        break;
      case EEH_OPT_ENABLE:
      case EEH_OPT_DISABLE:
        break;
      default:
        throw new IommuError("eeh", "EINVAL", `EEH option ${opt}`);
    }
  }

  /** Slot reset: hot/fundamental asserts (config blocked); deactivate releases and the PE comes back thawed. */
  reset(kind: number): void {
    if (this.removed) throw new IommuError("eeh", "ENODEV", `${this.name} is permanently disabled`);
    if (kind === EEH_RESET_HOT || kind === EEH_RESET_FUNDAMENTAL) {
      this.resetActive = true;
      this.flags |= EEH_PE_CFG_BLOCKED | EEH_PE_RESET;
    } else if (kind === EEH_RESET_DEACTIVATE) {
      this.resetActive = false;
      this.flags &= ~(EEH_PE_CFG_BLOCKED | EEH_PE_RESET | EEH_PE_ISOLATED);
      this.mmioEnabled = true;
      this.dmaEnabled = true;
    } else throw new IommuError("eeh", "EINVAL", `EEH reset ${kind}`);
  }

  /** `eeh_pe_configure` → `pnv_eeh_configure_bridge`: nothing to do on PowerNV, always 0. */
  configure(): number {
    return 0;
  }

  /**
   * `eeh_pe_inject_err` + `pnv_eeh_err_inject`: function outside 0..19 → EINVAL, type not 32/64-bit
   * → ERANGE. OPAL arms the PHB to fail the next matching access; the model freezes the PE at once.
   */
  injectError(type: number, func: number, _addr: number, _mask: number): void {
    if (func < EEH_ERR_FUNC_MIN || func > EEH_ERR_FUNC_MAX) throw new IommuError("eeh", "EINVAL", `EEH error function ${func}`);
    if (type !== EEH_ERR_TYPE_32 && type !== EEH_ERR_TYPE_64) throw new IommuError("eeh", "ERANGE", `EEH error type ${type}`);
    this.freeze();
  }

  /** `eeh_pe_update_time_stamp` + count; true when past eeh_max_freezes. */
  private countFreeze(nowS: number): boolean {
    if (this.freezeCount <= 0) this.stamp = nowS;
    else if (nowS - this.stamp > EEH_FREEZE_WINDOW_S) {
      this.stamp = nowS;
      this.freezeCount = 0;
    }
    this.freezeCount++;
    return this.freezeCount > this.maxFreezes;
  }

  /**
   * Host recovery (`eeh_handle_normal_event`): count the freeze, ask the drivers (vote), thaw or
   * reset, resume. Returns "recovered" or "permanent-failure" (PE removed).
   */
  recover(nowS: number, vote: DriverVote = "need_reset"): "recovered" | "permanent-failure" {
    if (this.removed) return "permanent-failure";
    if (this.countFreeze(nowS) || vote === "disconnect") {
      this.flags = (this.flags | EEH_PE_REMOVED) & ~EEH_PE_RECOVERING;
      this.mmioEnabled = false;
      this.dmaEnabled = false;
      this.log.push(`EEH: ${this.name} has failed ${this.freezeCount} times in the last hour and has been permanently disabled`);
      for (const c of this.children) c.flags |= EEH_PE_REMOVED;
      return "permanent-failure";
    }
    if (vote === "can_recover") {
      this.setOption(EEH_OPT_THAW_MMIO);
      this.setOption(EEH_OPT_THAW_DMA);
    } else {
      this.reset(EEH_RESET_HOT);
      this.reset(EEH_RESET_DEACTIVATE);
    }
    for (const c of this.children) if (!c.removed) c.thawTree();
    this.flags &= ~(EEH_PE_RECOVERING | EEH_PE_ISOLATED);
    this.log.push(`EEH: Recovery successful on ${this.name}`);
    return "recovered";
  }

  private thawTree(): void {
    this.mmioEnabled = true;
    this.dmaEnabled = true;
    this.flags &= ~(EEH_PE_ISOLATED | EEH_PE_RECOVERING);
    for (const c of this.children) c.thawTree();
  }

  /** MMIO load of `bytes` through this PE: all ones when MMIO is stopped (EEH_IO_ERROR_VALUE). */
  mmioRead(value: number, bytes: 1 | 2 | 4): number {
    return this.mmioEnabled ? value : 2 ** (8 * bytes) - 1;
  }
}
