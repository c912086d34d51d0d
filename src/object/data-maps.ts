// Maps that an object implies rather than declares: one single-entry array per global-data section
// (.data*, .rodata*, .bss*), one for .kconfig externs, and the legacy `maps` section's definitions.

import type { Btf } from "../btf/btf.js";
import { typeAlignment, typeSize } from "../btf/resolve.js";
import type { BtfDatasec } from "../btf/types.js";
import type { ElfFile } from "../elf/file.js";
import type { ElfSection } from "../elf/sections.js";
import { SHN_UNDEF, SHT_NOBITS, STB_GLOBAL, STB_WEAK, STT_OBJECT } from "../elf/constants.js";
import { symbolsIn } from "./code.js";
import { ObjectError } from "./errors.js";
import { defineMap, type KconfigExtern, type MapDefinition, type VariableSpec } from "./spec.js";

export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_F_RDONLY_PROG = 0x80;
export const BPF_F_MMAPABLE = 0x400;
/** The kernel's BPF_OBJ_NAME_LEN, including the terminating NUL. */
const OBJ_NAME_LEN = 16;

export function isDataSection(section: ElfSection): boolean {
  return /^\.(data|rodata|bss)(\..+)?$/.test(section.name) && section.size > 0;
}

/**
 * The name libbpf gives a global-data map: as much of the object name as fits before the section name
 * in 15 characters (the section part counts as at least 7), with characters the kernel refuses replaced.
 * Sections with a second dot (.rodata.cst32, .data.custom) keep their own name without the prefix.
 */
export function internalMapName(objectName: string, sectionName: string): string {
  const suffixLength = Math.max(7, sectionName.length);
  const prefixLength = sectionName.includes(".", 1) ? 0 : Math.max(0, Math.min(OBJ_NAME_LEN - suffixLength - 1, objectName.length));
  const name = (objectName.slice(0, prefixLength) + sectionName).slice(0, OBJ_NAME_LEN - 1);
  return name.replace(/[^A-Za-z0-9_.]/g, "_");
}

function internalMap(objectName: string, name: string, size: number, readOnly: boolean, valueTypeId: number, data: Uint8Array): MapDefinition {
  return defineMap(
    {
      name,
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: size,
      maxEntries: 1,
      flags: BPF_F_MMAPABLE | (readOnly ? BPF_F_RDONLY_PROG : 0),
      origin: name === ".kconfig" ? "kconfig" : "data",
      section: name,
    },
    { kernelName: internalMapName(objectName, name), valueTypeId, initialData: data },
  );
}

export interface DataMap {
  readonly section: ElfSection;
  readonly definition: MapDefinition;
}

export function readDataMaps(elf: ElfFile, btf: Btf | undefined, objectName: string): DataMap[] {
  return elf.sections.filter(isDataSection).map((section) => {
    const datasec = btf?.find(section.name, "datasec");
    const data = section.type === SHT_NOBITS ? new Uint8Array(section.size) : elf.sectionData(section).slice();
    const readOnly = section.name.startsWith(".rodata");
    return { section, definition: internalMap(objectName, section.name, section.size, readOnly, datasec?.id ?? 0, data) };
  });
}

/** Global variables of the data maps (from BTF when present, ELF symbols otherwise). */
export function readVariables(elf: ElfFile, btf: Btf | undefined, dataMaps: readonly DataMap[], firstIndex: number): VariableSpec[] {
  const out: VariableSpec[] = [];
  dataMaps.forEach(({ section, definition }, i) => {
    const mapIndex = firstIndex + i;
    const readOnly = (definition.flags & BPF_F_RDONLY_PROG) !== 0;
    const datasec = btf?.find(section.name, "datasec") as BtfDatasec | undefined;
    if (datasec && btf) {
      // clang leaves DATASEC variable offsets at zero; like libbpf, take them from the ELF symbols.
      const symbols = new Map(symbolsIn(elf, section).map((s) => [s.name, s]));
      for (const info of datasec.vars) {
        const variable = btf.type(info.type);
        if (variable.kind !== "var" || variable.linkage === "static") continue;
        const symbol = symbols.get(variable.name);
        const offset = symbol ? symbol.value : info.offset;
        const size = info.size || typeSize(btf, variable.type);
        out.push({ name: variable.name, mapIndex, offset, size, typeId: variable.type, readOnly });
      }
      return;
    }
    for (const symbol of symbolsIn(elf, section)) {
      if (symbol.type !== STT_OBJECT || symbol.bind !== STB_GLOBAL) continue;
      out.push({ name: symbol.name, mapIndex, offset: symbol.value, size: symbol.size, typeId: 0, readOnly });
    }
  });
  return out;
}

/**
 * .kconfig externs laid out in one read-only map as libbpf lays them out: by descending alignment, then
 * ascending size, then name, each at its natural alignment, the map ending with the last extern.
 */
export function readKconfig(elf: ElfFile, btf: Btf | undefined, objectName: string): { externs: KconfigExtern[]; map: MapDefinition | undefined } {
  const datasec = btf?.find(".kconfig", "datasec") as BtfDatasec | undefined;
  if (!datasec || !btf) return { externs: [], map: undefined };
  const weak = new Set(elf.symbols().filter((s) => s.sectionIndex === SHN_UNDEF && s.bind === STB_WEAK).map((s) => s.name));
  const entries = datasec.vars.map((info) => {
    const variable = btf.type(info.type);
    if (variable.kind !== "var") throw new ObjectError(`.kconfig: entry ${info.type} is not a variable`);
    return { name: variable.name, typeId: variable.type, align: Math.max(1, typeAlignment(btf, variable.type)), size: info.size || typeSize(btf, variable.type) };
  });
  entries.sort((a, b) => b.align - a.align || a.size - b.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const externs: KconfigExtern[] = [];
  let size = 0;
  for (const entry of entries) {
    const offset = Math.ceil(size / entry.align) * entry.align;
    externs.push({ name: entry.name, offset, size: entry.size, typeId: entry.typeId, weak: weak.has(entry.name) });
    size = offset + entry.size;
  }
  if (externs.length === 0) return { externs, map: undefined };
  return { externs, map: internalMap(objectName, ".kconfig", size, true, datasec.id, new Uint8Array(size)) };
}

/** Definitions of the legacy `maps` section: five u32 per map (type, key, value, max entries, flags). */
export function readLegacyMaps(elf: ElfFile, section: ElfSection): MapDefinition[] {
  const symbols = symbolsIn(elf, section)
    .filter((s) => s.type === STT_OBJECT || s.type === 0)
    .filter((s) => s.name !== "")
    .sort((a, b) => a.value - b.value);
  if (symbols.length === 0) return [];
  const defSize = section.size / symbols.length;
  if (!Number.isInteger(defSize) || defSize < 20) {
    throw new ObjectError(`section maps: ${section.size} bytes for ${symbols.length} maps is not a whole number of definitions of at least 20 bytes`);
  }
  const data = elf.sectionData(section);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return symbols.map((symbol) => {
    const at = symbol.value;
    if (at + 20 > data.length) throw new ObjectError(`map '${symbol.name}': definition at 0x${at.toString(16)} extends past the maps section`);
    return defineMap({
      name: symbol.name,
      type: view.getUint32(at, true),
      keySize: view.getUint32(at + 4, true),
      valueSize: view.getUint32(at + 8, true),
      maxEntries: view.getUint32(at + 12, true),
      flags: view.getUint32(at + 16, true),
      origin: "legacy",
      section: section.name,
    });
  });
}
