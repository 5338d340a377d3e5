// Pool of 4 KiB translation tables (512 eight-byte entries each) in one growable Uint32Array.
// Entry i of table t is the word pair words[t*1024 + 2i] (bits 31:0) / [+1] (bits 63:32): flat
// memory, no object per entry, no BigInt. Freed tables go on a free list and are zeroed on reuse,
// like iommu_alloc_pages_node() handing out zeroed pages. Shared by VT-d and AMD-Vi v1.

import { IommuError } from "./domain.js";

export const TABLE_WORDS = 1024;
export const TABLE_BYTES = 4096;
/** Table index t must keep t * 1024 inside int32 arithmetic. */
export const MAX_TABLES = 1 << 21;

export class TablePool {
  words: Uint32Array;
  /** Tables handed out and not yet freed (the figure the hardware would see as table memory). */
  inUse = 0;
  private bump = 0;
  private capacity: number;
  private freeList: Int32Array;
  private freeCount = 0;
  private readonly maxTables: number;

  constructor(initialTables = 16, maxTables = MAX_TABLES) {
    this.capacity = Math.max(1, initialTables);
    this.maxTables = Math.min(maxTables, MAX_TABLES);
    this.words = new Uint32Array(this.capacity * TABLE_WORDS);
    this.freeList = new Int32Array(this.capacity);
  }

  /** Backing memory reserved (in use + free + not yet handed out). */
  get reservedBytes(): number {
    return this.capacity * TABLE_BYTES;
  }

  /** Returns a zero-filled table's index; throws IommuError ENOMEM past maxTables. */
  alloc(): number {
    this.inUse++;
    if (this.freeCount > 0) {
      const t = this.freeList[--this.freeCount];
      this.words.fill(0, t * TABLE_WORDS, (t + 1) * TABLE_WORDS);
      return t;
    }
    if (this.bump === this.capacity) this.grow();
    return this.bump++;
  }

  free(t: number): void {
    this.inUse--;
    this.freeList[this.freeCount++] = t;
  }

  private grow(): void {
    if (this.capacity >= this.maxTables) {
      this.inUse--;
      throw new IommuError("alloc", "ENOMEM", `page-table pool exhausted (${this.maxTables} tables)`);
    }
    // x2 while small, then x1.25 so the reserve stays close to what is in use.
    const next = Math.min(this.maxTables, this.capacity < 4096 ? this.capacity * 2 : Math.ceil(this.capacity * 1.25));
    const words = new Uint32Array(next * TABLE_WORDS);
    words.set(this.words);
    this.words = words;
    const fl = new Int32Array(next);
    fl.set(this.freeList.subarray(0, this.freeCount));
    this.freeList = fl;
    this.capacity = next;
  }
}
