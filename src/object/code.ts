// Code sections of a BPF object: their functions, and what each ELF relocation against their
// instructions means (a subprogram call, a function address, a map, a pointer into global data, an extern).

import type { ElfFile } from "../elf/file.js";
import type { ElfSection } from "../elf/sections.js";
import type { ElfSymbol } from "../elf/symbols.js";
import { R_BPF_64_32, R_BPF_64_64, SHF_EXECINSTR, SHN_UNDEF, STT_FUNC, STT_SECTION } from "../elf/constants.js";
import { decodeProgram, type Insn } from "../isa/instruction.js";
import { BPF_PSEUDO_CALL, OP_CALL, OP_LDDW } from "../isa/opcodes.js";
import { ObjectError } from "./errors.js";

export interface CodeSection {
  readonly index: number;
  readonly name: string;
  readonly insns: readonly Insn[];
  readonly functions: readonly ElfFunction[];
  /** What the relocation at each slot refers to. */
  readonly references: ReadonlyMap<number, Reference>;
}

export interface ElfFunction {
  readonly name: string;
  readonly section: CodeSection;
  /** First slot in the section. */
  readonly start: number;
  readonly length: number;
  readonly global: boolean;
}

export interface CodeLocation {
  readonly section: number;
  readonly slot: number;
}

/** What one relocated instruction refers to. */
export type Reference =
  | { kind: "call"; target: CodeLocation }
  | { kind: "function-address"; target: CodeLocation }
  | { kind: "map"; symbol: ElfSymbol; section: ElfSection }
  | { kind: "data"; section: ElfSection; offset: number }
  | { kind: "extern"; symbol: ElfSymbol }
  | { kind: "kfunc"; symbol: ElfSymbol };

const INSN = 8;

/** The symbols of .symtab defined in `section`. */
export function symbolsIn(elf: ElfFile, section: ElfSection): ElfSymbol[] {
  return elf.symbols().filter((s) => s.sectionIndex === section.index);
}

export function isCodeSection(section: ElfSection): boolean {
  return (section.flags & SHF_EXECINSTR) !== 0 && section.size > 0;
}

/** Functions of one code section from its STT_FUNC symbols (or the whole section when it has none). */
function functionsOf(elf: ElfFile, section: ElfSection, code: { insns: readonly Insn[] }, owner: CodeSection): ElfFunction[] {
  const symbols = symbolsIn(elf, section)
    .filter((s) => s.type === STT_FUNC)
    .sort((a, b) => a.value - b.value);
  if (symbols.length === 0) return [{ name: section.name, section: owner, start: 0, length: code.insns.length, global: true }];
  return symbols.map((symbol, i) => {
    if (symbol.value % INSN !== 0) throw new ObjectError(`function '${symbol.name}' in ${section.name} starts at byte ${symbol.value}, not an instruction boundary`);
    const start = symbol.value / INSN;
    const next = symbols[i + 1];
    const end = symbol.size > 0 ? start + symbol.size / INSN : next ? next.value / INSN : code.insns.length;
    if (end > code.insns.length) throw new ObjectError(`function '${symbol.name}' in ${section.name} extends past the end of the section`);
    return { name: symbol.name, section: owner, start, length: end - start, global: symbol.bind !== 0 };
  });
}

function classify(elf: ElfFile, section: ElfSection, insns: readonly Insn[], offset: number, type: number, symbol: ElfSymbol): Reference {
  const where = `${section.name}+0x${offset.toString(16)}`;
  if (offset % INSN !== 0) throw new ObjectError(`relocation at ${where} is not on an instruction boundary`, "OBJ_BAD_RELOCATION");
  const slot = offset / INSN;
  const ins = insns[slot];
  if (!ins) throw new ObjectError(`relocation at ${where} is outside the section`, "OBJ_BAD_RELOCATION");
  if (symbol.sectionIndex === SHN_UNDEF) {
    if (ins.code === OP_CALL) return { kind: "kfunc", symbol };
    if (ins.code === OP_LDDW) return { kind: "extern", symbol };
    throw new ObjectError(`relocation at ${where}: extern '${symbol.name}' is used by an instruction that is neither lddw nor call`, "OBJ_BAD_RELOCATION");
  }
  const target = elf.sectionAt(symbol.sectionIndex);
  if (ins.code === OP_CALL) {
    if (ins.src !== BPF_PSEUDO_CALL) throw new ObjectError(`relocation at ${where}: a call relocation on a helper call`, "OBJ_BAD_RELOCATION");
    if (!isCodeSection(target)) throw new ObjectError(`relocation at ${where}: call to '${symbol.name}' in non-code section ${target.name}`, "OBJ_BAD_RELOCATION");
    if (type !== R_BPF_64_32 && type !== R_BPF_64_64) throw new ObjectError(`relocation at ${where}: call relocation of unexpected type ${type}`, "OBJ_BAD_RELOCATION");
    return { kind: "call", target: { section: target.index, slot: symbol.value / INSN + ins.imm + 1 } };
  }
  if (ins.code !== OP_LDDW) throw new ObjectError(`relocation at ${where} is on opcode 0x${ins.code.toString(16)}, expected lddw or call`, "OBJ_BAD_RELOCATION");
  if (isCodeSection(target)) {
    const bytes = symbol.value + ins.imm;
    if (bytes % INSN !== 0) throw new ObjectError(`relocation at ${where}: function address is not on an instruction boundary`, "OBJ_BAD_RELOCATION");
    return { kind: "function-address", target: { section: target.index, slot: bytes / INSN } };
  }
  if (target.name === ".maps" || target.name === "maps") return { kind: "map", symbol, section: target };
  // Global data: a section symbol carries the offset in the instruction; a variable symbol adds its value.
  const variableOffset = symbol.type === STT_SECTION ? 0 : symbol.value;
  return { kind: "data", section: target, offset: variableOffset + ins.imm };
}

/** Every non-empty code section with its functions and classified relocations. */
export function readCodeSections(elf: ElfFile): CodeSection[] {
  const out: CodeSection[] = [];
  for (const section of elf.sections) {
    if (!isCodeSection(section)) continue;
    if (section.size % INSN !== 0) throw new ObjectError(`code section ${section.name} is ${section.size} bytes, not a whole number of instructions`);
    const insns = decodeProgram(elf.sectionData(section));
    const references = new Map<number, Reference>();
    const owner: { -readonly [K in keyof CodeSection]: CodeSection[K] } = { index: section.index, name: section.name, insns, functions: [], references };
    owner.functions = functionsOf(elf, section, { insns }, owner);
    for (const relocSection of elf.relocationsFor(section)) {
      for (const entry of relocSection.entries) {
        const symbol = elf.symbolsOf(relocSection.symbolTableIndex)[entry.symbolIndex];
        if (!symbol) throw new ObjectError(`relocation at ${section.name}+0x${entry.offset.toString(16)} refers to missing symbol ${entry.symbolIndex}`, "OBJ_BAD_RELOCATION");
        references.set(entry.offset / INSN, classify(elf, section, insns, entry.offset, entry.type, symbol));
      }
    }
    out.push(owner);
  }
  return out;
}

/** The function of `sections` that contains `location`. */
export function functionAt(sections: readonly CodeSection[], location: CodeLocation): ElfFunction | undefined {
  const section = sections.find((s) => s.index === location.section);
  return section?.functions.find((f) => location.slot >= f.start && location.slot < f.start + f.length);
}
