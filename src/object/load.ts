// Reading a BPF ELF object into an ObjectSpec, following libbpf's conventions.

import { basename } from "node:path";
import type { Btf } from "../btf/btf.js";
import { BtfError } from "../btf/errors.js";
import { parseBtfExt, type BtfExt } from "../btf/ext.js";
import { fixupDatasecs, type DatasecLayout } from "../btf/datasec.js";
import { parseBtf } from "../btf/parse.js";
import { EM_BPF, ET_REL } from "../elf/constants.js";
import { ElfError } from "../elf/errors.js";
import { ElfFile } from "../elf/file.js";
import { readBtfMaps, type BtfMapVariable } from "./btf-maps.js";
import { readCodeSections, symbolsIn, type CodeSection, type Reference } from "./code.js";
import { readDataMaps, readKconfig, readLegacyMaps, readVariables, type DataMap } from "./data-maps.js";
import { ObjectError } from "./errors.js";
import { linkProgram, type ReferenceResolver } from "./link.js";
import { parseSectionName, SectionNameError, type SectionInfo } from "./section-names.js";
import { LAST_MAP_TYPE } from "./type-names.js";
import type { MapDefinition, ObjectSpec, ProgramSpec } from "./spec.js";

export interface LoadObjectOptions {
  /** Object name for global-data map names; defaults to the file name up to its first '.'. */
  name?: string;
}

