// DMA remapping faults (io-pagetables.md §10): reason codes and a model of the primary fault
// recording registers: NFR 16-byte records filled in order, wrapping; if the next record is still
// valid (F=1) the fault is dropped and PFO set. Linux's `dmar_fault` drains from FRI and clears.

export const FaultReason = {
  SOFTWARE: 0x0,
  ROOT_NOT_PRESENT: 0x1,
  CONTEXT_NOT_PRESENT: 0x2,
  CONTEXT_INVALID: 0x3,
  BEYOND_MGAW: 0x4,
  PTE_WRITE_NOT_SET: 0x5,
  PTE_READ_NOT_SET: 0x6,
  NEXT_TABLE_INVALID: 0x7,
  ROOT_ADDRESS_INVALID: 0x8,
  CONTEXT_POINTER_INVALID: 0x9,
  ROOT_RESERVED: 0xa,
  CONTEXT_RESERVED: 0xb,
  PTE_RESERVED: 0xc,
  TRANSLATION_BLOCKED: 0xd,
} as const;

/** `dma_remap_fault_reasons` strings, indexed by reason. */
export const FAULT_REASON_STRINGS: readonly string[] = [
  "Software",
  "Present bit in root entry is clear",
  "Present bit in context entry is clear",
  "Invalid context entry",
  "Access beyond MGAW",
  "PTE Write access is not set",
  "PTE Read access is not set",
  "Next page table ptr is invalid",
  "Root table address invalid",
  "Context table ptr is invalid",
  "non-zero reserved fields in RTP",
  "non-zero reserved fields in CTP",
  "non-zero reserved fields in PTE",
  "PCE for translation request specifies blocking",
];

export interface FaultRecord {
  /** Source ID = bus << 8 | devfn. */
  sid: number;
  /** Faulting address with the low 12 bits cleared (FI). */
  iovaPage: number;
  isRead: boolean;
  reason: number;
  pasid?: number;
}

export const DMA_FSTS_PFO = 1 << 0;
export const DMA_FSTS_PPF = 1 << 1;

export class FaultRecorder {
  /** Every fault seen, recorded or dropped (for tests and logs). */
  readonly log: FaultRecord[] = [];
  readonly slots: (FaultRecord | null)[];
  /** Index the hardware writes next. */
  private next = 0;
  /** Primary fault overflow. */
  pfo = false;
  dropped = 0;

  /** nfr = cap_num_fault_regs (QEMU intel-iommu has 1). */
  constructor(readonly nfr = 8, private readonly logLimit = 65536) {
    this.slots = new Array<FaultRecord | null>(nfr).fill(null);
  }

  /** Records a fault; false when dropped because the next record is still valid (PFO). */
  record(f: FaultRecord): boolean {
    if (this.log.length < this.logLimit) this.log.push(f);
    if (this.slots[this.next] !== null) {
      this.pfo = true;
      this.dropped++;
      return false;
    }
    this.slots[this.next] = f;
    this.next = (this.next + 1) % this.nfr;
    return true;
  }

  /** DMAR_FSTS_REG: PFO bit 0, PPF bit 1, FRI bits 15:8 (first valid record at or after the write pointer). */
  get fsts(): number {
    let fri = -1;
    for (let k = 0; k < this.nfr; k++) {
      const i = (this.next + k) % this.nfr;
      if (this.slots[i] !== null) {
        fri = i;
        break;
      }
    }
    return (this.pfo ? DMA_FSTS_PFO : 0) | (fri >= 0 ? DMA_FSTS_PPF | (fri << 8) : 0);
  }

  /** Software writes F=1 to clear record i. */
  clear(i: number): void {
    this.slots[i] = null;
  }

  /** `dmar_fault`: walk from FRI while F=1, collect and clear, then clear PFO. */
  drain(): FaultRecord[] {
    const out: FaultRecord[] = [];
    const fsts = this.fsts;
    if (fsts & DMA_FSTS_PPF) {
      let i = (fsts >> 8) & 0xff;
      while (this.slots[i] !== null) {
        out.push(this.slots[i] as FaultRecord);
        this.slots[i] = null;
        i = (i + 1) % this.nfr;
      }
    }
    this.pfo = false;
    return out;
  }

  /** Record i as the hardware's 128 bits (4 little-endian dwords), F = bit 127. */
  recordWords(i: number): [number, number, number, number] {
    const f = this.slots[i];
    if (!f) return [0, 0, 0, 0];
    const lo = (f.iovaPage % 4294967296) >>> 0;
    const hi = Math.floor(f.iovaPage / 4294967296) >>> 0;
    const pp = f.pasid !== undefined ? 1 << 31 : 0;
    const w2 = (f.sid & 0xffff) | pp;
    const w3 = ((f.reason & 0xff) | (((f.pasid ?? 0) & 0xfffff) << 8) | (f.isRead ? 1 << 30 : 0) | (1 << 31)) >>> 0;
    return [lo & 0xfffff000, hi, w2 >>> 0, w3];
  }
}

/** Linux's log line for a fault (`dmar_fault_do_one`). */
export function formatFault(f: FaultRecord): string {
  const bdf = `${((f.sid >> 8) & 0xff).toString(16).padStart(2, "0")}:${((f.sid >> 3) & 0x1f).toString(16).padStart(2, "0")}.${f.sid & 7}`;
  return `[DMA ${f.isRead ? "Read" : "Write"} NO_PASID] Request device [${bdf}] fault addr 0x${f.iovaPage.toString(16)} [fault reason 0x${f.reason.toString(16).padStart(2, "0")}] ${FAULT_REASON_STRINGS[f.reason] ?? "Unknown"}`;
}
