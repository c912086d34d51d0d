// The generic ELF64 little-endian reader: BPF objects and x86-64 executables / shared libraries.
export * from "./constants.js";
export * from "./errors.js";
export { hasElfMagic, parseElfHeader, type ElfHeader } from "./header.js";
export { describeSection, hasFileData, type ElfSection } from "./sections.js";
export { vaddrToFileOffset, type ElfSegment } from "./segments.js";
export { versionedName, type ElfSymbol, type SymbolVersion } from "./symbols.js";
export type { ElfRelocation, ElfRelocationSection } from "./relocations.js";
export { StringTable } from "./string-table.js";
export { ElfFile } from "./file.js";
export { elfExtent, findEmbeddedBpfObjects, type EmbeddedElf } from "./embedded.js";
