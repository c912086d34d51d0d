// The input of prologue planning, and small facts about decoded instructions that relocation needs.

import type { X86Instruction } from "../x86-decoder/instruction.js";

/** The code of a function as read from the target: its entry address and bytes from the entry on. */
export interface FunctionCode {
  /** For messages ("function malloc: ..."). */
  readonly name: string;
  /** Run-time address of the function's first byte. */
  readonly address: bigint;
  /**
   * Bytes from the function's entry. At least the patched instructions (32 bytes are always enough);
   * the whole function (`size` bytes) lets the planner prove that no branch lands inside the patch.
   */
  readonly bytes: Uint8Array;
  /** The function's size from its symbol, when known. */
  readonly size?: number;
}

/** Sign-extended value of a little-endian field of 1, 2 or 4 bytes. */
export function readSigned(bytes: Uint8Array, offset: number, size: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 1) return view.getInt8(offset);
  if (size === 2) return view.getInt16(offset, true);
  if (size === 4) return view.getInt32(offset, true);
  throw new Error(`no ${size}-byte displacement exists`);
}

/** Offset (in the same buffer as the instruction) that a relative branch lands on. */
export function branchTargetOffset(bytes: Uint8Array, instruction: X86Instruction): number | undefined {
  const field = instruction.branchDisplacement;
  if (field === undefined) return undefined;
  const displacement = readSigned(bytes, instruction.offset + field.offset, field.size);
  return instruction.offset + instruction.length + displacement;
}

/** The absolute address a RIP-relative memory operand refers to, given where the instruction lived. */
export function ripOperandAddress(bytes: Uint8Array, instruction: X86Instruction, functionAddress: bigint): bigint {
  const field = instruction.displacement;
  if (!instruction.ripRelative || field === undefined) throw new Error("not a RIP-relative instruction");
  const displacement = readSigned(bytes, instruction.offset + field.offset, field.size);
  return functionAddress + BigInt(instruction.offset + instruction.length + displacement);
}
