// Re-creating the displaced instructions at the trampoline's address so they mean what they meant at the
// function entry: RIP-relative operands re-aimed at the same data, relative branches re-aimed at the same
// targets (rel8 forms widened, absolute forms beyond ±2 GB), calls made to return into the original
// function, and a jump back to the first byte after the patch.

import { HookError, hex } from "../errors.js";
import { jumpIfTo, jumpTo, jumpToSize, pushAddress } from "../emit/far-reach.js";
import { type Cond, type Label, type Target, X64Writer } from "../emit/x64-writer.js";
import type { X86Instruction } from "../x86-decoder/instruction.js";
import { branchTargetOffset, ripOperandAddress } from "./function-code.js";
import type { ProloguePlan } from "./plan.js";

function fitsInt32(value: bigint): boolean {
  return value >= -0x80000000n && value <= 0x7fffffffn;
}

/** jmp to a label (always rel32) or an address (rel32 or absolute). */
function jumpToTarget(w: X64Writer, target: Target): void {
  if (typeof target === "bigint") jumpTo(w, target);
  else w.jmp(target);
}

/** A call that returns to the instruction after it, wherever the target is. */
function callTarget(w: X64Writer, target: Target): void {
  if (typeof target !== "bigint" || w.reaches(target)) {
    w.callRelative(target);
    return;
  }
  // call [rip+2]; jmp over the pointer; dq target — the return address is the jmp.
  w.raw([0xff, 0x15, 0x02, 0x00, 0x00, 0x00, 0xeb, 0x08]);
  w.u64(target);
}

/** Copies the instruction, re-aiming a RIP-relative operand and optionally replacing ModRM.reg. */
function copyInstruction(w: X64Writer, plan: ProloguePlan, instruction: X86Instruction, modrmReg?: number): void {
  const { code } = plan;
  const out = code.bytes.slice(instruction.offset, instruction.offset + instruction.length);
  if (modrmReg !== undefined && instruction.modrm !== undefined) {
    const at = instruction.modrm.offset;
    out[at] = (out[at]! & ~0x38) | (modrmReg << 3);
  }
  if (instruction.ripRelative && instruction.displacement !== undefined) {
    const target = ripOperandAddress(code.bytes, instruction, code.address);
    const newEnd = w.origin + BigInt(w.position + instruction.length);
    const delta = target - newEnd;
    if (!fitsInt32(delta)) {
      throw new HookError(
        "HOOK_OUT_OF_RANGE",
        `function ${code.name}: +${hex(instruction.offset)}: its RIP-relative operand refers to ${hex(target)}, beyond ±2 GB of the trampoline at ${hex(w.origin)}`,
      );
    }
    new DataView(out.buffer).setInt32(instruction.displacement.offset, Number(delta), true);
  }
  w.raw(out);
}

/** Emits the relocated displaced instructions (and the jump back) at the writer's current position. */
export function emitRelocatedPrologue(w: X64Writer, plan: ProloguePlan): void {
  const { code } = plan;
  const patchEnd = plan.patchOffset + plan.patchLength;
  const labels = new Map<number, Label>(plan.displaced.map((i) => [i.offset, w.label()]));
  // Targets strictly inside the patch go to the relocated copy; the patch start itself stays external, so a
  // branch back to it runs the hook again exactly as re-entering the original code would.
  const resolve = (offset: number): Target => {
    const label = offset > plan.patchOffset && offset < patchEnd ? labels.get(offset) : undefined;
    return label ?? code.address + BigInt(offset);
  };

  for (const instruction of plan.displaced) {
    w.bind(labels.get(instruction.offset)!);
    const endOffset = instruction.offset + instruction.length;
    const originalNext = code.address + BigInt(endOffset);
    const targetOffset = branchTargetOffset(code.bytes, instruction);
    switch (instruction.flow) {
      case "jump-relative":
        jumpToTarget(w, resolve(targetOffset!));
        break;
      case "conditional-relative": {
        const target = resolve(targetOffset!);
        const cond = instruction.condition as Cond;
        if (typeof target === "bigint") jumpIfTo(w, cond, target);
        else w.jcc(cond, target);
        break;
      }
      case "counter-relative": {
        // loop/jrcxz only have rel8: "jrcxz taken; jmp short skip; taken: jmp target; skip:".
        const target = resolve(targetOffset!);
        const longJump = typeof target === "bigint" ? jumpToSize(w, target) : 5;
        if (instruction.prefixes.addressSize) w.raw([0x67]);
        w.raw([instruction.opcode, 0x02, 0xeb, longJump]);
        jumpToTarget(w, target);
        break;
      }
      case "call-relative": {
        const target = resolve(targetOffset!);
        if (targetOffset === endOffset) {
          // call next-instruction reads its own address: push the original one instead.
          pushAddress(w, originalNext);
        } else if (endOffset >= patchEnd) {
          pushAddress(w, originalNext);
          jumpToTarget(w, target);
        } else {
          callTarget(w, target);
        }
        break;
      }
      case "call-indirect":
        if (endOffset >= patchEnd) {
          pushAddress(w, originalNext);
          copyInstruction(w, plan, instruction, 4); // FF /2 call r/m -> FF /4 jmp r/m
        } else {
          copyInstruction(w, plan, instruction);
        }
        break;
      default:
        copyInstruction(w, plan, instruction);
    }
  }
  if (plan.fallsThrough) jumpTo(w, plan.resumeAddress);
}

/** The relocated prologue as bytes, for code placed at `address`. */
export function relocatePrologue(plan: ProloguePlan, address: bigint): Uint8Array {
  const w = new X64Writer(address);
  emitRelocatedPrologue(w, plan);
  return w.finish();
}
