// Program listings in two styles: "conformance", the bpf_conformance assembler syntax that `assemble` reads
// back to the identical slots, and "llvm", the listing `llvm-objdump -d` prints for a BPF section.

import type { Insn } from "./instruction.js";
import { formatConformanceSlot, type FormattedSlot } from "./asm-format-conformance.js";
import { formatLlvmSlot, type LlvmFormatOptions } from "./asm-format-llvm.js";
import { INSN_SIZE, encodeProgram } from "./instruction.js";

export type DisassemblyStyle = "conformance" | "llvm";

export interface DisassembleOptions {
  /** Defaults to "conformance". */
  style?: DisassemblyStyle;
  /**
   * llvm style: symbol names by slot index, as llvm-objdump takes them from the ELF symbol table. Each is
   * printed as a `0000000000000040 <name>:` header before its slot, and jump targets are annotated with
   * the nearest symbol at or before them (`goto +3 <LBB0_2>`, `goto -1 <f+0x10>`).
   */
  symbols?: ReadonlyMap<number, string>;
  /** llvm style: 32-bit loads, stores and atomics with `w` registers, like `llvm-objdump --mattr=+alu32`. */
  alu32?: boolean;
}

/** A whole program, one line per instruction, each line ending in a newline. */
export function disassemble(program: readonly Insn[], options: DisassembleOptions = {}): string {
  return options.style === "llvm" ? llvmListing(program, options) : conformanceListing(program);
}

/**
 * One instruction, for messages: the text at slot `index` without address or bytes. The second slot of an
 * lddw is not an instruction; it is shown as the raw slot it is.
 */
export function formatInsn(program: readonly Insn[], index: number, style: DisassemblyStyle = "conformance"): string {
  if (!(index >= 0 && index < program.length)) {
    throw new RangeError(`instruction ${index} is outside the program (0..${program.length - 1})`);
  }
  const format = (at: number): FormattedSlot =>
    style === "llvm" ? formatLlvmSlot(program, at) : formatConformanceSlot(program, at);
  let at = 0;
  let slot = format(at);
  while (at + slot.slots <= index) {
    at += slot.slots;
    slot = format(at);
  }
  if (at === index) return slot.text;
  // `index` is the second half of an lddw: show it alone.
  const alone = [program[index]!];
  return style === "llvm" ? formatLlvmSlot(alone, 0).text : formatConformanceSlot(alone, 0).text;
}

function conformanceListing(program: readonly Insn[]): string {
  let text = "";
  for (let at = 0; at < program.length; ) {
    const slot = formatConformanceSlot(program, at);
    text += `${slot.text}\n`;
    at += slot.slots;
  }
  return text;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, "0");

function llvmListing(program: readonly Insn[], options: DisassembleOptions): string {
  const symbols = options.symbols ?? new Map<number, string>();
  const symbolSlots = [...symbols.keys()].sort((a, b) => a - b);
  const formatOptions: LlvmFormatOptions = { annotateTarget: (slot) => targetAnnotation(slot, symbols, symbolSlots) };
  if (options.alu32 !== undefined) formatOptions.alu32 = options.alu32;
  const bytes = encodeProgram(program);
  let text = "";
  for (let at = 0; at < program.length; ) {
    const name = symbols.get(at);
    if (name !== undefined) text += `\n${hex(at * INSN_SIZE, 16)} <${name}>:\n`;
    const slot = formatLlvmSlot(program, at, formatOptions);
    const raw = bytes.subarray(at * INSN_SIZE, (at + slot.slots) * INSN_SIZE);
    text += `${String(at).padStart(8)}:\t${Array.from(raw, (b) => hex(b, 2)).join(" ")}\t${slot.text}\n`;
    at += slot.slots;
  }
  return text;
}

/**
 * ` <name>` or ` <name+0xNN>` for the closest symbol at or before the target. Like llvm-objdump, addresses
 * are unsigned 64-bit: a target before the section start wraps around and lands after the last symbol.
 */
function targetAnnotation(target: number, symbols: ReadonlyMap<number, string>, sortedSlots: readonly number[]): string {
  const address = (slot: number): bigint => BigInt.asUintN(64, BigInt(slot) * BigInt(INSN_SIZE));
  const wanted = address(target);
  let base: number | undefined;
  for (const slot of sortedSlots) {
    if (address(slot) > wanted) break;
    base = slot;
  }
  if (base === undefined) return "";
  const name = symbols.get(base)!;
  const distance = BigInt.asUintN(64, wanted - address(base));
  return distance === 0n ? ` <${name}>` : ` <${name}+0x${distance.toString(16)}>`;
}
