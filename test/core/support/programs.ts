// Just enough of an object loader for CO-RE tests: the programs of a BPF ELF (function symbols in executable
// sections), each with its slot offset within its section, plus the object's BTF and CO-RE records.

import { parseBtf } from "../../../src/btf/parse.js";
import type { Btf } from "../../../src/btf/btf.js";
import { parseBtfExt, type CoreRelo } from "../../../src/btf/ext.js";
import { ElfFile } from "../../../src/elf/file.js";
import { SHF_EXECINSTR, STT_FUNC } from "../../../src/elf/constants.js";
import { decodeProgram, INSN_SIZE, type Insn } from "../../../src/isa/instruction.js";

export interface TestProgram {
  name: string;
  section: string;
  /** Slot index of the program's first instruction within its section. */
  sectionInsnOffset: number;
  insns: Insn[];
}

export interface TestObject {
  btf: Btf;
  programs: TestProgram[];
  /** CO-RE records by section name. */
  coreRelos: Map<string, CoreRelo[]>;
}

export function readTestObject(bytes: Uint8Array): TestObject {
  const elf = new ElfFile(bytes);
  const btf = parseBtf(elf.sectionData(".BTF"));
  const ext = elf.section(".BTF.ext") === undefined ? undefined : parseBtfExt(elf.sectionData(".BTF.ext"), btf);
  const coreRelos = new Map((ext?.coreRelos ?? []).map((s) => [s.section, s.records] as const));
  const programs: TestProgram[] = [];
  for (const section of elf.sections) {
    if ((section.flags & SHF_EXECINSTR) === 0 || section.size === 0) continue;
    const slots = decodeProgram(elf.sectionData(section));
    const starts = elf
      .symbols()
      .filter((s) => s.type === STT_FUNC && s.sectionIndex === section.index)
      .sort((a, b) => a.value - b.value);
    starts.forEach((symbol, i) => {
      const from = symbol.value / INSN_SIZE;
      const to = (starts[i + 1]?.value ?? section.size) / INSN_SIZE;
      programs.push({ name: symbol.name, section: section.name, sectionInsnOffset: from, insns: slots.slice(from, to) });
    });
  }
  return { btf, programs, coreRelos };
}
