// Relocation sections. BPF objects use SHT_REL (the addend sits in the patched field); x86-64 binaries use
// SHT_RELA. Both come out as one shape, with `addend` undefined for REL entries.

import { hex, readI64, readU64, viewOf } from "./bytes.js";
import { ELF64_REL_SIZE, ELF64_RELA_SIZE, SHT_NOBITS, SHT_RELA } from "./constants.js";
import { ElfError } from "./errors.js";
import { describeSection, type ElfSection } from "./sections.js";
import { tableEntryCount } from "./symbols.js";

export interface ElfRelocation {
  /** Offset in the target section (ET_REL) or virtual address (ET_EXEC/ET_DYN) of the patched field. */
  offset: number;
  /** Index into the linked symbol table. */
  symbolIndex: number;
  /** Machine-specific relocation type (R_BPF_64_64, R_X86_64_JUMP_SLOT, ...). */
  type: number;
  /** The explicit addend of a RELA entry; undefined for REL. */
  addend?: number;
}

export interface ElfRelocationSection {
  section: ElfSection;
  /** The section the relocations patch (sh_info), or 0 for dynamic relocations that patch addresses. */
  targetIndex: number;
  /** The symbol table the entries index into (sh_link). */
  symbolTableIndex: number;
  entries: ElfRelocation[];
}

export interface RelocationContext {
  /** True for ET_REL files, whose relocation offsets are section-relative. */
  relocatable: boolean;
  /** How many symbols the symbol table at a section index holds. */
  symbolCount: (symbolTableIndex: number) => number;
}

export function parseRelocations(
  bytes: Uint8Array,
  sections: readonly ElfSection[],
  section: ElfSection,
  context: RelocationContext,
): ElfRelocationSection {
  const rela = section.type === SHT_RELA;
  const entrySize = rela ? ELF64_RELA_SIZE : ELF64_REL_SIZE;
  const count = tableEntryCount(section, entrySize, rela ? "RELA entries" : "REL entries");
  if (section.info >= sections.length) {
    throw new ElfError(
      "ELF_BAD_INDEX",
      `${describeSection(section)}: sh_info ${section.info} (target section) is out of range (the file has ${sections.length})`,
    );
  }
  const symbols = sections[section.link];
  if (symbols === undefined) {
    throw new ElfError(
      "ELF_BAD_INDEX",
      `${describeSection(section)}: sh_link ${section.link} (symbol table) is out of range (the file has ${sections.length})`,
    );
  }
  const symbolsAvailable = section.link === 0 ? 0 : context.symbolCount(section.link);
  const view = viewOf(bytes.subarray(section.offset, section.offset + section.size));
  const entries: ElfRelocation[] = new Array<ElfRelocation>(count);
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const where = () => `${describeSection(section)}: relocation ${i}`;
    const symbolIndex = view.getUint32(at + 12, true);
    if (symbolIndex !== 0 && symbolIndex >= symbolsAvailable) {
      throw new ElfError(
        "ELF_BAD_INDEX",
        `${where()}: symbol index ${symbolIndex} is out of range (${describeSection(symbols)} has ${symbolsAvailable} symbols)`,
      );
    }
    const entry: ElfRelocation = {
      offset: readU64(view, at, () => `${where()}: r_offset`),
      symbolIndex,
      type: view.getUint32(at + 8, true),
    };
    if (rela) entry.addend = readI64(view, at + 16, () => `${where()}: r_addend`);
    entries[i] = entry;
  }
  const target = sections[section.info];
  // In a relocatable object r_offset is an offset inside the target section; one past its end is corrupt.
  if (context.relocatable && target !== undefined && section.info !== 0 && target.type !== SHT_NOBITS) {
    entries.forEach((entry, i) => {
      if (entry.offset >= target.size) {
        throw new ElfError(
          "ELF_OUT_OF_BOUNDS",
          `${describeSection(section)}: relocation ${i} patches offset ${hex(entry.offset)}, past the end of ` +
            `${describeSection(target)} (${hex(target.size)} bytes)`,
        );
      }
    });
  }
  return { section, targetIndex: section.info, symbolTableIndex: section.link, entries };
}
