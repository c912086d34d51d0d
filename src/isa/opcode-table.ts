// Every valid opcode byte with its conformance group, its shape, and the values each field may take.
// The validator checks instructions against this table; the assembler and disassembler take their
// mnemonics from it, so the three can never disagree about what an opcode is.

import * as op from "./opcodes.js";

export type ConformanceGroup = "base32" | "base64" | "atomic32" | "atomic64" | "divmul32" | "divmul64" | "callx" | "packet";

/** How an opcode uses its fields; decides operand syntax and which fields must be zero. */
export type Shape =
  | "alu-imm" // dst op= imm
  | "alu-reg" // dst op= src
  | "neg" // dst = -dst
  | "end" // byte swap of dst, width in imm
  | "jmp-imm" // if dst op imm goto +off
  | "jmp-reg" // if dst op src goto +off
  | "ja" // goto +off
  | "ja32" // goto +imm
  | "call" // helper (src 0), local (src 1) or kfunc (src 2) call, target in imm
  | "callx" // call the function whose id/address is in dst
  | "exit"
  | "lddw" // dst = imm64 (two slots), pseudo kind in src
  | "ldx" // dst = *(size *)(src + off)
  | "st" // *(size *)(dst + off) = imm
  | "stx" // *(size *)(dst + off) = src
  | "atomic" // atomic op on *(size *)(dst + off) with src, op in imm
  | "ld-packet"; // legacy LD_ABS / LD_IND

export interface OpcodeInfo {
  readonly code: number;
  readonly group: ConformanceGroup;
  readonly shape: Shape;
  /** Conformance-assembler mnemonic without operands, e.g. "add", "add32", "jeq32", "ldxh", "le16". */
  readonly mnemonic: string;
  /** Offsets this opcode accepts when `off` is not a jump offset or a memory offset. */
  readonly offsets?: readonly number[];
}

const table = new Map<number, OpcodeInfo>();

function define(info: OpcodeInfo): void {
  table.set(info.code, info);
}

const aluOps: ReadonlyArray<readonly [number, string, "alu" | "divmul"]> = [
  [op.BPF_ADD, "add", "alu"],
  [op.BPF_SUB, "sub", "alu"],
  [op.BPF_MUL, "mul", "divmul"],
  [op.BPF_DIV, "div", "divmul"],
  [op.BPF_OR, "or", "alu"],
  [op.BPF_AND, "and", "alu"],
  [op.BPF_LSH, "lsh", "alu"],
  [op.BPF_RSH, "rsh", "alu"],
  [op.BPF_MOD, "mod", "divmul"],
  [op.BPF_XOR, "xor", "alu"],
  [op.BPF_MOV, "mov", "alu"],
  [op.BPF_ARSH, "arsh", "alu"],
];

for (const cls of [op.BPF_ALU, op.BPF_ALU64]) {
  const wide = cls === op.BPF_ALU64;
  const suffix = wide ? "" : "32";
  for (const [code, name, family] of aluOps) {
    const group: ConformanceGroup =
      family === "divmul" ? (wide ? "divmul64" : "divmul32") : wide ? "base64" : "base32";
    const signedDivision = code === op.BPF_DIV || code === op.BPF_MOD;
    for (const source of [op.BPF_K, op.BPF_X]) {
      const info: OpcodeInfo = {
        code: cls | code | source,
        group,
        shape: source === op.BPF_K ? "alu-imm" : "alu-reg",
        mnemonic: name + suffix,
        // off = 1 selects sdiv/smod; off = 8/16(/32) selects movsx for the register form.
        ...(signedDivision
          ? { offsets: [0, 1] }
          : code === op.BPF_MOV && source === op.BPF_X
            ? { offsets: wide ? [0, 8, 16, 32] : [0, 8, 16] }
            : {}),
      };
      define(info);
    }
  }
  define({ code: cls | op.BPF_NEG, group: wide ? "base64" : "base32", shape: "neg", mnemonic: "neg" + suffix });
}
define({ code: op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, group: "base32", shape: "end", mnemonic: "le" });
define({ code: op.BPF_ALU | op.BPF_END | op.BPF_TO_BE, group: "base32", shape: "end", mnemonic: "be" });
define({ code: op.BPF_ALU64 | op.BPF_END, group: "base32", shape: "end", mnemonic: "bswap" });

