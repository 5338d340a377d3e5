// Deferred IOTLB invalidation, the DMA-FQ domain type (io-pagetables.md §9, dma-iommu.c):
// unmaps clear PTEs at once, but the invalidation and the freeing of table pages wait until the ring
// of IOVA_DEFAULT_FQ_SIZE slots is full (one kept free) or the 10 ms timer fires (fq_flush_timeout).
// The flush is flush_iotlb_all = a domain-selective invalidation. Time is a model clock in ms.

export const IOVA_DEFAULT_FQ_SIZE = 256;
export const IOVA_DEFAULT_FQ_TIMEOUT_MS = 10;
export const IOVA_SINGLE_FQ_SIZE = 32768;
export const IOVA_SINGLE_FQ_TIMEOUT_MS = 1000;

export class FlushQueue {
  /** Entries waiting for a flush (each an unmap's IOVA range plus its freed tables). */
  pending = 0;
  /** Table pages held until the flush. */
  readonly heldTables: number[] = [];
  flushes = 0;
  private armedAt = -1;

  constructor(
    /** Runs the domain-selective flush on every unit, then frees `tables`. */
    private readonly flushAll: (tables: number[]) => void,
    readonly size = IOVA_DEFAULT_FQ_SIZE,
    readonly timeoutMs = IOVA_DEFAULT_FQ_TIMEOUT_MS,
  ) {}

  /** queue_iova: full ring (size-1 used) forces a flush first; the first entry arms the timer. */
  enqueue(tables: number[], nowMs: number): void {
    if (this.pending >= this.size - 1) this.flush();
    this.pending++;
    for (let i = 0; i < tables.length; i++) this.heldTables.push(tables[i]);
    if (this.armedAt < 0) this.armedAt = nowMs;
  }

  /** fq_flush_timeout: flushes when the timer armed at the first enqueue has expired. */
  poll(nowMs: number): boolean {
    if (this.armedAt >= 0 && nowMs - this.armedAt >= this.timeoutMs) {
      this.flush();
      return true;
    }
    return false;
  }

  flush(): void {
    if (this.pending === 0 && this.heldTables.length === 0) return;
    const tables = this.heldTables.splice(0);
    this.pending = 0;
    this.armedAt = -1;
    this.flushes++;
    this.flushAll(tables);
  }
}
