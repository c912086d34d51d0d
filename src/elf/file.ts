// One parsed ELF64 file: header, sections and segments eagerly (validated up front), symbol tables and
// relocations on demand. Section data is handed out as views into the caller's bytes, never copied.

import { ET_REL, SHT_DYNSYM, SHT_REL, SHT_RELA, SHT_SYMTAB } from "./constants.js";
import { ElfError } from "./errors.js";
import { parseElfHeader, type ElfHeader } from "./header.js";
import { parseRelocations, type ElfRelocationSection } from "./relocations.js";
import { describeSection, hasFileData, parseSections, type ElfSection } from "./sections.js";
import { parseSegments, type ElfSegment } from "./segments.js";
import { parseSymbols, type ElfSymbol } from "./symbols.js";
import { parseSymbolVersions } from "./versions.js";

export class ElfFile {
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  private readonly symbolTables = new Map<number, ElfSymbol[]>();
  private readonly relocationTables = new Map<number, ElfRelocationSection>();

  constructor(readonly bytes: Uint8Array) {
    this.header = parseElfHeader(bytes);
    this.sections = parseSections(bytes, this.header);
    this.segments = parseSegments(bytes, this.header, this.sections);
  }

  static parse(bytes: Uint8Array): ElfFile {
    return new ElfFile(bytes);
  }

  /** The first section with this name. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  sectionAt(index: number): ElfSection {
    const section = this.sections[index];
    if (section === undefined) {
      throw new ElfError("ELF_BAD_INDEX", `section index ${index} is out of range (the file has ${this.sections.length})`);
    }
    return section;
  }

  /** The section's bytes as a view into the file; empty for NOBITS sections such as .bss. */
  sectionData(section: ElfSection | number | string): Uint8Array {
    const found = this.resolve(section);
    if (!hasFileData(found)) return this.bytes.subarray(0, 0);
    return this.bytes.subarray(found.offset, found.offset + found.size);
  }

  /** Symbols of .symtab (empty when the file is stripped). */
  symbols(): readonly ElfSymbol[] {
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    return symtab === undefined ? [] : this.symbolsOf(symtab);
  }

  /** Symbols of .dynsym, with GNU versions attached where the file has them. */
  dynamicSymbols(): readonly ElfSymbol[] {
    const dynsym = this.sections.find((s) => s.type === SHT_DYNSYM);
    return dynsym === undefined ? [] : this.symbolsOf(dynsym);
  }

  /** The symbols of a given SHT_SYMTAB or SHT_DYNSYM section. */
  symbolsOf(section: ElfSection | number): readonly ElfSymbol[] {
    const table = this.resolve(section);
    const cached = this.symbolTables.get(table.index);
    if (cached !== undefined) return cached;
    if (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM) {
      throw new ElfError("ELF_BAD_INDEX", `${describeSection(table)} is not a symbol table (type ${table.type})`);
    }
    const symbols = parseSymbols(this.bytes, this.sections, table);
    if (table.type === SHT_DYNSYM) {
      const versions = parseSymbolVersions(this.bytes, this.sections, symbols.length);
      versions?.forEach((version, i) => {
        const symbol = symbols[i];
        if (version !== undefined && symbol !== undefined) symbol.version = version;
      });
    }
    this.symbolTables.set(table.index, symbols);
    return symbols;
  }

  /** Every SHT_REL and SHT_RELA section, parsed. */
  relocationSections(): ElfRelocationSection[] {
    return this.sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA).map((s) => this.relocations(s));
  }

  /** The relocation sections that patch the section at `targetIndex`. */
  relocationsFor(target: ElfSection | number): ElfRelocationSection[] {
    const index = typeof target === "number" ? target : target.index;
    return this.relocationSections().filter((r) => r.targetIndex === index);
  }

  relocations(section: ElfSection | number | string): ElfRelocationSection {
    const found = this.resolve(section);
    if (found.type !== SHT_REL && found.type !== SHT_RELA) {
      throw new ElfError("ELF_BAD_INDEX", `${describeSection(found)} is not a relocation section (type ${found.type})`);
    }
    let parsed = this.relocationTables.get(found.index);
    if (parsed === undefined) {
      parsed = parseRelocations(this.bytes, this.sections, found, {
        relocatable: this.header.type === ET_REL,
        symbolCount: (index) => this.symbolsOf(index).length,
      });
      this.relocationTables.set(found.index, parsed);
    }
    return parsed;
  }

  private resolve(section: ElfSection | number | string): ElfSection {
    if (typeof section === "number") return this.sectionAt(section);
    if (typeof section === "string") {
      const found = this.section(section);
      if (found === undefined) throw new ElfError("ELF_BAD_INDEX", `no section named ${section}`);
      return found;
    }
    return section;
  }
}
