// Formats instructions in the conformance assembler's syntax, such that assembling the text gives back the
// very same slots. An encoding the syntax cannot spell (a non-zero unused field, an unknown opcode, a
// malformed lddw) is written as a `.raw` slot instead of being silently normalised.

import { lddwValue, type Insn } from "./instruction.js";
import {
  LDDW_PSEUDO_NAMES,
  RAW_DIRECTIVE,
  atomicOperationName,
  endMnemonic,
  movsxMnemonic,
  signedMnemonic,
} from "./asm-mnemonics.js";
import { END_WIDTHS, opcodeInfo, type OpcodeInfo } from "./opcode-table.js";
import * as op from "./opcodes.js";

export interface FormattedSlot {
  text: string;
  /** Slots the text stands for: 2 for lddw, 1 otherwise. */
  slots: 1 | 2;
}

type Field = "dst" | "src" | "off" | "imm";

/** Immediates small enough to read in decimal are written in decimal; bit patterns in hex. */
function immediate(value: number): string {
  if (value < 0 || value <= 0xffff) return String(value);
  return `0x${value.toString(16)}`;
}

function imm64(value: bigint): string {
  return value <= 0xffffn ? String(value) : `0x${value.toString(16)}`;
}

const reg = (n: number): string => `%r${n}`;

function memory(base: number, off: number): string {
  if (off === 0) return `[${reg(base)}]`;
  return `[${reg(base)}${off > 0 ? "+" : ""}${off}]`;
}

const relative = (distance: number): string => (distance >= 0 ? `+${distance}` : String(distance));

export function rawSlot(ins: Insn): string {
  const word =
    (BigInt(ins.imm >>> 0) << 32n) |
    (BigInt(ins.off & 0xffff) << 16n) |
    (BigInt(((ins.src & 0x0f) << 4) | (ins.dst & 0x0f)) << 8n) |
    BigInt(ins.code & 0xff);
  return `${RAW_DIRECTIVE} 0x${word.toString(16).padStart(16, "0")}`;
}

/** The fields an instruction of this shape encodes; every other field must be zero to be spelled. */
function usedFields(info: OpcodeInfo): readonly Field[] {
  switch (info.shape) {
    case "alu-imm":
      return ["dst", "off", "imm"];
    case "alu-reg":
    case "ldx":
    case "stx":
      return ["dst", "src", "off"];
    case "neg":
    case "callx":
      return ["dst"];
    case "end":
      return ["dst", "imm"];
    case "jmp-imm":
    case "st":
      return ["dst", "off", "imm"];
    case "jmp-reg":
      return ["dst", "src", "off"];
    case "ja":
      return ["off"];
    case "ja32":
      return ["imm"];
    case "call":
      return ["src", "imm"];
    case "exit":
      return [];
    case "lddw":
      return ["dst", "src", "imm"];
    case "atomic":
      return ["dst", "src", "off", "imm"];
    case "ld-packet":
      return op.memMode(info.code) === op.BPF_ABS ? ["imm"] : ["src", "imm"];
  }
}

const REGISTER_FIELDS: ReadonlyMap<OpcodeInfo["shape"], readonly Field[]> = new Map<OpcodeInfo["shape"], readonly Field[]>([
  ["alu-imm", ["dst"]],
  ["alu-reg", ["dst", "src"]],
  ["neg", ["dst"]],
  ["end", ["dst"]],
  ["jmp-imm", ["dst"]],
  ["jmp-reg", ["dst", "src"]],
  ["callx", ["dst"]],
  ["lddw", ["dst"]],
  ["ldx", ["dst", "src"]],
  ["st", ["dst"]],
  ["stx", ["dst", "src"]],
  ["atomic", ["dst", "src"]],
  ["ld-packet", ["src"]],
]);

/** True when the syntax can express every field of the instruction. */
function spellable(info: OpcodeInfo, ins: Insn): boolean {
  const used = usedFields(info);
  for (const field of ["dst", "src", "off", "imm"] as const) {
    if (!used.includes(field) && ins[field] !== 0) return false;
  }
  for (const field of REGISTER_FIELDS.get(info.shape) ?? []) {
    if (ins[field] > op.MAX_REGISTER) return false;
  }
  switch (info.shape) {
    case "alu-imm":
    case "alu-reg":
      return (info.offsets ?? [0]).includes(ins.off);
    case "end":
      return END_WIDTHS.includes(ins.imm);
    case "call":
      return ins.src <= op.BPF_PSEUDO_KFUNC_CALL;
    case "lddw":
      return ins.src === op.BPF_PSEUDO_IMM64 || LDDW_PSEUDO_NAMES.has(ins.src);
    case "atomic":
      return atomicOperationName(info, ins.imm) !== undefined;
    default:
      return true;
  }
}

