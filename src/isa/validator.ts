// Encoding validation: the checks that need no data-flow analysis. A program that passes has only known
// opcodes, zero in every unused field, registers in range, well-formed LDDW pairs, every jump and local
// call landing on an instruction inside the program, and no path that runs off its end.

import { ValidationError } from "./errors.js";
import type { Insn } from "./instruction.js";
import { ATOMIC_OPS, END_WIDTHS, opcodeInfo, type ConformanceGroup, type OpcodeInfo } from "./opcode-table.js";
import * as op from "./opcodes.js";

export interface ValidateOptions {
  /** Groups to accept; defaults to everything except the deprecated packet group. */
  groups?: ReadonlySet<ConformanceGroup>;
  /** Most slots a program may have (the kernel's limit for privileged programs is 1,000,000). */
  maxInstructions?: number;
  /** Pseudo sources allowed in LDDW; by default only plain constants (src 0) since nothing resolves others. */
  allowPseudoLddw?: boolean;
  /** Which helper ids exist; without it any helper id is accepted. */
  isHelperKnown?: (id: number) => boolean;
  /** A name for an unknown helper id in messages, e.g. the kernel's name for it. */
  helperName?: (id: number) => string | undefined;
}

export const ALL_GROUPS: ReadonlySet<ConformanceGroup> = new Set<ConformanceGroup>([
  "base32",
  "base64",
  "atomic32",
  "atomic64",
  "divmul32",
  "divmul64",
  "callx",
]);

export const DEFAULT_MAX_INSTRUCTIONS = 1_000_000;

/** Throws a ValidationError naming the first bad instruction; returns normally for a valid program. */
export function validateProgram(program: readonly Insn[], options: ValidateOptions = {}): void {
  const groups = options.groups ?? ALL_GROUPS;
  const max = options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS;
  if (program.length === 0) throw new ValidationError(0, "the program is empty");
  if (program.length > max) {
    throw new ValidationError(max, `the program has ${program.length} instructions, more than the limit of ${max}`);
  }
  const secondSlot = lddwSecondSlots(program);
  for (let i = 0; i < program.length; i++) {
    if (secondSlot[i]) continue;
    const ins = program[i]!;
    const fail = (reason: string): never => {
      throw new ValidationError(i, reason);
    };
    const info = opcodeInfo(ins.code);
    if (!info) fail(`unknown opcode 0x${hex2(ins.code)}`);
    const known = info as OpcodeInfo;
    if (!groups.has(known.group)) fail(`opcode 0x${hex2(ins.code)} (${known.mnemonic}) belongs to the ${known.group} group, which is not enabled`);
    if (ins.dst > op.MAX_REGISTER) fail(`bad destination register r${ins.dst}`);
    if (ins.src > op.MAX_REGISTER && known.shape !== "call" && known.shape !== "lddw") fail(`bad source register r${ins.src}`);
    checkFields(known, ins, i, fail, options);
    checkTargets(program, i, known, ins, secondSlot, fail);
  }
  checkNoFallOff(program, secondSlot);
}

/** Marks the second slot of every LDDW; a truncated LDDW is an error here. */
function lddwSecondSlots(program: readonly Insn[]): Uint8Array {
  const second = new Uint8Array(program.length);
  for (let i = 0; i < program.length; i++) {
    if (program[i]!.code !== op.OP_LDDW) continue;
    const next = program[i + 1];
    if (!next) throw new ValidationError(i, "lddw is truncated: its second slot is missing");
    if (next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
      throw new ValidationError(i + 1, "malformed lddw second slot: opcode, registers and offset must be zero");
    }
    second[i + 1] = 1;
    i++;
  }
  return second;
}

type Fail = (reason: string) => never;

function mustBeZero(ins: Insn, fields: ReadonlyArray<"dst" | "src" | "off" | "imm">, info: OpcodeInfo, fail: Fail): void {
  for (const field of fields) {
    if (ins[field] !== 0) fail(`${info.mnemonic} has a non-zero unused ${field} field (${ins[field]})`);
  }
}

