// The conformance assembler's mnemonics, derived from the opcode table so that assembler, disassembler and
// validator share one list of opcodes. The table names each opcode once ("add", "add32", "div", "le", ...);
// the spellings that select an offset or width on top of the opcode (sdiv, movsx832, le16, ...) are derived
// here, and the disassembler uses the same functions in reverse.

import { ATOMIC_OPS, END_WIDTHS, allOpcodes, type OpcodeInfo } from "./opcode-table.js";
import * as op from "./opcodes.js";

/** What a mnemonic stands for: one opcode or an immediate/register pair, plus the fields it implies. */
export interface MnemonicEntry {
  /** The opcodes the mnemonic may assemble to; alu and conditional jumps have an imm and a reg form. */
  readonly forms: readonly OpcodeInfo[];
  /** The offset field the mnemonic implies (1 for sdiv/smod, the source width for movsx). */
  readonly off: number;
  /** The immediate the mnemonic implies (the width of a byte swap). */
  readonly imm?: number;
}

const SIGNED_PREFIX = "s";
const WIDE_SUFFIX = "64";

/** `sdiv32` for the signed form (offset 1) of `div32`. */
export function signedMnemonic(mnemonic: string): string {
  return SIGNED_PREFIX + mnemonic;
}

/** `movsx832`: sign-extending move from `fromBits` into a 32- or 64-bit destination. */
export function movsxMnemonic(fromBits: number, wide: boolean): string {
  return `movsx${fromBits}${wide ? "64" : "32"}`;
}

/** `le16`, `be32`, `bswap64`: the table's byte-swap mnemonic with its width. */
export function endMnemonic(info: OpcodeInfo, width: number): string {
  return info.mnemonic + String(width);
}

/** The suite also spells ALU64 byte swaps `swapN`. */
const END_ALIASES: ReadonlyMap<string, string> = new Map([["bswap", "swap"]]);

/** `lock fetch add32`-style operation names for an atomic imm, without the `lock` keyword. */
export function atomicOperationName(info: OpcodeInfo, imm: number): string | undefined {
  const name = ATOMIC_OPS.get(imm);
  if (name === undefined) return undefined;
  // The table calls the 32-bit opcode "lock32": the width suffix goes on the operation word.
  return name + info.mnemonic.slice("lock".length);
}

const isWide = (info: OpcodeInfo): boolean => op.insnClass(info.code) === op.BPF_ALU64;

function buildMnemonicTable(): ReadonlyMap<string, MnemonicEntry> {
  const byName = new Map<string, OpcodeInfo[]>();
  for (const info of allOpcodes()) {
    const forms = byName.get(info.mnemonic) ?? [];
    forms.push(info);
    byName.set(info.mnemonic, forms);
  }

  const table = new Map<string, MnemonicEntry>();
  for (const [name, forms] of byName) {
    const first = forms[0]!;
    switch (first.shape) {
      case "end":
        for (const width of END_WIDTHS) {
          table.set(endMnemonic(first, width), { forms, off: 0, imm: width });
          const alias = END_ALIASES.get(first.mnemonic);
          if (alias !== undefined) table.set(alias + String(width), { forms, off: 0, imm: width });
        }
        continue;
      case "atomic":
        continue; // `lock ...` has its own grammar
      case "alu-imm":
      case "alu-reg":
      case "neg":
        table.set(name, { forms, off: 0 });
        if (isWide(first)) table.set(name + WIDE_SUFFIX, { forms, off: 0 });
        for (const off of first.offsets ?? []) {
          if (off === 1) {
            table.set(signedMnemonic(name), { forms, off });
            if (isWide(first)) table.set(signedMnemonic(name) + WIDE_SUFFIX, { forms, off });
          }
        }
        for (const reg of forms.filter((f) => f.shape === "alu-reg")) {
          for (const off of reg.offsets ?? []) {
            if (off > 1) table.set(movsxMnemonic(off, isWide(reg)), { forms: [reg], off });
          }
        }
        continue;
      default:
        table.set(name, { forms, off: 0 });
    }
  }
  return table;
}

export const MNEMONICS: ReadonlyMap<string, MnemonicEntry> = buildMnemonicTable();

/** Atomic operation names (`add`, `fetch add32`, `cmpxchg`, ...) with their opcode and imm. */
function buildAtomicTable(): ReadonlyMap<string, { info: OpcodeInfo; imm: number }> {
  const table = new Map<string, { info: OpcodeInfo; imm: number }>();
  for (const info of allOpcodes()) {
    if (info.shape !== "atomic") continue;
    for (const imm of ATOMIC_OPS.keys()) {
      const name = atomicOperationName(info, imm);
      if (name !== undefined) table.set(name, { info, imm });
    }
  }
  return table;
}

export const ATOMIC_MNEMONICS: ReadonlyMap<string, { info: OpcodeInfo; imm: number }> = buildAtomicTable();

/** Pseudo sources of lddw, written `lddw %rD, map_fd N` (an extension: the suite has only plain constants). */
export const LDDW_PSEUDO_NAMES: ReadonlyMap<number, string> = new Map([
  [op.BPF_PSEUDO_MAP_FD, "map_fd"],
  [op.BPF_PSEUDO_MAP_VALUE, "map_value"],
  [op.BPF_PSEUDO_BTF_ID, "btf_id"],
  [op.BPF_PSEUDO_FUNC, "func"],
  [op.BPF_PSEUDO_MAP_IDX, "map_idx"],
  [op.BPF_PSEUDO_MAP_IDX_VALUE, "map_idx_value"],
]);

/** Call modes of `call <mode> <target>`; a bare `call N` is a helper call. */
export const CALL_MODES: ReadonlyMap<string, number> = new Map([
  ["helper", op.BPF_PSEUDO_CALL_HELPER],
  ["local", op.BPF_PSEUDO_CALL],
  ["runtime", op.BPF_PSEUDO_KFUNC_CALL],
]);

/** One raw slot, `.raw 0x<imm:32><off:16><src:4><dst:4><code:8>`: the escape for encodings nothing else spells. */
export const RAW_DIRECTIVE = ".raw";
