// The state one compilation shares between the instruction translators: the code buffer, where each
// slot's code starts (in this pass and the previous one), which jumps have been shrunk to rel8, and the
// offsets of the fixed pieces (fault handler, helper table) that instructions refer to.
//
// Jump sizing: the first pass emits every jump as rel32, which makes every offset an upper bound. Each
// later pass turns a jump into rel8 once its distance, measured with offsets that can only be too large,
// fits; a shrunk jump stays shrunk, so code only ever gets smaller and the passes converge. When a pass
// produces the same size as the one before, every offset is final and the code is exact.

import type { Insn } from "../../../isa/instruction.js";
import { CodeBuffer } from "../assembler/code-buffer.js";
import { JCC_REL8_SIZE, jccRel32, jccRel8, JMP_REL8_SIZE, jmpRel32, jmpRel8 } from "../assembler/control.js";
import { mem, type Mem } from "../assembler/memory-operand.js";
import type { ProgramShape } from "./call-graph.js";

export interface EmitterOptions {
  /** Native addresses of helpers by id (the helper table's contents). */
  helpers: ReadonlyMap<number, bigint>;
  /** Bounds-check memory, count back edges against a budget, and report faults in this status block. */
  statusAddress: bigint | undefined;
}

export class Emitter {
  readonly buf: CodeBuffer;
  /** Code offset of each slot in the current pass. */
  offsets: Int32Array;
  /** The same from the previous pass (upper bounds in the first pass, never read there for sizing). */
  previous: Int32Array;
  /** 1 once the jump at a slot is emitted as rel8 (sticky across passes). */
  readonly shortJump: Uint8Array;
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
      const size = cc < 0 ? JMP_REL8_SIZE : JCC_REL8_SIZE;
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
    } else if (cc < 0) {
      jmpRel32(buf, destination);
    } else {
      jccRel32(buf, cc, destination);
    }
  }
}
