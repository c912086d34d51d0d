// Choosing the instructions a hook displaces: the whole instructions at the patch site that cover the
// 5-byte `jmp rel32`, after an endbr64 landing pad (kept in place so indirect calls still land under IBT),
// with a refusal naming the reason for anything that cannot run from another address.
//
// Calls get special care. A displaced `call` is re-created as "push the original return address; jmp
// callee", so the callee returns into the original function — which is only sound if that return address
// lies past the patch, i.e. the call is the last displaced instruction. A call earlier in the window would
// make the callee return into the middle of the patch (and a thread already inside the callee when the patch
// is written would crash there), so it is refused unless the caller opts into returning into the trampoline.

import { HookError, hex } from "../errors.js";
import { decodeInstruction, InstructionDecodeError, startsWithEndbr64 } from "../x86-decoder/decode.js";
import type { X86Instruction } from "../x86-decoder/instruction.js";
import { type BranchScanExtent, checkBranchesIntoPatch, sweepFunction } from "./branch-scan.js";
import { branchTargetOffset, type FunctionCode } from "./function-code.js";

/** `jmp rel32`. */
export const NEAR_PATCH_SIZE = 5;
const ENDBR64_SIZE = 4;

export interface PlanOptions {
  /** Probe offset from the function entry (`uprobe/bin:func+offset`); 0 = the entry. */
  readonly offset?: number;
  /** Bytes the patch needs; 5 for `jmp rel32` (the default), 14 for an absolute `jmp [rip]`. */
  readonly patchSize?: number;
  /** Keep an endbr64 at the entry and patch after it (default true). */
  readonly keepEndbr64?: boolean;
  /**
   * Accept a call that is not the last displaced instruction; the relocated call then returns into the
   * trampoline, which must then outlive every thread that might still be inside that callee. Only safe when
   * no thread can be inside the function while it is patched (e.g. before `main`). Default false.
   */
  readonly allowCallsReturningIntoTrampoline?: boolean;
}

export interface ProloguePlan {
  readonly code: FunctionCode;
  /** The probe offset asked for (0 = the function entry, even when the patch goes after an endbr64). */
  readonly probeOffset: number;
  /** Offset of the patch from the function entry (0, 4 after endbr64, or the probe offset). */
  readonly patchOffset: number;
  readonly patchAddress: bigint;
  /** Bytes replaced: whole instructions, at least the patch size. */
  readonly patchLength: number;
  /** The bytes the patch replaces, to restore on detach and to check before patching. */
  readonly originalBytes: Uint8Array;
  /** The displaced instructions (offsets relative to the function entry). */
  readonly displaced: readonly X86Instruction[];
  /** False when the displaced code never continues past itself (it ends in jmp, ret, ud2 or a final call). */
  readonly fallsThrough: boolean;
  /** Where execution continues in the original function after the displaced instructions. */
  readonly resumeAddress: bigint;
  /** How much of the function the search for branches into the patch covered. */
  readonly branchScan: BranchScanExtent;
  /** The displaced code enters the kernel (syscall/int): no thread may be stopped inside the patch. */
  readonly entersKernel: boolean;
  /** A relocated call returns into the trampoline (only with allowCallsReturningIntoTrampoline). */
  readonly returnsIntoTrampoline: boolean;
}

/** The instructions after which execution never falls through, as a user would name them. */
const ENDS_BLOCK: ReadonlyMap<string, string> = new Map([
  ["jump-relative", "a jmp"],
  ["jump-indirect", "an indirect jmp"],
  ["return", "a ret"],
  ["trap", "a ud2/hlt"],
]);

function bytes(count: number): string {
  return count === 1 ? "1 byte" : `${count} bytes`;
}

function patchName(size: number): string {
  return size === NEAR_PATCH_SIZE ? "a jmp rel32" : "an absolute jmp";
}

function refuseInstruction(code: FunctionCode, instruction: X86Instruction, patchEnd: number, options: PlanOptions): void {
  const at = `function ${code.name}: +${hex(instruction.offset)}`;
  switch (instruction.flow) {
    case "far":
      throw new HookError("HOOK_UNRELOCATABLE", `${at}: a far transfer cannot be relocated`);
    case "transaction":
      throw new HookError("HOOK_UNRELOCATABLE", `${at}: xbegin cannot be separated from its transaction`);
    default:
      break;
  }
  if (instruction.isInt3) {
    throw new HookError("HOOK_UNRELOCATABLE", `${at}: int3 (a breakpoint of a debugger or of a kernel uprobe?) cannot be relocated`);
  }
  const isCall = instruction.flow === "call-relative" || instruction.flow === "call-indirect";
  if (!isCall) return;
  const end = instruction.offset + instruction.length;
  const getPc = instruction.flow === "call-relative" && branchTargetOffset(code.bytes, instruction) === end;
  if (getPc || end >= patchEnd || options.allowCallsReturningIntoTrampoline === true) return;
  throw new HookError(
    "HOOK_CALL_IN_PATCH",
    `${at}: the call would return to +${hex(end)}, inside the patched bytes (a thread inside the callee would return into the patch)`,
  );
}

