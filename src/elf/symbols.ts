// Symbol tables (.symtab, .dynsym) with their names, binding, type, visibility and section index.

import { hex, readU64, viewOf } from "./bytes.js";
import { ELF64_SYM_SIZE, SHN_LORESERVE, SHN_XINDEX, SHT_STRTAB, SHT_SYMTAB_SHNDX } from "./constants.js";
import { ElfError } from "./errors.js";
import { describeSection, type ElfSection } from "./sections.js";
import { StringTable } from "./string-table.js";

export interface SymbolVersion {
  name: string;
  /** A non-default version: the symbol is `name@VER`, not `name@@VER`. */
  hidden: boolean;
  /** For a version required from another object (.gnu.version_r), that object's soname. */
  file?: string;
}

export interface ElfSymbol {
  /** Index in its symbol table (relocations refer to symbols by this index). */
  index: number;
  name: string;
  value: number;
  size: number;
  /** STB_LOCAL, STB_GLOBAL, STB_WEAK, ... */
  bind: number;
  /** STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, ... */
  type: number;
  /** STV_DEFAULT, STV_HIDDEN, ... */
  visibility: number;
  /** Section index, with SHN_XINDEX already resolved through SHT_SYMTAB_SHNDX; SHN_UNDEF/ABS/COMMON as is. */
  sectionIndex: number;
  version?: SymbolVersion;
}

/** `name@VER` / `name@@VER` for versioned symbols (the form uprobe targets use), `name` otherwise. */
export function versionedName(symbol: ElfSymbol): string {
  const version = symbol.version;
  if (version === undefined) return symbol.name;
  const defined = symbol.sectionIndex !== 0;
  return `${symbol.name}${version.hidden || !defined ? "@" : "@@"}${version.name}`;
}

/** The string table a section links to (symbol tables, version sections, .dynamic). */
export function linkedStringTable(bytes: Uint8Array, sections: readonly ElfSection[], owner: ElfSection): StringTable {
  const table = sections[owner.link];
  if (table === undefined || owner.link === 0) {
    throw new ElfError(
      "ELF_BAD_INDEX",
      `${describeSection(owner)}: sh_link ${owner.link} does not name a section (the file has ${sections.length})`,
    );
  }
  if (table.type !== SHT_STRTAB) {
    throw new ElfError(
      "ELF_BAD_INDEX",
      `${describeSection(owner)}: sh_link ${owner.link} names ${describeSection(table)}, which is not a string table`,
    );
  }
  return new StringTable(bytes.subarray(table.offset, table.offset + table.size));
}

/** Checks that a table section holds whole entries of `entrySize` bytes; returns the entry count. */
export function tableEntryCount(section: ElfSection, entrySize: number, what: string): number {
  if (section.entsize !== entrySize) {
    throw new ElfError(
      "ELF_BAD_ENTRY_SIZE",
      `${describeSection(section)}: sh_entsize is ${section.entsize}, expected ${entrySize} for ${what}`,
    );
  }
  if (section.size % entrySize !== 0) {
    throw new ElfError(
      "ELF_BAD_ENTRY_SIZE",
      `${describeSection(section)}: size ${hex(section.size)} is not a multiple of the ${entrySize}-byte ${what}`,
    );
  }
  return section.size / entrySize;
}

function extendedIndexTable(
  bytes: Uint8Array,
  sections: readonly ElfSection[],
  symtab: ElfSection,
): DataView | undefined {
  const shndx = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  return shndx === undefined ? undefined : viewOf(bytes.subarray(shndx.offset, shndx.offset + shndx.size));
}

export function parseSymbols(bytes: Uint8Array, sections: readonly ElfSection[], symtab: ElfSection): ElfSymbol[] {
  const count = tableEntryCount(symtab, ELF64_SYM_SIZE, "symbol entries");
  const names = linkedStringTable(bytes, sections, symtab);
  const view = viewOf(bytes.subarray(symtab.offset, symtab.offset + symtab.size));
  const xindex = extendedIndexTable(bytes, sections, symtab);
  const symbols: ElfSymbol[] = new Array<ElfSymbol>(count);
  for (let index = 0; index < count; index++) {
    const at = index * ELF64_SYM_SIZE;
    const where = () => `${describeSection(symtab)}: symbol ${index}`;
    const nameOffset = view.getUint32(at, true);
    const name = names.at(nameOffset);
    if (name === undefined) {
      throw new ElfError(
        "ELF_BAD_STRING",
        `${where()}: name offset ${hex(nameOffset)} is outside its string table (${hex(names.size)} bytes) ` +
          `or not NUL-terminated`,
      );
    }
    const info = view.getUint8(at + 4);
    const other = view.getUint8(at + 5);
    let sectionIndex = view.getUint16(at + 6, true);
    if (sectionIndex === SHN_XINDEX && xindex !== undefined && index * 4 + 4 <= xindex.byteLength) {
      sectionIndex = xindex.getUint32(index * 4, true);
    }
    if (sectionIndex >= sections.length && (sectionIndex < SHN_LORESERVE || sectionIndex > 0xffff)) {
      throw new ElfError(
        "ELF_BAD_INDEX",
        `${where()} (${name}): section index ${sectionIndex} is out of range (the file has ${sections.length})`,
      );
    }
    symbols[index] = {
      index,
      name,
      value: readU64(view, at + 8, () => `${where()} (${name}): st_value`),
      size: readU64(view, at + 16, () => `${where()} (${name}): st_size`),
      bind: info >> 4,
      type: info & 0xf,
      visibility: other & 0x3,
      sectionIndex,
    };
  }
  return symbols;
}