function aluMnemonic(info: OpcodeInfo, ins: Insn): string {
  if (info.shape === "alu-reg" && ins.off > 1) return movsxMnemonic(ins.off, op.insnClass(info.code) === op.BPF_ALU64);
  return ins.off === 1 ? signedMnemonic(info.mnemonic) : info.mnemonic;
}

function callText(ins: Insn): string {
  if (ins.src === op.BPF_PSEUDO_CALL) return `call local ${relative(ins.imm)}`;
  if (ins.src === op.BPF_PSEUDO_KFUNC_CALL) return `call runtime ${immediate(ins.imm)}`;
  return `call ${immediate(ins.imm)}`;
}

function lddwText(program: readonly Insn[], index: number, ins: Insn): string {
  const value = imm64(lddwValue(program, index));
  const pseudo = LDDW_PSEUDO_NAMES.get(ins.src);
  return pseudo === undefined ? `lddw ${reg(ins.dst)}, ${value}` : `lddw ${reg(ins.dst)}, ${pseudo} ${value}`;
}

function text(program: readonly Insn[], index: number, info: OpcodeInfo, ins: Insn): string {
  switch (info.shape) {
    case "alu-imm":
      return `${aluMnemonic(info, ins)} ${reg(ins.dst)}, ${immediate(ins.imm)}`;
    case "alu-reg":
      return `${aluMnemonic(info, ins)} ${reg(ins.dst)}, ${reg(ins.src)}`;
    case "neg":
      return `${info.mnemonic} ${reg(ins.dst)}`;
    case "callx":
      // The suite spells callx as a call through a register.
      return `call ${reg(ins.dst)}`;
    case "end":
      return `${endMnemonic(info, ins.imm)} ${reg(ins.dst)}`;
    case "jmp-imm":
      return `${info.mnemonic} ${reg(ins.dst)}, ${immediate(ins.imm)}, ${relative(ins.off)}`;
    case "jmp-reg":
      return `${info.mnemonic} ${reg(ins.dst)}, ${reg(ins.src)}, ${relative(ins.off)}`;
    case "ja":
      return `${info.mnemonic} ${relative(ins.off)}`;
    case "ja32":
      return `${info.mnemonic} ${relative(ins.imm)}`;
    case "call":
      return callText(ins);
    case "exit":
      return info.mnemonic;
    case "lddw":
      return lddwText(program, index, ins);
    case "ldx":
      return `${info.mnemonic} ${reg(ins.dst)}, ${memory(ins.src, ins.off)}`;
    case "st":
      return `${info.mnemonic} ${memory(ins.dst, ins.off)}, ${immediate(ins.imm)}`;
    case "stx":
      return `${info.mnemonic} ${memory(ins.dst, ins.off)}, ${reg(ins.src)}`;
    case "atomic":
      return `lock ${atomicOperationName(info, ins.imm) ?? ""} ${memory(ins.dst, ins.off)}, ${reg(ins.src)}`;
    case "ld-packet":
      return op.memMode(info.code) === op.BPF_ABS
        ? `${info.mnemonic} ${immediate(ins.imm)}`
        : `${info.mnemonic} ${reg(ins.src)}, ${immediate(ins.imm)}`;
  }
}

/** True when the slot after an lddw is a proper second half (only its imm may be non-zero). */
export function hasLddwSecondSlot(program: readonly Insn[], index: number): boolean {
  const next = program[index + 1];
  return next !== undefined && next.code === 0 && next.dst === 0 && next.src === 0 && next.off === 0;
}

/** The instruction starting at `index`, in conformance syntax. */
export function formatConformanceSlot(program: readonly Insn[], index: number): FormattedSlot {
  const ins = program[index];
  if (ins === undefined) throw new RangeError(`instruction ${index} is outside the program (0..${program.length - 1})`);
  const info = opcodeInfo(ins.code);
  if (info === undefined || !spellable(info, ins)) return { text: rawSlot(ins), slots: 1 };
  if (info.shape === "lddw") {
    if (!hasLddwSecondSlot(program, index)) return { text: rawSlot(ins), slots: 1 };
    return { text: text(program, index, info, ins), slots: 2 };
  }
  return { text: text(program, index, info, ins), slots: 1 };
}
