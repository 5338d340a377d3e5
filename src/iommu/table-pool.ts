// Pool of 4 KiB translation tables (512 eight-byte entries each) in one growable Int32Array.
// Entry i of table t is the word pair words[t*1024 + 2i] (bits 31:0) / [+1] (bits 63:32): flat
// memory, no object per entry, no BigInt. Freed tables go on a free list and are zeroed on reuse,
// like iommu_alloc_pages_node() handing out zeroed pages. Shared by VT-d and AMD-Vi v1.

import { IommuError } from "./domain.js";

export const TABLE_WORDS = 1024;
export const TABLE_BYTES = 4096;
/** Table index t fits the 20 address bits 31:12 of an entry's low word (4 GiB of tables). */
export const MAX_TABLES = 1 << 20;

export class TablePool {
  words: Int32Array;
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
    this.words = new Int32Array(this.capacity * TABLE_WORDS);
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

  /** Makes room for n more tables in one step (a large map knows how many it will need). */
  reserve(n: number): void {
    const need = this.bump + Math.max(0, n - this.freeCount);
    if (need > this.capacity && this.capacity < this.maxTables) this.resize(Math.min(this.maxTables, Math.max(need, this.capacity * 2)));
  }

  private grow(): void {
    if (this.capacity >= this.maxTables) {
      this.inUse--;
      throw new IommuError("alloc", "ENOMEM", `page-table pool exhausted (${this.maxTables} tables)`);
    }
    // Doubling keeps the copying linear in the final size.
    this.resize(Math.min(this.maxTables, this.capacity * 2));
  }

  private resize(next: number): void {
    const words = new Int32Array(next * TABLE_WORDS);
    words.set(this.words);
    this.words = words;
    const fl = new Int32Array(next);
    fl.set(this.freeList.subarray(0, this.freeCount));
    this.freeList = fl;
    this.capacity = next;
  }
}