const conditionalJumps: ReadonlyArray<readonly [number, string]> = [
  [op.BPF_JEQ, "jeq"],
  [op.BPF_JGT, "jgt"],
  [op.BPF_JGE, "jge"],
  [op.BPF_JSET, "jset"],
  [op.BPF_JNE, "jne"],
  [op.BPF_JSGT, "jsgt"],
  [op.BPF_JSGE, "jsge"],
  [op.BPF_JLT, "jlt"],
  [op.BPF_JLE, "jle"],
  [op.BPF_JSLT, "jslt"],
  [op.BPF_JSLE, "jsle"],
];
for (const cls of [op.BPF_JMP, op.BPF_JMP32]) {
  const wide = cls === op.BPF_JMP;
  for (const [code, name] of conditionalJumps) {
    for (const source of [op.BPF_K, op.BPF_X]) {
      define({
        code: cls | code | source,
        group: wide ? "base64" : "base32",
        shape: source === op.BPF_K ? "jmp-imm" : "jmp-reg",
        mnemonic: name + (wide ? "" : "32"),
      });
    }
  }
}
define({ code: op.OP_JA, group: "base32", shape: "ja", mnemonic: "ja" });
define({ code: op.OP_JA32, group: "base32", shape: "ja32", mnemonic: "ja32" });
define({ code: op.OP_CALL, group: "base32", shape: "call", mnemonic: "call" });
define({ code: op.OP_CALLX, group: "callx", shape: "callx", mnemonic: "callx" });
define({ code: op.OP_EXIT, group: "base32", shape: "exit", mnemonic: "exit" });

define({ code: op.OP_LDDW, group: "base64", shape: "lddw", mnemonic: "lddw" });

const sizes: ReadonlyArray<readonly [number, string]> = [
  [op.BPF_B, "b"],
  [op.BPF_H, "h"],
  [op.BPF_W, "w"],
  [op.BPF_DW, "dw"],
];
for (const [size, name] of sizes) {
  const group: ConformanceGroup = size === op.BPF_DW ? "base64" : "base32";
  define({ code: op.BPF_LDX | op.BPF_MEM | size, group, shape: "ldx", mnemonic: "ldx" + name });
  define({ code: op.BPF_ST | op.BPF_MEM | size, group, shape: "st", mnemonic: "st" + name });
  define({ code: op.BPF_STX | op.BPF_MEM | size, group, shape: "stx", mnemonic: "stx" + name });
  if (size !== op.BPF_DW) {
    define({ code: op.BPF_LDX | op.BPF_MEMSX | size, group: "base32", shape: "ldx", mnemonic: "ldxs" + name });
    define({ code: op.BPF_LD | op.BPF_ABS | size, group: "packet", shape: "ld-packet", mnemonic: "ldabs" + name });
    define({ code: op.BPF_LD | op.BPF_IND | size, group: "packet", shape: "ld-packet", mnemonic: "ldind" + name });
  }
}
define({ code: op.BPF_STX | op.BPF_ATOMIC | op.BPF_W, group: "atomic32", shape: "atomic", mnemonic: "lock32" });
define({ code: op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW, group: "atomic64", shape: "atomic", mnemonic: "lock" });

/** What the table knows about an opcode byte, or undefined for an opcode the instruction set lacks. */
export function opcodeInfo(code: number): OpcodeInfo | undefined {
  return table.get(code);
}

export function allOpcodes(): IterableIterator<OpcodeInfo> {
  return table.values();
}

/** Atomic operations allowed in the immediate of an atomic instruction, with their mnemonics. */
export const ATOMIC_OPS: ReadonlyMap<number, string> = new Map([
  [op.BPF_ADD, "add"],
  [op.BPF_OR, "or"],
  [op.BPF_AND, "and"],
  [op.BPF_XOR, "xor"],
  [op.BPF_ADD | op.BPF_FETCH, "fetch add"],
  [op.BPF_OR | op.BPF_FETCH, "fetch or"],
  [op.BPF_AND | op.BPF_FETCH, "fetch and"],
  [op.BPF_XOR | op.BPF_FETCH, "fetch xor"],
  [op.BPF_XCHG, "xchg"],
  [op.BPF_CMPXCHG, "cmpxchg"],
]);

/** Widths a byte-swap instruction may take in its immediate. */
export const END_WIDTHS: readonly number[] = [16, 32, 64];
