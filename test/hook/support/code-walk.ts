// Reads generated or relocated code back: every instruction with the absolute address it refers to, so a
// test can check where relocated code reads and jumps without running it.

import { decodeInstruction } from "../../../src/hook/x86-decoder/decode.js";
import type { X86Instruction } from "../../../src/hook/x86-decoder/instruction.js";
import { branchTargetOffset, readSigned } from "../../../src/hook/relocator/function-code.js";

export interface WalkedInstruction {
  readonly address: bigint;
  readonly instruction: X86Instruction;
  readonly bytes: Uint8Array;
  /** Target of a relative branch. */
  readonly branchTarget?: bigint;
  /** Address a RIP-relative operand reads. */
  readonly ripTarget?: bigint;
  /** For `jmp [rip+0]; dq target`, the 8-byte target that follows (skipped by the walk). */
  readonly absoluteTarget?: bigint;
}

function isAbsoluteJump(bytes: Uint8Array, at: number): boolean {
  return [0xff, 0x25, 0, 0, 0, 0].every((b, i) => bytes[at + i] === b);
}

export function walkCode(bytes: Uint8Array, origin: bigint): WalkedInstruction[] {
  const out: WalkedInstruction[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const instruction = decodeInstruction(bytes, at);
    const address = origin + BigInt(at);
    const own = bytes.subarray(at, at + instruction.length);
    if (isAbsoluteJump(bytes, at)) {
      out.push({ address, instruction, bytes: own, absoluteTarget: view.getBigUint64(at + 6, true) });
      at += 14;
      continue;
    }
    const branch = branchTargetOffset(bytes, instruction);
    let ripTarget: bigint | undefined;
    if (instruction.ripRelative && instruction.displacement) {
      ripTarget = address + BigInt(instruction.length + readSigned(bytes, at + instruction.displacement.offset, 4));
    }
    out.push({
      address,
      instruction,
      bytes: own,
      ...(branch === undefined ? {} : { branchTarget: origin + BigInt(branch) }),
      ...(ripTarget === undefined ? {} : { ripTarget }),
    });
    at += instruction.length;
  }
  return out;
}

export function hexBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