/** The object name libbpf derives from a path: the base name up to its first '.'. */
export function objectNameFromPath(path: string): string {
  const base = basename(path);
  const dot = base.indexOf(".");
  return dot < 0 ? base : base.slice(0, dot);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** DATASEC sizes and variable offsets from the ELF, as libbpf fills them in (clang leaves zeroes). */
function datasecLayout(elf: ElfFile): DatasecLayout {
  return {
    // Extern sections (.kconfig, .ksyms) have no ELF section: the loader lays them out itself.
    sectionSize: (name) => elf.section(name)?.size ?? (name === ".kconfig" || name === ".ksyms" ? 0 : undefined),
    variableOffset: (section, variable) => {
      const found = elf.section(section);
      return found ? symbolsIn(elf, found).find((s) => s.name === variable)?.value : undefined;
    },
  };
}

function readBtf(elf: ElfFile): { btf: Btf | undefined; btfExt: BtfExt | undefined } {
  const btfSection = elf.section(".BTF");
  if (!btfSection) return { btf: undefined, btfExt: undefined };
  const btf = fixupDatasecs(parseBtf(elf.sectionData(btfSection)), datasecLayout(elf));
  const extSection = elf.section(".BTF.ext");
  return { btf, btfExt: extSection ? parseBtfExt(elf.sectionData(extSection), btf) : undefined };
}

/** Fills prog-array and map-in-map slots from the relocations against `.maps`. */
function readInitialSlots(elf: ElfFile, variables: readonly BtfMapVariable[]): void {
  const maps = elf.section(".maps");
  if (!maps) return;
  for (const rel of elf.relocationsFor(maps)) {
    for (const entry of rel.entries) {
      const owner = variables.find((v) => entry.offset >= v.sectionOffset && entry.offset < v.sectionOffset + v.size);
      const symbol = elf.symbolsOf(rel.symbolTableIndex)[entry.symbolIndex];
      if (!owner || owner.valuesOffset === undefined || !symbol) {
        throw new ObjectError(`.maps: relocation at 0x${entry.offset.toString(16)} is not inside a map's 'values'`);
      }
      const slot = (entry.offset - owner.sectionOffset - owner.valuesOffset) / 8;
      if (!Number.isInteger(slot) || slot < 0) throw new ObjectError(`map '${owner.definition.name}': misaligned 'values' relocation`);
      if (slot >= owner.definition.maxEntries) throw new ObjectError(`map '${owner.definition.name}': initial value at slot ${slot} is beyond max_entries ${owner.definition.maxEntries}`);
      (owner.definition.initialSlots as Map<number, string>).set(slot, symbol.name);
    }
  }
}

function sectionInfoOf(section: string): { info: SectionInfo; attachError: string | undefined } {
  try {
    return { info: parseSectionName(section), attachError: undefined };
  } catch (error) {
    if (!(error instanceof SectionNameError)) throw error;
    // The program still loads (libbpf only fails when auto-attaching); the error is kept for attach time.
    const info = parseSectionName(section.split("/")[0] ?? section);
    return { info: { ...info, section, attach: undefined }, attachError: error.message };
  }
}

function loadSpec(bytes: Uint8Array, objectName: string): ObjectSpec {
  const elf = ElfFile.parse(bytes);
  if (elf.header.machine !== EM_BPF) throw new ObjectError(`not a BPF object: ELF machine is ${elf.header.machine}, expected ${EM_BPF} (BPF)`, "OBJ_NOT_BPF");
  if (elf.header.type !== ET_REL) throw new ObjectError(`not a relocatable BPF object: ELF type is ${elf.header.type}, expected ${ET_REL}`, "OBJ_NOT_BPF");
  const { btf, btfExt } = readBtf(elf);
  const licenseSection = elf.section("license");
  const license = licenseSection ? cString(elf.sectionData(licenseSection)) : "";
  const versionSection = elf.section("version");
  const kernelVersion = versionSection && versionSection.size >= 4 ? new DataView(elf.sectionData(versionSection).buffer, elf.sectionData(versionSection).byteOffset).getUint32(0, true) : undefined;

  const maps: MapDefinition[] = [];
  const mapsSection = elf.section(".maps");
  let btfMaps: BtfMapVariable[] = [];
  if (mapsSection) {
    if (!btf) throw new ObjectError("section .maps: the object has no .BTF section, which BTF-defined maps need", "OBJ_NO_BTF");
    const symbols = new Map(symbolsIn(elf, mapsSection).map((s) => [s.name, s.value]));
    btfMaps = readBtfMaps(btf, ".maps", (name) => symbols.get(name)).sort((a, b) => a.sectionOffset - b.sectionOffset);
    readInitialSlots(elf, btfMaps);
    maps.push(...btfMaps.map((m) => m.definition));
  }
  const legacySection = elf.section("maps");
  if (legacySection) maps.push(...readLegacyMaps(elf, legacySection));
  const dataMaps: DataMap[] = readDataMaps(elf, btf, objectName);
  const firstDataMap = maps.length;
  maps.push(...dataMaps.map((d) => d.definition));
  const variables = readVariables(elf, btf, dataMaps, firstDataMap);
  const kconfig = readKconfig(elf, btf, objectName);
  const kconfigIndex = kconfig.map ? maps.push(kconfig.map) - 1 : -1;
  const names = new Set<string>();
  for (const m of maps) {
    if (names.has(m.name)) throw new ObjectError(`map '${m.name}' is defined twice`, "OBJ_BAD_MAP");
    if (m.type <= 0 || m.type > LAST_MAP_TYPE) throw new ObjectError(`map '${m.name}' has unknown map type ${m.type}`, "OBJ_UNKNOWN_MAP_TYPE");
    names.add(m.name);
  }

  const resolver: ReferenceResolver = {
    map(reference: Extract<Reference, { kind: "map" }>): number {
      const index = maps.findIndex((m) => m.name === reference.symbol.name && m.section === reference.section.name);
      if (index < 0) throw new ObjectError(`reference to '${reference.symbol.name}' in ${reference.section.name}, which defines no such map`);
      return index;
    },
    data(reference: Extract<Reference, { kind: "data" }>) {
      const local = dataMaps.findIndex((d) => d.section.index === reference.section.index);
      if (local < 0) throw new ObjectError(`reference into section ${reference.section.name}, which is not a global-data section`);
      return { mapIndex: firstDataMap + local, offset: reference.offset };
    },
    extern(reference: Extract<Reference, { kind: "extern" }>) {
      const found = kconfig.externs.find((e) => e.name === reference.symbol.name);
      return found ? { mapIndex: kconfigIndex, offset: found.offset } : undefined;
    },
  };

  const sections: CodeSection[] = readCodeSections(elf);
  const programs: ProgramSpec[] = [];
  for (const section of sections) {
    if (section.name === ".text") continue; // subprograms only
    const { info, attachError } = sectionInfoOf(section.name);
    if (info.pattern === undefined) {
      throw new ObjectError(`section '${section.name}' holds programs (${section.functions.map((f) => f.name).join(", ")}) but is not a program section libbpf knows`, "OBJ_UNKNOWN_SECTION");
    }
    for (const fn of section.functions) {
      const linked = linkProgram(fn, sections, resolver, btfExt);
      programs.push({
        name: fn.name,
        section: section.name,
        info,
        attachError,
        insns: linked.insns,
        functions: linked.functions,
        coreRelocations: linked.coreRelocations,
        kernelSymbols: linked.kernelSymbols,
      });
    }
  }
  return { name: objectName, license, kernelVersion, programs, maps, variables, kconfig: kconfig.externs, btf, btfExt };
}

/**
 * Reads a BPF object. Every malformed input gives an ObjectError whose one-line message says what is
 * wrong and where; ELF and BTF errors are wrapped so callers need to catch one type.
 */
export function loadObjectSpec(bytes: Uint8Array, options: LoadObjectOptions = {}): ObjectSpec {
  const objectName = options.name ?? "obj";
  try {
    return loadSpec(bytes, objectName);
  } catch (error) {
    if (error instanceof ObjectError) throw error;
    if (error instanceof ElfError) throw new ObjectError(`malformed ELF: ${error.message}`, error.code);
    if (error instanceof BtfError) throw new ObjectError(`malformed BTF: ${error.message}`, error.code);
    if (error instanceof RangeError || error instanceof TypeError) throw new ObjectError(`malformed object: ${error.message}`);
    throw error;
  }
}
