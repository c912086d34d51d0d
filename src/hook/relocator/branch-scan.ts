// Once the patch is written, its first bytes are a jmp and the rest int3: any branch elsewhere in the
// function that lands strictly inside those bytes would execute garbage. A linear sweep of the function body
// finds every direct branch (jmp, jcc, call, loop, xbegin) and refuses the hook if one lands there.
// Indirect branches (jump tables) cannot be checked this way; GCC and Clang do not aim them at a function's
// first instructions, which is the same assumption frida and the kernel's uprobe emulation make.

import { HookError, hex } from "../errors.js";
import { decodeInstruction, InstructionDecodeError } from "../x86-decoder/decode.js";
import type { X86Instruction } from "../x86-decoder/instruction.js";
import { branchTargetOffset, type FunctionCode } from "./function-code.js";

export type BranchScanExtent =
  /** Every instruction of the function (its size was known and all its bytes were given). */
  | "function"
  /** The bytes given, up to the first thing that did not decode (size unknown, or bytes shorter than it). */
  | "partial";

export interface PatchedRange {
  readonly start: number;
  readonly end: number;
}

function describeRange(range: PatchedRange): string {
  return range.start === 0 ? `the first ${range.end} bytes` : `the patched bytes +${hex(range.start)}..+${hex(range.end)}`;
}

/** Decodes the function from offset 0 and returns its instructions (as far as they can be decoded). */
export function sweepFunction(code: FunctionCode): { instructions: X86Instruction[]; extent: BranchScanExtent } {
  const complete = code.size !== undefined && code.bytes.length >= code.size;
  const limit = complete ? code.size! : code.bytes.length;
  const body = code.bytes.subarray(0, limit);
  const instructions: X86Instruction[] = [];
  let position = 0;
  while (position < limit) {
    let instruction: X86Instruction;
    try {
      instruction = decodeInstruction(body, position);
    } catch (error) {
      if (!(error instanceof InstructionDecodeError)) throw error;
      if (complete) {
        throw new HookError("HOOK_UNDECODABLE", `function ${code.name}: +${hex(position)}: ${error.reason}`);
      }
      return { instructions, extent: "partial" };
    }
    instructions.push(instruction);
    position += instruction.length;
  }
  return { instructions, extent: complete ? "function" : "partial" };
}

/** Refuses when a direct branch outside `range` lands strictly inside it. */
export function checkBranchesIntoPatch(code: FunctionCode, instructions: readonly X86Instruction[], range: PatchedRange): void {
  for (const instruction of instructions) {
    const inside = instruction.offset >= range.start && instruction.offset < range.end;
    if (inside) continue;
    const target = branchTargetOffset(code.bytes, instruction);
    if (target !== undefined && target > range.start && target < range.end) {
      throw new HookError(
        "HOOK_BRANCH_INTO_PATCH",
        `function ${code.name}: a branch at +${hex(instruction.offset)} jumps to +${hex(target)}, into ${describeRange(range)}`,
      );
    }
  }
}
