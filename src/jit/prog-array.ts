// The table a compiled bpf_tail_call jumps through (see x64/compiler/calls.ts): native memory laid out as
// { u32 max_entries; u32 pad; u64 entry[max_entries] }, where entry[i] is the tail-call entry address of
// a compiled program or 0. A program passes the table's address as bpf_tail_call's map argument (r2),
// typically as an lddw constant; the runtime fills the entries. Updates are single aligned 8-byte
// stores, so a program running on another thread sees either the old or the new target.

import { NativeRegion } from "./executable-memory.js";
import type { JitProgram } from "./native-program.js";
import { PROG_ARRAY_ENTRIES, PROG_ARRAY_MAX_ENTRIES } from "./x64/compiler/calls.js";

export class ProgArrayTable {
  private readonly region: NativeRegion;
  private readonly view: DataView;

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0 || maxEntries > 0xffffffff) throw new RangeError(`bad prog array size ${maxEntries}`);
    this.region = NativeRegion.allocate(PROG_ARRAY_ENTRIES + 8 * maxEntries);
    const bytes = this.region.bytes();
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view.setUint32(PROG_ARRAY_MAX_ENTRIES, maxEntries, true);
  }

  /** The value for bpf_tail_call's r2. */
  get address(): bigint {
    return this.region.address;
  }

  /** Makes slot `index` jump to `program` (or fail, with null). */
  set(index: number, program: JitProgram | null): void {
    this.setTarget(index, program?.tailCallEntryAddress ?? 0n);
  }

  /** The raw form of `set`: a tail-call entry address, or 0 for an empty slot. */
  setTarget(index: number, address: bigint): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw new RangeError(`index ${index} is outside the prog array (${this.maxEntries} entries)`);
    this.view.setBigUint64(PROG_ARRAY_ENTRIES + 8 * index, address, true);
  }

  /** The tail-call target of slot `index`: a code address, or 0. */
  target(index: number): bigint {
    return this.view.getBigUint64(PROG_ARRAY_ENTRIES + 8 * index, true);
  }

  free(): void {
    this.region.free();
  }
}