function checkFields(info: OpcodeInfo, ins: Insn, index: number, fail: Fail, options: ValidateOptions): void {
  const writesDst = (): void => {
    if (ins.dst === op.REG_FP) fail(`${info.mnemonic} writes r10, which is read-only`);
  };
  const checkOffset = (): void => {
    const allowed = info.offsets ?? [0];
    if (!allowed.includes(ins.off)) fail(`${info.mnemonic} has an invalid offset ${ins.off} (allowed: ${allowed.join(", ")})`);
  };
  switch (info.shape) {
    case "alu-imm":
      mustBeZero(ins, ["src"], info, fail);
      checkOffset();
      writesDst();
      return;
    case "alu-reg":
      mustBeZero(ins, ["imm"], info, fail);
      checkOffset();
      writesDst();
      return;
    case "neg":
      mustBeZero(ins, ["src", "off", "imm"], info, fail);
      writesDst();
      return;
    case "end":
      mustBeZero(ins, ["src", "off"], info, fail);
      if (!END_WIDTHS.includes(ins.imm)) fail(`${info.mnemonic} has an invalid width ${ins.imm} (allowed: 16, 32, 64)`);
      writesDst();
      return;
    case "jmp-imm":
      mustBeZero(ins, ["src"], info, fail);
      return;
    case "jmp-reg":
      mustBeZero(ins, ["imm"], info, fail);
      return;
    case "ja":
      mustBeZero(ins, ["dst", "src", "imm"], info, fail);
      return;
    case "ja32":
      mustBeZero(ins, ["dst", "src", "off"], info, fail);
      return;
    case "call":
      mustBeZero(ins, ["dst", "off"], info, fail);
      if (ins.src === op.BPF_PSEUDO_CALL_HELPER) {
        if (options.isHelperKnown && !options.isHelperKnown(ins.imm)) {
          const name = options.helperName?.(ins.imm);
          throw new ValidationError(index, `call to unknown helper ${ins.imm}${name ? ` (${name})` : ""}`, "PROG_UNKNOWN_HELPER");
        }
      } else if (ins.src === op.BPF_PSEUDO_KFUNC_CALL) {
        fail(`kfunc call (btf id ${ins.imm}) is not supported`);
      } else if (ins.src !== op.BPF_PSEUDO_CALL) {
        fail(`call has an invalid source ${ins.src} (0 helper, 1 local, 2 kfunc)`);
      }
      return;
    case "callx":
      mustBeZero(ins, ["src", "off", "imm"], info, fail);
      return;
    case "exit":
      mustBeZero(ins, ["dst", "src", "off", "imm"], info, fail);
      return;
    case "lddw":
      mustBeZero(ins, ["off"], info, fail);
      if (ins.src > op.BPF_PSEUDO_MAP_IDX_VALUE) fail(`lddw has an invalid pseudo source ${ins.src}`);
      if (ins.src !== op.BPF_PSEUDO_IMM64 && !options.allowPseudoLddw) {
        fail(`lddw with pseudo source ${ins.src} needs a loader to resolve it`);
      }
      writesDst();
      return;
    case "ldx":
      mustBeZero(ins, ["imm"], info, fail);
      writesDst();
      return;
    case "st":
      mustBeZero(ins, ["src"], info, fail);
      return;
    case "stx":
      mustBeZero(ins, ["imm"], info, fail);
      return;
    case "atomic":
      if (!ATOMIC_OPS.has(ins.imm)) fail(`${info.mnemonic} has an invalid atomic operation 0x${(ins.imm >>> 0).toString(16)}`);
      return;
    case "ld-packet":
      fail(`${info.mnemonic} (legacy packet access) is not supported`);
  }
}

function checkTargets(
  program: readonly Insn[],
  i: number,
  info: OpcodeInfo,
  ins: Insn,
  secondSlot: Uint8Array,
  fail: Fail,
): void {
  let target: number;
  let what: string;
  switch (info.shape) {
    case "jmp-imm":
    case "jmp-reg":
    case "ja":
      target = i + 1 + ins.off;
      what = "jump";
      break;
    case "ja32":
      target = i + 1 + ins.imm;
      what = "jump";
      break;
    case "call":
      if (ins.src !== op.BPF_PSEUDO_CALL) return;
      target = i + 1 + ins.imm;
      what = "local call";
      break;
    default:
      return;
  }
  if (target < 0 || target >= program.length) fail(`${what} to ${target} is outside the program (0..${program.length - 1})`);
  if (secondSlot[target]) fail(`${what} to ${target} lands in the middle of an lddw`);
}

/**
 * The last instruction must not let control continue past the end: it has to be an exit or an
 * unconditional jump. (Conditional jumps and calls at the end fall through on one path.)
 */
function checkNoFallOff(program: readonly Insn[], secondSlot: Uint8Array): void {
  const last = program.length - 1;
  const ins = secondSlot[last] ? program[last - 1]! : program[last]!;
  const index = secondSlot[last] ? last - 1 : last;
  if (ins.code !== op.OP_EXIT && ins.code !== op.OP_JA && ins.code !== op.OP_JA32) {
    throw new ValidationError(index, "control falls off the end of the program (the last instruction must be exit or ja)");
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}
