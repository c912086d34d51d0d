// GNU symbol versioning: .gnu.version (one u16 per dynamic symbol), .gnu.version_d (versions this object
// defines) and .gnu.version_r (versions it needs from other objects). uprobe targets may name `func@VER`.

import { hex, viewOf } from "./bytes.js";
import { SHT_GNU_VERDEF, SHT_GNU_VERNEED, SHT_GNU_VERSYM, VER_FLG_BASE, VERSYM_HIDDEN } from "./constants.js";
import { ElfError } from "./errors.js";
import { describeSection, type ElfSection } from "./sections.js";
import { linkedStringTable, type SymbolVersion } from "./symbols.js";
import type { StringTable } from "./string-table.js";

const VERDEF_SIZE = 20;
const VERDAUX_SIZE = 8;
const VERNEED_SIZE = 16;
const VERNAUX_SIZE = 16;

interface VersionName {
  name: string;
  file?: string;
}

/** Walks a linked list of version records, guarding against cycles and records outside the section. */
function* chain(section: ElfSection, view: DataView, start: number, size: number, nextAt: number) {
  let at = start;
  const seen = new Set<number>();
  for (;;) {
    if (at < 0 || at + size > view.byteLength) {
      throw new ElfError(
        "ELF_OUT_OF_BOUNDS",
        `${describeSection(section)}: version record at ${hex(at)} extends past the section (${hex(view.byteLength)} bytes)`,
      );
    }
    if (seen.has(at)) {
      throw new ElfError("ELF_BAD_INDEX", `${describeSection(section)}: version records loop at ${hex(at)}`);
    }
    seen.add(at);
    yield at;
    const next = view.getUint32(at + nextAt, true);
    if (next === 0) return;
    at += next;
  }
}

function versionString(section: ElfSection, strings: StringTable, offset: number): string {
  const name = strings.at(offset);
  if (name === undefined) {
    throw new ElfError(
      "ELF_BAD_STRING",
      `${describeSection(section)}: version name offset ${hex(offset)} is outside its string table (${hex(strings.size)} bytes)`,
    );
  }
  return name;
}

function readDefinitions(bytes: Uint8Array, sections: readonly ElfSection[], section: ElfSection, out: Map<number, VersionName>) {
  const strings = linkedStringTable(bytes, sections, section);
  const view = viewOf(bytes.subarray(section.offset, section.offset + section.size));
  if (section.size === 0) return;
  for (const at of chain(section, view, 0, VERDEF_SIZE, 16)) {
    const flags = view.getUint16(at + 2, true);
    const index = view.getUint16(at + 4, true);
    const auxCount = view.getUint16(at + 6, true);
    const aux = view.getUint32(at + 12, true);
    // The base definition names the file itself, not a version symbols can carry.
    if (auxCount === 0 || (flags & VER_FLG_BASE) !== 0) continue;
    const first = chain(section, view, at + aux, VERDAUX_SIZE, 4).next();
    if (first.done === true) continue;
    out.set(index, { name: versionString(section, strings, view.getUint32(first.value, true)) });
  }
}

function readRequirements(bytes: Uint8Array, sections: readonly ElfSection[], section: ElfSection, out: Map<number, VersionName>) {
  const strings = linkedStringTable(bytes, sections, section);
  const view = viewOf(bytes.subarray(section.offset, section.offset + section.size));
  if (section.size === 0) return;
  for (const at of chain(section, view, 0, VERNEED_SIZE, 12)) {
    const file = versionString(section, strings, view.getUint32(at + 4, true));
    const auxCount = view.getUint16(at + 2, true);
    if (auxCount === 0) continue;
    for (const aux of chain(section, view, at + view.getUint32(at + 8, true), VERNAUX_SIZE, 12)) {
      const index = view.getUint16(aux + 6, true);
      out.set(index, { name: versionString(section, strings, view.getUint32(aux + 8, true)), file });
    }
  }
}

/**
 * The version of each dynamic symbol (undefined for unversioned, local and base-version symbols), indexed like
 * the .dynsym table. Returns undefined when the file has no .gnu.version section.
 */
export function parseSymbolVersions(
  bytes: Uint8Array,
  sections: readonly ElfSection[],
  symbolCount: number,
): (SymbolVersion | undefined)[] | undefined {
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (versym === undefined) return undefined;
  const names = new Map<number, VersionName>();
  for (const section of sections) {
    if (section.type === SHT_GNU_VERDEF) readDefinitions(bytes, sections, section, names);
    else if (section.type === SHT_GNU_VERNEED) readRequirements(bytes, sections, section, names);
  }
  const view = viewOf(bytes.subarray(versym.offset, versym.offset + versym.size));
  const result: (SymbolVersion | undefined)[] = [];
  for (let i = 0; i < symbolCount && i * 2 + 2 <= view.byteLength; i++) {
    const raw = view.getUint16(i * 2, true);
    const named = names.get(raw & ~VERSYM_HIDDEN);
    if (named === undefined) {
      result.push(undefined);
      continue;
    }
    const version: SymbolVersion = { name: named.name, hidden: (raw & VERSYM_HIDDEN) !== 0 };
    if (named.file !== undefined) version.file = named.file;
    result.push(version);
  }
  return result;
}
