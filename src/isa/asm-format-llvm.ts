// Formats instructions the way `llvm-objdump -d` prints BPF code: kernel-style C-like syntax (`r1 += 5`,
// `if w1 s< 101 goto +2`, `r0 = *(u32 *)(r1 + 4)`). The reference is LLVM 14 with its default features
// (no alu32): numbers in signed decimal, 64-bit registers for loads and stores. Instructions LLVM 14 cannot
// decode (mod, jset, ja32, st with an immediate, the v4 additions, most 32-bit atomics) use the syntax of
// later LLVM releases, or of LLVM 14 with +alu32 for the 32-bit atomics, with the same number style.

import { lddwValue, type Insn } from "./instruction.js";
import { ATOMIC_OPS, END_WIDTHS, opcodeInfo, type OpcodeInfo } from "./opcode-table.js";
import * as op from "./opcodes.js";
import type { FormattedSlot } from "./asm-format-conformance.js";

export interface LlvmFormatOptions {
  /** Print 32-bit loads, stores and atomics with `w` registers, as `llvm-objdump --mattr=+alu32` does. */
  alu32?: boolean;
  /** The ` <symbol+0x..>` annotation llvm-objdump appends to a jump to the given slot ("" for none). */
  annotateTarget?: (slot: number) => string;
}

/** What llvm-objdump prints for bytes it cannot decode. */
export const LLVM_UNKNOWN = "<unknown>";

const ALU_OPERATORS: ReadonlyMap<number, string> = new Map([
  [op.BPF_ADD, "+="],
  [op.BPF_SUB, "-="],
  [op.BPF_MUL, "*="],
  [op.BPF_DIV, "/="],
  [op.BPF_OR, "|="],
  [op.BPF_AND, "&="],
  [op.BPF_LSH, "<<="],
  [op.BPF_RSH, ">>="],
  [op.BPF_MOD, "%="],
  [op.BPF_XOR, "^="],
  [op.BPF_MOV, "="],
  [op.BPF_ARSH, "s>>="],
]);

const JUMP_OPERATORS: ReadonlyMap<number, string> = new Map([
  [op.BPF_JEQ, "=="],
  [op.BPF_JGT, ">"],
  [op.BPF_JGE, ">="],
  [op.BPF_JSET, "&"],
  [op.BPF_JNE, "!="],
  [op.BPF_JSGT, "s>"],
  [op.BPF_JSGE, "s>="],
  [op.BPF_JLT, "<"],
  [op.BPF_JLE, "<="],
  [op.BPF_JSLT, "s<"],
  [op.BPF_JSLE, "s<="],
]);

const ATOMIC_OPERATORS: ReadonlyMap<number, { symbol: string; name: string }> = new Map([
  [op.BPF_ADD, { symbol: "+=", name: "add" }],
  [op.BPF_OR, { symbol: "|=", name: "or" }],
  [op.BPF_AND, { symbol: "&=", name: "and" }],
  [op.BPF_XOR, { symbol: "^=", name: "xor" }],
]);

const r = (n: number): string => `r${n}`;
const w = (n: number): string => `w${n}`;

const sizeName = (code: number): string => `u${op.sizeBytes(op.memSize(code)) * 8}`;

function address(base: number, off: number): string {
  return off < 0 ? `${r(base)} - ${-off}` : `${r(base)} + ${off}`;
}

const relative = (distance: number): string => (distance >= 0 ? `+${distance}` : String(distance));

function aluText(info: OpcodeInfo, ins: Insn): string | undefined {
  const wide = op.insnClass(info.code) === op.BPF_ALU64;
  const name = wide ? r : w;
  const source = info.shape === "alu-reg" ? name(ins.src) : String(ins.imm);
  const operation = op.aluOp(info.code);
  if (!(info.offsets ?? [0]).includes(ins.off)) return undefined;
  if (operation === op.BPF_MOV && ins.off !== 0) return `${name(ins.dst)} = (s${ins.off})${source}`;
  const operator = ALU_OPERATORS.get(operation);
  if (operator === undefined) return undefined;
  const signed = ins.off === 1 ? "s" : "";
  return `${name(ins.dst)} ${signed}${operator} ${source}`;
}

function endText(info: OpcodeInfo, ins: Insn): string | undefined {
  if (!END_WIDTHS.includes(ins.imm)) return undefined;
  const kind = op.insnClass(info.code) === op.BPF_ALU64 ? "bswap" : op.srcBit(info.code) === op.BPF_TO_BE ? "be" : "le";
  return `${r(ins.dst)} = ${kind}${ins.imm} ${r(ins.dst)}`;
}

function jumpText(info: OpcodeInfo, ins: Insn, index: number, options: LlvmFormatOptions): string {
  const name = op.insnClass(info.code) === op.BPF_JMP ? r : w;
  const source = info.shape === "jmp-reg" ? name(ins.src) : String(ins.imm);
  const operator = JUMP_OPERATORS.get(op.jmpOp(info.code)) ?? "?";
  return `if ${name(ins.dst)} ${operator} ${source} goto ${relative(ins.off)}${annotation(index + 1 + ins.off, options)}`;
}

function annotation(target: number, options: LlvmFormatOptions): string {
  return options.annotateTarget?.(target) ?? "";
}

