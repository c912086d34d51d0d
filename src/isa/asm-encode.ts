// Encoding of one source line of the conformance assembler into instruction slots. Jump targets written as
// labels cannot be resolved here; they come back as a fixup for the assembler's second pass.

import { insn, lddw, type Insn } from "./instruction.js";
import {
  ATOMIC_MNEMONICS,
  CALL_MODES,
  LDDW_PSEUDO_NAMES,
  MNEMONICS,
  RAW_DIRECTIVE,
  type MnemonicEntry,
} from "./asm-mnemonics.js";
import {
  OperandError,
  isLabelName,
  isRegisterToken,
  isRelativeTarget,
  parseImm32,
  parseImm64,
  parseMemory,
  parseRegister,
  parseRelativeTarget,
} from "./asm-operands.js";
import type { OpcodeInfo } from "./opcode-table.js";
import * as op from "./opcodes.js";

/** A label reference to patch once every label is known: the slot and the field holding the distance. */
export interface Fixup {
  label: string;
  field: "off" | "imm";
}

export interface EncodedLine {
  slots: Insn[];
  fixup?: Fixup;
}

/** What the first `exit` is implicitly labelled, so `ja exit` works without a label. */
export const IMPLICIT_EXIT_LABEL = "exit";

function expectOperands(mnemonic: string, operands: readonly string[], count: number): void {
  if (operands.length !== count) {
    throw new OperandError(
      `Invalid number of operands for ${mnemonic}: expected ${count}, got ${operands.length}`,
    );
  }
}

/** A jump target: `+N`/`-N` goes straight into the field, a label becomes a fixup. */
function target(text: string, field: "off" | "imm"): { value: number; fixup?: Fixup } {
  if (isRelativeTarget(text)) return { value: parseRelativeTarget(text, field === "off" ? 16 : 32) };
  if (!isLabelName(text)) throw new OperandError(`Invalid jump target: ${text} (expected a label, +N or -N)`);
  return { value: 0, fixup: { label: text, field } };
}

function pickForm(entry: MnemonicEntry, mnemonic: string, operand: string): OpcodeInfo {
  const wantReg = isRegisterToken(operand);
  const form = entry.forms.find((f) => f.shape.endsWith(wantReg ? "-reg" : "-imm"));
  if (form === undefined) {
    throw new OperandError(`${mnemonic} takes a ${wantReg ? "immediate" : "register"} source, not ${operand}`);
  }
  return form;
}

function line(slot: Insn, fixup?: Fixup): EncodedLine {
  return fixup === undefined ? { slots: [slot] } : { slots: [slot], fixup };
}

function encodeAlu(entry: MnemonicEntry, mnemonic: string, operands: readonly string[]): EncodedLine {
  expectOperands(mnemonic, operands, 2);
  const [dst, source] = operands as [string, string];
  const form = pickForm(entry, mnemonic, source);
  const reg = form.shape === "alu-reg";
  return line(insn(form.code, parseRegister(dst), reg ? parseRegister(source) : 0, entry.off, reg ? 0 : parseImm32(source)));
}

function encodeJump(entry: MnemonicEntry, mnemonic: string, operands: readonly string[]): EncodedLine {
  expectOperands(mnemonic, operands, 3);
  const [dst, source, to] = operands as [string, string, string];
  const form = pickForm(entry, mnemonic, source);
  const reg = form.shape === "jmp-reg";
  const { value, fixup } = target(to, "off");
  return line(insn(form.code, parseRegister(dst), reg ? parseRegister(source) : 0, value, reg ? 0 : parseImm32(source)), fixup);
}

function encodeCall(operands: readonly string[]): EncodedLine {
  const explicitMode = operands.length === 2;
  if (operands.length !== 1 && !explicitMode) {
    throw new OperandError(`Invalid number of operands for call: expected [helper|local|runtime] <target>, got ${operands.length}`);
  }
  const mode = explicitMode ? operands[0]! : "helper";
  const to = operands[operands.length - 1]!;
  const src = CALL_MODES.get(mode);
  if (src === undefined) throw new OperandError(`Invalid call mode: ${mode} (expected helper, local or runtime)`);
  if (src === op.BPF_PSEUDO_CALL_HELPER && isRegisterToken(to)) return line(insn(op.OP_CALLX, parseRegister(to)));
  if (src === op.BPF_PSEUDO_CALL) {
    const { value, fixup } = target(to, "imm");
    return line(insn(op.OP_CALL, 0, src, 0, value), fixup);
  }
  return line(insn(op.OP_CALL, 0, src, 0, parseImm32(to)));
}

function encodeLddw(operands: readonly string[]): EncodedLine {
  if (operands.length !== 2 && operands.length !== 3) expectOperands("lddw", operands, 2);
  const dst = parseRegister(operands[0]!);
  let src: number = op.BPF_PSEUDO_IMM64;
  if (operands.length === 3) {
    const kind = operands[1]!;
    const found = [...LDDW_PSEUDO_NAMES].find(([, name]) => name === kind);
    if (found === undefined) {
      throw new OperandError(`Invalid lddw source: ${kind} (expected ${[...LDDW_PSEUDO_NAMES.values()].join(", ")})`);
    }
    src = found[0];
  }
  return { slots: lddw(dst, parseImm64(operands[operands.length - 1]!), src) };
}

