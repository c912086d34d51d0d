// Section headers and their names. Every section's file range is checked here, once, so that later readers
// can slice section data without re-validating.

import { checkInFile, hex, readU64, viewOf } from "./bytes.js";
import { ELF64_SECTION_HEADER_SIZE, SHN_XINDEX, SHT_NOBITS, SHT_NULL } from "./constants.js";
import { ElfError } from "./errors.js";
import type { ElfHeader } from "./header.js";
import { StringTable } from "./string-table.js";

export interface ElfSection {
  index: number;
  name: string;
  /** Offset of the name in the section name table. */
  nameOffset: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

/** "section 7 (.text)" — how error messages name a section. */
export function describeSection(section: Pick<ElfSection, "index" | "name">): string {
  return section.name === "" ? `section ${section.index}` : `section ${section.index} (${section.name})`;
}

/** True when the section occupies bytes in the file (NOBITS sections such as .bss only have a size). */
export function hasFileData(section: ElfSection): boolean {
  return section.type !== SHT_NOBITS && section.type !== SHT_NULL;
}

interface RawSectionTable {
  sections: ElfSection[];
  shstrndx: number;
}

function readSectionHeader(view: DataView, at: number, index: number): ElfSection {
  const field = (name: string) => () => `section ${index}: ${name}`;
  return {
    index,
    name: "",
    nameOffset: view.getUint32(at, true),
    type: view.getUint32(at + 4, true),
    flags: readU64(view, at + 8, field("sh_flags")),
    addr: readU64(view, at + 16, field("sh_addr")),
    offset: readU64(view, at + 24, field("sh_offset")),
    size: readU64(view, at + 32, field("sh_size")),
    link: view.getUint32(at + 40, true),
    info: view.getUint32(at + 44, true),
    addralign: readU64(view, at + 48, field("sh_addralign")),
    entsize: readU64(view, at + 56, field("sh_entsize")),
  };
}

function readSectionTable(bytes: Uint8Array, header: ElfHeader): RawSectionTable {
  if (header.shoff === 0) return { sections: [], shstrndx: 0 };
  const view = viewOf(bytes);
  checkInFile(header.shoff, ELF64_SECTION_HEADER_SIZE, bytes.length, () => "section header 0");
  const first = readSectionHeader(view, header.shoff, 0);
  // Extended numbering: counts that do not fit in 16 bits live in section 0.
  const count = header.shnum === 0 ? first.size : header.shnum;
  const shstrndx = header.shstrndx === SHN_XINDEX ? first.link : header.shstrndx;
  const tableSize = count * ELF64_SECTION_HEADER_SIZE;
  checkInFile(header.shoff, tableSize, bytes.length, () => `section header table (${count} entries)`);
  const sections: ElfSection[] = [first];
  for (let i = 1; i < count; i++) {
    sections.push(readSectionHeader(view, header.shoff + i * ELF64_SECTION_HEADER_SIZE, i));
  }
  return { sections, shstrndx };
}

/** Reads and validates all section headers, resolving their names through the section name table. */
export function parseSections(bytes: Uint8Array, header: ElfHeader): ElfSection[] {
  const { sections, shstrndx } = readSectionTable(bytes, header);
  if (sections.length === 0) return sections;
  // Names first, so that every later message can say which section is broken.
  if (shstrndx !== 0) nameSections(bytes, sections, shstrndx);
  for (const section of sections) {
    if (hasFileData(section)) {
      checkInFile(section.offset, section.size, bytes.length, () => `${describeSection(section)}: data`);
    }
  }
  return sections;
}

function nameSections(bytes: Uint8Array, sections: ElfSection[], shstrndx: number): void {
  const nameSection = sections[shstrndx];
  if (nameSection === undefined) {
    throw new ElfError("ELF_BAD_INDEX", `e_shstrndx is ${shstrndx}, but the file has only ${sections.length} sections`);
  }
  if (!hasFileData(nameSection)) {
    throw new ElfError("ELF_BAD_INDEX", `e_shstrndx ${shstrndx} names a section without data (type ${nameSection.type})`);
  }
  checkInFile(nameSection.offset, nameSection.size, bytes.length, () => `section ${shstrndx} (section name table): data`);
  const names = new StringTable(bytes.subarray(nameSection.offset, nameSection.offset + nameSection.size));
  for (const section of sections) {
    if (section.nameOffset === 0 && names.size === 0) continue;
    const name = names.at(section.nameOffset);
    if (name === undefined) {
      throw new ElfError(
        "ELF_BAD_STRING",
        `section ${section.index}: name offset ${hex(section.nameOffset)} is outside the section name table ` +
          `(${hex(names.size)} bytes, or not NUL-terminated)`,
      );
    }
    section.name = name;
  }
}
