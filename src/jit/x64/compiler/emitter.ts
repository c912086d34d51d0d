// The state one compilation shares between the instruction translators: the code buffer, where each
// slot's code starts (in this pass and the previous one), which jumps have been shrunk to rel8, and the
// offsets of the fixed pieces (fault handler, helper table) that instructions refer to.
//
// Jump sizing: the first pass emits every jump as rel32, which makes every offset an upper bound, and
// records where each jump is. `relax` then shrinks jumps to rel8 on those records alone (no emitting),
// sweeping until nothing more fits, and predicts every slot's offset. The second pass emits with those
// offsets, which are exact when the prediction holds (the normal case). Should it not, later passes go
// on shrinking any jump whose distance, measured with offsets that can only be too large, fits; a
// shrunk jump stays shrunk, so code only gets smaller and the passes converge. When a pass produces the
// same size as the one before, every offset is final and the code is exact.

import type { Insn } from "../../../isa/instruction.js";
import { CodeBuffer } from "../assembler/code-buffer.js";
import { JCC_REL32_SIZE, JCC_REL8_SIZE, jccRel32, jccRel8, JMP_REL32_SIZE, JMP_REL8_SIZE, jmpRel32, jmpRel8 } from "../assembler/control.js";
import { mem, type Mem } from "../assembler/memory-operand.js";
import type { ProgramShape } from "./call-graph.js";

export interface EmitterOptions {
  /** Native addresses of helpers by id (the helper table's contents). */
  helpers: ReadonlyMap<number, bigint>;
  /** Bounds-check memory, count back edges against a budget, and report faults in this status block. */
  statusAddress: bigint | undefined;
  /** Inline helper 12 as a tail call. */
  tailCalls: boolean;
}

export class Emitter {
  readonly buf: CodeBuffer;
  /** Code offset of each slot in the current pass. */
  offsets: Int32Array;
  /** The same from the previous pass (upper bounds in the first pass, never read there for sizing). */
  previous: Int32Array;
  /** 1 once the jump at a slot is emitted as rel8 (sticky across passes). */
  readonly shortJump: Uint8Array;
  /** First pass: the slot's jump target (-1: no jump), where its rel32 jump ends, and bytes rel8 saves. */
  private readonly jumpTarget: Int32Array;
  private readonly jumpEnd: Int32Array;
  private readonly jumpSaving: Uint8Array;
  pass = 0;
  /** Offsets of fixed pieces, from the previous pass when they come after the body. */
  faultHandler = 0;
  missingHelperStub = 0;
  helperTable = 0;
  helperTableLength = 0;
  /** A memory operand reused by every access (mutated, never allocated per instruction). */
  readonly m: Mem = mem(0);

  constructor(
    readonly program: readonly Insn[],
    readonly shape: ProgramShape,
    readonly options: EmitterOptions,
  ) {
    this.buf = new CodeBuffer(Math.max(4096, program.length * 16));
    this.offsets = new Int32Array(program.length);
    this.previous = new Int32Array(program.length);
    this.shortJump = new Uint8Array(program.length);
    this.jumpTarget = new Int32Array(program.length).fill(-1);
    this.jumpEnd = new Int32Array(program.length);
    this.jumpSaving = new Uint8Array(program.length);
  }

  /**
   * After the first pass (whose body ended at `bodyEnd`): marks every jump that fits as rel8 and puts the
   * resulting offsets in `offsets`, to be the next pass's `previous`. Returns the predicted body end.
   */
  relax(bodyEnd: number): number {
    const n = this.program.length;
    const sizes = new Int32Array(n);
    for (let i = 0; i < n; i++) sizes[i] = (i + 1 < n ? this.offsets[i + 1]! : bodyEnd) - this.offsets[i]!;
    const start = this.offsets[0]!;
    const offsets = this.offsets;
    let end = bodyEnd;
    for (let changed = true; changed; ) {
      changed = false;
      let at = start;
      for (let i = 0; i < n; i++) {
        offsets[i] = at;
        at += sizes[i]!;
      }
      end = at;
      for (let i = 0; i < n; i++) {
        const target = this.jumpTarget[i]!;
        if (target < 0 || this.shortJump[i]) continue;
        // Offsets from before this sweep's shrinking can only overstate a distance. A forward jump's
        // own shrinking moves its target as much as its end, so its long-form distance is the one.
        const end = offsets[i]! + this.jumpEnd[i]! - (target > i ? 0 : this.jumpSaving[i]!);
        const distance = offsets[target]! - end;
        if (distance >= -128 && distance <= 127) {
          this.shortJump[i] = 1;
          sizes[i] = sizes[i]! - this.jumpSaving[i]!;
          changed = true;
        }
      }
    }
    return end;
  }

  get checked(): boolean {
    return this.options.statusAddress !== undefined;
  }

  /** Starts a new pass: the current offsets become the previous ones. */
  startPass(): void {
    const swap = this.previous;
    this.previous = this.offsets;
    this.offsets = swap;
    this.buf.reset();
    this.pass++;
  }

  /**
   * The offset of slot `target` as seen from slot `from`: exact for a slot already emitted in this pass,
   * the previous pass's (an upper bound) for one ahead.
   */
  slotOffset(target: number, from: number): number {
    return target <= from ? this.offsets[target]! : this.previous[target]!;
  }

  /**
   * A jump (cc >= 0: jcc, cc < 0: jmp) from slot `from` to slot `target` (at most one per slot): rel8
   * once it is known to fit.
   */
  jumpToSlot(cc: number, from: number, target: number): void {
    const buf = this.buf;
    const destination = this.slotOffset(target, from);
    if (!this.shortJump[from] && this.pass > 1) {
      // Forward, the previous pass put the target after this jump's rel32 form (see relax).
      const size = target > from ? (cc < 0 ? JMP_REL32_SIZE : JCC_REL32_SIZE) : cc < 0 ? JMP_REL8_SIZE : JCC_REL8_SIZE;
      const distance = destination - (buf.length + size);
      if (distance >= -128 && distance <= 127) this.shortJump[from] = 1;
    }
    if (this.shortJump[from]) {
      // Only in a pass whose forward offsets are still settling can a rel8 seem not to fit; its bytes are
      // then discarded, so any in-range placeholder will do.
      const distance = destination - (buf.length + 2);
      const target8 = distance >= -128 && distance <= 127 ? destination : buf.length + 2;
      if (cc < 0) jmpRel8(buf, target8);
      else jccRel8(buf, cc, target8);
    } else {
      if (cc < 0) jmpRel32(buf, destination);
      else jccRel32(buf, cc, destination);
      if (this.pass === 1) {
        this.jumpTarget[from] = target;
        this.jumpEnd[from] = buf.length - this.offsets[from]!;
        this.jumpSaving[from] = cc < 0 ? JMP_REL32_SIZE - JMP_REL8_SIZE : JCC_REL32_SIZE - JCC_REL8_SIZE;
      }
    }
  }
}