function lddwText(program: readonly Insn[], index: number, ins: Insn): string {
  if (ins.src === op.BPF_PSEUDO_IMM64) return `${r(ins.dst)} = ${BigInt.asIntN(64, lddwValue(program, index))} ll`;
  // LLVM's LD_pseudo shows the pseudo kind and the low word only, unsigned.
  return `ld_pseudo\t${r(ins.dst)}, ${ins.src}, ${ins.imm >>> 0}`;
}

/** 32-bit operands of loads and stores: `w` registers only in alu32 mode and never for 64-bit accesses. */
function memoryRegister(code: number, options: LlvmFormatOptions): (n: number) => string {
  return options.alu32 && op.memSize(code) !== op.BPF_DW ? w : r;
}

function atomicText(info: OpcodeInfo, ins: Insn, options: LlvmFormatOptions): string | undefined {
  if (!ATOMIC_OPS.has(ins.imm)) return undefined;
  const wide = op.memSize(info.code) === op.BPF_DW;
  const place = address(ins.dst, ins.off);
  // LLVM 14 without alu32 only knows the 32-bit atomic add (XADDW, printed with r registers); every other
  // 32-bit atomic exists only in its alu32 form, with w registers.
  const name = wide || (ins.imm === op.BPF_ADD && !options.alu32) ? r : w;
  const bits = wide ? "64" : "32";
  if (ins.imm === op.BPF_XCHG) return `${name(ins.src)} = xchg${wide ? "" : "32"}_${bits}(${place}, ${name(ins.src)})`;
  if (ins.imm === op.BPF_CMPXCHG) {
    return `${name(0)} = cmpxchg${wide ? "" : "32"}_${bits}(${place}, ${name(0)}, ${name(ins.src)})`;
  }
  const operation = ATOMIC_OPERATORS.get(ins.imm & ~op.BPF_FETCH);
  if (operation === undefined) return undefined;
  if ((ins.imm & op.BPF_FETCH) === 0) return `lock *(${sizeName(info.code)} *)(${place}) ${operation.symbol} ${name(ins.src)}`;
  return `${name(ins.src)} = atomic_fetch_${operation.name}((${sizeName(info.code)} *)(${place}), ${name(ins.src)})`;
}

function callText(ins: Insn): string {
  // LLVM 14 reads callx's register from imm; the instruction set (and our model) keeps it in dst.
  return ins.code === op.OP_CALLX ? `callx ${r(ins.dst)}` : `call ${ins.imm}`;
}

function text(program: readonly Insn[], index: number, info: OpcodeInfo, ins: Insn, options: LlvmFormatOptions): string | undefined {
  switch (info.shape) {
    case "alu-imm":
    case "alu-reg":
      return aluText(info, ins);
    case "neg": {
      const name = op.insnClass(info.code) === op.BPF_ALU64 ? r : w;
      return `${name(ins.dst)} = -${name(ins.dst)}`;
    }
    case "end":
      return endText(info, ins);
    case "jmp-imm":
    case "jmp-reg":
      return jumpText(info, ins, index, options);
    case "ja":
      return `goto ${relative(ins.off)}${annotation(index + 1 + ins.off, options)}`;
    case "ja32":
      return `gotol ${relative(ins.imm)}${annotation(index + 1 + ins.imm, options)}`;
    case "call":
    case "callx":
      return callText(ins);
    case "exit":
      return "exit";
    case "lddw":
      return lddwText(program, index, ins);
    case "ldx": {
      const signed = op.memMode(info.code) === op.BPF_MEMSX;
      const size = signed ? sizeName(info.code).replace("u", "s") : sizeName(info.code);
      const name = signed ? r : memoryRegister(info.code, options);
      return `${name(ins.dst)} = *(${size} *)(${address(ins.src, ins.off)})`;
    }
    case "st":
      return `*(${sizeName(info.code)} *)(${address(ins.dst, ins.off)}) = ${ins.imm}`;
    case "stx":
      return `*(${sizeName(info.code)} *)(${address(ins.dst, ins.off)}) = ${memoryRegister(info.code, options)(ins.src)}`;
    case "atomic":
      return atomicText(info, ins, options);
    case "ld-packet": {
      const index = op.memMode(info.code) === op.BPF_ABS ? String(ins.imm) : r(ins.src);
      return `r0 = *(${sizeName(info.code)} *)skb[${index}]`;
    }
  }
}

/** The instruction starting at `index`, as llvm-objdump prints it (without address and bytes). */
export function formatLlvmSlot(program: readonly Insn[], index: number, options: LlvmFormatOptions = {}): FormattedSlot {
  const ins = program[index];
  if (ins === undefined) throw new RangeError(`instruction ${index} is outside the program (0..${program.length - 1})`);
  const info = opcodeInfo(ins.code);
  // Like llvm-objdump, an lddw takes the next slot whatever it holds; a truncated one is undecodable.
  if (info?.shape === "lddw" && index + 1 >= program.length) return { text: LLVM_UNKNOWN, slots: 1 };
  const formatted = info === undefined ? undefined : text(program, index, info, ins, options);
  return { text: formatted ?? LLVM_UNKNOWN, slots: info?.shape === "lddw" ? 2 : 1 };
}
