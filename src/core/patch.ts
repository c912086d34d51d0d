// Writing a resolved relocation into its instruction (bpf_core_patch_insn). The instruction must hold the
// local value where the resolution says so: otherwise the compiler and we disagree about what is being
// relocated, and patching would silently compute garbage.
//
//   rX = imm, rX += imm, ...      ALU/ALU64 with an immediate: the immediate
//   rX = *(T *)(rY + off)         LDX, ST, STX: the offset, and the access size when the field's size changed
//   rX = imm64                    LDDW: the 64-bit constant (type ids, enum values)

import type { Insn } from "../isa/instruction.js";
import {
  BPF_ALU,
  BPF_ALU64,
  BPF_B,
  BPF_DW,
  BPF_H,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_ST,
  BPF_STX,
  BPF_W,
  OP_LDDW,
  insnClass,
  memMode,
  memSize,
  sizeBytes,
  srcBit,
} from "../isa/opcodes.js";
import { CoreError } from "./errors.js";
import type { CoreResolution } from "./resolution.js";

const MAX_OFFSET = 0x7fff;

export type PatchOutcome = { poisoned: false } | { poisoned: true; reason: string };

function badInsn(index: number, why: string): CoreError {
  return new CoreError("CORE_BAD_INSN", `instruction ${index}: ${why}`);
}

const u64 = (n: number): bigint => BigInt.asUintN(64, BigInt(n));

function checkValue(index: number, what: string, actual: bigint, resolution: CoreResolution): void {
  if (resolution.validate && actual !== resolution.localValue) {
    throw badInsn(index, `${what} is ${actual}, but the relocation expects ${resolution.localValue} (-> ${resolution.targetValue})`);
  }
}

function sizeField(bytes: number): number | undefined {
  return { 1: BPF_B, 2: BPF_H, 4: BPF_W, 8: BPF_DW }[bytes];
}

/**
 * Patches `insns[index]` (replacing the element, not mutating the old object). Returns whether the caller
 * must poison the instruction instead: the resolution asks for it, or a load/store would have to change
 * size on a field where that reads a wrong value.
 */
export function patchInstruction(insns: Insn[], index: number, resolution: CoreResolution): PatchOutcome {
  if (resolution.poison) return { poisoned: true, reason: resolution.reason ?? "the relocation has no target" };
  const insn = insns[index];
  if (insn === undefined) throw new CoreError("CORE_BAD_INSN_OFFSET", `instruction ${index} is outside the program (${insns.length} slots)`);
  const { targetValue } = resolution;
  switch (insnClass(insn.code)) {
    case BPF_ALU:
    case BPF_ALU64:
      if (srcBit(insn.code) !== BPF_K) throw badInsn(index, "an ALU relocation needs an immediate operand");
      checkValue(index, "the immediate", u64(insn.imm), resolution);
      insns[index] = { ...insn, imm: Number(BigInt.asIntN(32, targetValue)) };
      return { poisoned: false };
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX:
      return patchMemoryAccess(insns, index, insn, resolution);
    case BPF_LD:
      patchLddw(insns, index, insn, resolution);
      return { poisoned: false };
    default:
      throw badInsn(index, `opcode 0x${insn.code.toString(16)} cannot carry a CO-RE relocation`);
  }
}

function patchMemoryAccess(insns: Insn[], index: number, insn: Insn, resolution: CoreResolution): PatchOutcome {
  const { targetValue, localMemSize, targetMemSize } = resolution;
  checkValue(index, "the offset", u64(insn.off), resolution);
  if (targetValue > BigInt(MAX_OFFSET)) {
    throw new CoreError("CORE_OFFSET_TOO_BIG", `instruction ${index}: offset ${targetValue} does not fit a load/store (at most ${MAX_OFFSET})`);
  }
  if (resolution.memSizeChangeUnsafe) {
    return {
      poisoned: true,
      reason:
        `the field's size changed from ${localMemSize} to ${targetMemSize} bytes and it is neither a pointer nor an ` +
        "unsigned integer, so the load/store cannot be resized",
    };
  }
  let code = insn.code;
  if (localMemSize !== targetMemSize) {
    const accessBytes = sizeBytes(memSize(insn.code));
    if (accessBytes !== localMemSize) {
      throw badInsn(index, `the access moves ${accessBytes} bytes, but the field is ${localMemSize} bytes`);
    }
    const size = sizeField(targetMemSize);
    if (size === undefined) throw badInsn(index, `the field's new size ${targetMemSize} is not a load/store size`);
    code = memMode(insn.code) | size | insnClass(insn.code);
  }
  insns[index] = { ...insn, code, off: Number(targetValue) };
  return { poisoned: false };
}

function patchLddw(insns: Insn[], index: number, insn: Insn, resolution: CoreResolution): void {
  const next = insns[index + 1];
  const plainLddw =
    insn.code === OP_LDDW &&
    insn.src === 0 &&
    insn.off === 0 &&
    next !== undefined &&
    next.code === 0 &&
    next.dst === 0 &&
    next.src === 0 &&
    next.off === 0;
  if (!plainLddw) throw badInsn(index, "expected a plain 64-bit immediate load (lddw)");
  const value = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
  checkValue(index, "the 64-bit immediate", value, resolution);
  const bits = BigInt.asUintN(64, resolution.targetValue);
  insns[index] = { ...insn, imm: Number(BigInt.asIntN(32, bits)) };
  insns[index + 1] = { ...next, imm: Number(BigInt.asIntN(32, bits >> 32n)) };
}