function encodeTableEntry(entry: MnemonicEntry, mnemonic: string, operands: readonly string[]): EncodedLine {
  const first = entry.forms[0]!;
  switch (first.shape) {
    case "alu-imm":
    case "alu-reg":
      return encodeAlu(entry, mnemonic, operands);
    case "neg":
      expectOperands(mnemonic, operands, 1);
      return line(insn(first.code, parseRegister(operands[0]!)));
    case "end":
      expectOperands(mnemonic, operands, 1);
      return line(insn(first.code, parseRegister(operands[0]!), 0, 0, entry.imm ?? 0));
    case "jmp-imm":
    case "jmp-reg":
      return encodeJump(entry, mnemonic, operands);
    case "ja": {
      expectOperands(mnemonic, operands, 1);
      const { value, fixup } = target(operands[0]!, "off");
      return line(insn(first.code, 0, 0, value), fixup);
    }
    case "ja32": {
      expectOperands(mnemonic, operands, 1);
      const { value, fixup } = target(operands[0]!, "imm");
      return line(insn(first.code, 0, 0, 0, value), fixup);
    }
    case "call":
      return encodeCall(operands);
    case "callx":
      expectOperands(mnemonic, operands, 1);
      return line(insn(first.code, parseRegister(operands[0]!)));
    case "exit":
      expectOperands(mnemonic, operands, 0);
      return line(insn(first.code));
    case "lddw":
      return encodeLddw(operands);
    case "ldx": {
      expectOperands(mnemonic, operands, 2);
      const memory = parseMemory(operands[1]!);
      return line(insn(first.code, parseRegister(operands[0]!), memory.reg, memory.off));
    }
    case "st": {
      expectOperands(mnemonic, operands, 2);
      const memory = parseMemory(operands[0]!);
      return line(insn(first.code, memory.reg, 0, memory.off, parseImm32(operands[1]!)));
    }
    case "stx": {
      expectOperands(mnemonic, operands, 2);
      const memory = parseMemory(operands[0]!);
      return line(insn(first.code, memory.reg, parseRegister(operands[1]!), memory.off));
    }
    case "ld-packet":
      // Legacy packet loads, in ubpf's spelling: `ldabsw imm` and `ldindw %rS, imm`.
      if (op.memMode(first.code) === op.BPF_ABS) {
        expectOperands(mnemonic, operands, 1);
        return line(insn(first.code, 0, 0, 0, parseImm32(operands[0]!)));
      }
      expectOperands(mnemonic, operands, 2);
      return line(insn(first.code, 0, parseRegister(operands[0]!), 0, parseImm32(operands[1]!)));
    case "atomic":
      throw new OperandError(`Invalid mnemonic: ${mnemonic}`);
  }
}

/** The suite's expected message for a malformed lock (negative/invalid_lock*.data). */
const LOCK_OPERANDS_ERROR = "Invalid number of operands for lock";

/** `lock [fetch] <op>[32] [%rD+off], %rS`. */
function encodeLock(operands: readonly string[]): EncodedLine {
  const fetch = operands[0] === "fetch";
  const rest = fetch ? operands.slice(1) : operands;
  if (rest.length !== 3) throw new OperandError(LOCK_OPERANDS_ERROR);
  const [operation, memoryText, source] = rest as [string, string, string];
  const name = (fetch ? "fetch " : "") + operation;
  const atomic = ATOMIC_MNEMONICS.get(name);
  if (atomic === undefined) throw new OperandError(`Invalid atomic operation: ${name}`);
  const memory = parseMemory(memoryText);
  return line(insn(atomic.info.code, memory.reg, parseRegister(source), memory.off, atomic.imm));
}

/** `.raw 0x...`: one slot as the 64-bit little-endian word of the suite's `-- raw` sections. */
function encodeRaw(operands: readonly string[]): EncodedLine {
  expectOperands(RAW_DIRECTIVE, operands, 1);
  const word = parseImm64(operands[0]!);
  const code = Number(word & 0xffn);
  const regs = Number((word >> 8n) & 0xffn);
  const off = Number((word >> 16n) & 0xffffn);
  const imm = Number(BigInt.asIntN(32, word >> 32n));
  return line(insn(code, regs & 0x0f, regs >> 4, off, imm));
}

/** Encodes one instruction given its mnemonic and operand tokens. Throws OperandError. */
export function encodeInstruction(mnemonic: string, operands: readonly string[]): EncodedLine {
  if (mnemonic === "lock") return encodeLock(operands);
  if (mnemonic === RAW_DIRECTIVE) return encodeRaw(operands);
  const entry = MNEMONICS.get(mnemonic);
  if (entry === undefined) throw new OperandError(`Invalid mnemonic: ${mnemonic}`);
  return encodeTableEntry(entry, mnemonic, operands);
}