function refuseStackRelativeIndirectCall(code: FunctionCode, instruction: X86Instruction, lastInWindow: boolean): void {
  // Re-created as push + jmp [m]: the push moves rsp, so an rsp-based operand would read the wrong slot.
  if (instruction.flow === "call-indirect" && lastInWindow && instruction.modrm?.base === 4) {
    throw new HookError("HOOK_UNRELOCATABLE", `function ${code.name}: +${hex(instruction.offset)}: an indirect call through an rsp-based operand cannot be relocated`);
  }
}

function patchStart(code: FunctionCode, options: PlanOptions): number {
  const offset = options.offset ?? 0;
  if (offset === 0) return options.keepEndbr64 !== false && startsWithEndbr64(code.bytes) ? ENDBR64_SIZE : 0;
  return offset;
}

function decodeAt(code: FunctionCode, offset: number): X86Instruction {
  try {
    return decodeInstruction(code.bytes, offset);
  } catch (error) {
    if (!(error instanceof InstructionDecodeError)) throw error;
    if (error.reason === "truncated" && code.size !== undefined && offset >= code.size) {
      throw new HookError("HOOK_TOO_SHORT", `function ${code.name}: too short to patch`);
    }
    throw new HookError("HOOK_UNDECODABLE", `function ${code.name}: +${hex(offset)}: ${error.reason}`);
  }
}

/** Chooses the displaced instructions and checks that they, and the function around them, allow the patch. */
export function planPrologue(code: FunctionCode, options: PlanOptions = {}): ProloguePlan {
  const patchSize = options.patchSize ?? NEAR_PATCH_SIZE;
  const start = patchStart(code, options);
  const needed = start + patchSize;
  if (code.size !== undefined && code.size < needed) {
    const what = start === 0 ? `it is ${bytes(code.size)}` : `it has ${bytes(Math.max(code.size - start, 0))} after +${hex(start)}`;
    throw new HookError("HOOK_TOO_SHORT", `function ${code.name}: too short to patch: ${what}, ${patchName(patchSize)} needs ${bytes(patchSize)}`);
  }

  const swept = sweepFunction(code);
  if (start > 0 && !swept.instructions.some((i) => i.offset === start)) {
    const reached = swept.instructions.reduce((end, i) => Math.max(end, i.offset + i.length), 0);
    if (reached > start) throw new HookError("HOOK_BAD_OFFSET", `function ${code.name}: +${hex(start)} is not the start of an instruction`);
  }

  const displaced: X86Instruction[] = [];
  let position = start;
  let fallsThrough = true;
  let entersKernel = false;
  let returnsIntoTrampoline = false;
  while (position < needed) {
    const instruction = decodeAt(code, position);
    refuseInstruction(code, instruction, needed, options);
    const end = position + instruction.length;
    refuseStackRelativeIndirectCall(code, instruction, end >= needed);
    displaced.push(instruction);
    position = end;
    if (instruction.flow === "system") entersKernel = true;
    const isCall = instruction.flow === "call-relative" || instruction.flow === "call-indirect";
    const getPc = isCall && branchTargetOffset(code.bytes, instruction) === end;
    if (isCall && !getPc) {
      if (end >= needed) fallsThrough = false;
      else returnsIntoTrampoline = true;
    }
    const ending = ENDS_BLOCK.get(instruction.flow);
    if (ending !== undefined) {
      if (end < needed) {
        throw new HookError(
          "HOOK_TOO_SHORT",
          `function ${code.name}: too short to patch: it ends at +${hex(end)} (${ending} at +${hex(instruction.offset)}), ${patchName(patchSize)} needs ${bytes(patchSize)} from +${hex(start)}`,
        );
      }
      fallsThrough = false;
    }
  }
  if (code.size !== undefined && position > code.size) {
    throw new HookError("HOOK_TOO_SHORT", `function ${code.name}: too short to patch: its last instruction ends past its ${code.size} bytes`);
  }

  const range = { start, end: position };
  checkBranchesIntoPatch(code, swept.instructions, range);
  checkInternalTargets(code, displaced, range);

  return {
    code,
    probeOffset: options.offset ?? 0,
    patchOffset: start,
    patchAddress: code.address + BigInt(start),
    patchLength: position - start,
    originalBytes: code.bytes.slice(start, position),
    displaced,
    fallsThrough,
    resumeAddress: code.address + BigInt(position),
    branchScan: swept.extent,
    entersKernel,
    returnsIntoTrampoline,
  };
}

/** A displaced branch aimed inside the displaced range must land on one of the displaced instructions. */
function checkInternalTargets(code: FunctionCode, displaced: readonly X86Instruction[], range: { start: number; end: number }): void {
  const boundaries = new Set(displaced.map((i) => i.offset));
  for (const instruction of displaced) {
    const target = branchTargetOffset(code.bytes, instruction);
    if (target === undefined || target <= range.start || target >= range.end) continue;
    if (!boundaries.has(target)) {
      throw new HookError(
        "HOOK_BRANCH_INTO_PATCH",
        `function ${code.name}: a branch at +${hex(instruction.offset)} jumps to +${hex(target)}, inside an instruction of the patched bytes`,
      );
    }
  }
}
