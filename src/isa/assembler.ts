// The assembler for the bpf_conformance `-- asm` syntax (see Alan-Jowett/bpf_conformance): one instruction
// per line, `%rN` registers, `[%rN+off]` memory operands, `name:` labels and `+N`/`-N` relative targets,
// `#` comments. Two passes: encode every line, then patch label references once all labels are known.

import { AssemblyError } from "./errors.js";
import type { Insn } from "./instruction.js";
import { IMPLICIT_EXIT_LABEL, encodeInstruction, type Fixup } from "./asm-encode.js";
import { OperandError, isLabelName } from "./asm-operands.js";
import { OP_EXIT } from "./opcodes.js";

interface PendingFixup extends Fixup {
  slot: number;
  line: number;
}

interface SourceLine {
  number: number;
  label?: string;
  mnemonic?: string;
  operands: string[];
}

/**
 * Splits a line into its label, mnemonic and operand tokens. Operands are separated by commas and/or blanks
 * (the suite separates `lock fetch add` and `call local f` words by blanks); a bracketed memory operand is
 * one token whatever blanks it contains.
 */
function tokenize(text: string, number: number): SourceLine {
  const code = text.replace(/#.*/, "");
  const tokens = (code.match(/\[[^\]]*\]?|[^\s,[]+/g) ?? []).map((t) => (t.startsWith("[") ? t.replace(/\s+/g, "") : t));
  const result: SourceLine = { number, operands: [] };
  let first = tokens.shift();
  if (first?.endsWith(":")) {
    result.label = first.slice(0, -1);
    first = tokens.shift();
  }
  if (first !== undefined) result.mnemonic = first;
  result.operands = tokens;
  return result;
}

/** Assembles conformance-syntax source into instruction slots. Throws AssemblyError(line, reason). */
export function assemble(source: string): Insn[] {
  const program: Insn[] = [];
  const labels = new Map<string, number>();
  const fixups: PendingFixup[] = [];
  let firstExit: number | undefined;
  const lines = source.split(/\r?\n/);

  lines.forEach((text, i) => {
    const line = tokenize(text, i + 1);
    if (line.label !== undefined) {
      if (!isLabelName(line.label)) throw new AssemblyError(line.number, `Invalid label name: ${line.label}`);
      const previous = labels.get(line.label);
      if (previous !== undefined) {
        throw new AssemblyError(line.number, `Duplicate label: ${line.label} (already marks instruction ${previous})`);
      }
      labels.set(line.label, program.length);
    }
    if (line.mnemonic === undefined) return;
    try {
      const encoded = encodeInstruction(line.mnemonic, line.operands);
      if (encoded.fixup) fixups.push({ ...encoded.fixup, slot: program.length, line: line.number });
      if (firstExit === undefined && encoded.slots[0]?.code === OP_EXIT) firstExit = program.length;
      program.push(...encoded.slots);
    } catch (error) {
      if (error instanceof OperandError) throw new AssemblyError(line.number, error.message);
      throw error;
    }
  });

  if (program.length === 0) throw new AssemblyError(Math.max(1, lines.length), "The program has no instructions");
  for (const fixup of fixups) resolveFixup(program, fixup, targetOf(fixup, labels, firstExit));
  return program;
}

function targetOf(fixup: PendingFixup, labels: ReadonlyMap<string, number>, firstExit: number | undefined): number {
  const target = labels.get(fixup.label) ?? (fixup.label === IMPLICIT_EXIT_LABEL ? firstExit : undefined);
  if (target === undefined) throw new AssemblyError(fixup.line, `Invalid label: ${fixup.label}`);
  return target;
}

function resolveFixup(program: Insn[], fixup: PendingFixup, target: number): void {
  const distance = target - fixup.slot - 1;
  const ins = program[fixup.slot]!;
  if (fixup.field === "off") {
    if (distance < -0x8000 || distance > 0x7fff) {
      throw new AssemblyError(fixup.line, `Jump to ${fixup.label} is ${distance} instructions away, beyond the 16-bit offset`);
    }
    ins.off = distance;
  } else {
    ins.imm = distance;
  }
}
