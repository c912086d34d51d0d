// ObjectSpec: what a clang/libbpf-built BPF object says, independent of the machine it will run on.
// The same bytes always give the same spec; kernel BTF, addresses and map memory come later, when a
// backend turns the spec into live maps and programs.
//
// Inside ProgramSpec.insns, references that need a live object are left in the kernel's own "fd_array"
// encodings, so they are self-describing without side tables:
//   lddw src=5 (BPF_PSEUDO_MAP_IDX)       imm = index into ObjectSpec.maps            -> the map itself
//   lddw src=6 (BPF_PSEUDO_MAP_IDX_VALUE) imm = map index, second slot imm = offset  -> a pointer into its value
//   lddw src=4 (BPF_PSEUDO_FUNC)          imm = target slot - (this slot + 1)         -> a function's address

import type { Btf } from "../btf/btf.js";
import type { BtfExt, CoreRelo } from "../btf/ext.js";
import type { Insn } from "../isa/instruction.js";
import type { SectionInfo } from "./section-names.js";

export type MapOrigin = "btf" | "legacy" | "data" | "kconfig";

export interface MapDefinition {
  /** The map's name in the object (the variable name, or the section name for global data). */
  readonly name: string;
  /** The name the kernel would show (libbpf truncates global-data map names to 15 characters). */
  readonly kernelName: string;
  /** Kernel map type id (BPF_MAP_TYPE_*). */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly extra: bigint;
  /** 0 none, 1 LIBBPF_PIN_BY_NAME. */
  readonly pinning: number;
  readonly numaNode: number;
  /** BTF type ids of key and value in the object's BTF (0 when unknown). */
  readonly keyTypeId: number;
  readonly valueTypeId: number;
  /** Inner map template of a map-in-map. */
  readonly innerMap: MapDefinition | undefined;
  /** Initial slots of a prog array (program names) or map-in-map (map names), by index. */
  readonly initialSlots: ReadonlyMap<number, string>;
  readonly origin: MapOrigin;
  /** The ELF section the definition came from. */
  readonly section: string;
  /** Initial value bytes of a global-data map (the section contents; zeroes for .bss). */
  readonly initialData: Uint8Array | undefined;
}

/** A global variable users can read or set before load (libbpf's skeleton fields, cilium's VariableSpec). */
export interface VariableSpec {
  readonly name: string;
  /** Index into ObjectSpec.maps of the global-data map holding it. */
  readonly mapIndex: number;
  readonly offset: number;
  readonly size: number;
  /** BTF type id of the variable's type, 0 when the object has no BTF for it. */
  readonly typeId: number;
  readonly readOnly: boolean;
}

/** A `.kconfig` extern: a value the loader supplies from the running system. */
export interface KconfigExtern {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly typeId: number;
  readonly weak: boolean;
}

export interface CoreRelocation {
  /** Slot in ProgramSpec.insns. */
  readonly index: number;
  readonly relo: CoreRelo;
}

export interface FunctionRange {
  readonly name: string;
  /** First slot of the function in ProgramSpec.insns. */
  readonly start: number;
  readonly length: number;
}

export interface ProgramSpec {
  /** The entry function's name. */
  readonly name: string;
  readonly section: string;
  readonly info: SectionInfo;
  /** Why the section name's attach target is malformed; the program loads but cannot auto-attach. */
  readonly attachError: string | undefined;
  /** The entry function followed by every subprogram it reaches, calls relinked to the new layout. */
  readonly insns: Insn[];
  /** Where each function sits in insns (the entry first). */
  readonly functions: readonly FunctionRange[];
  readonly coreRelocations: readonly CoreRelocation[];
  /** Slots that reference an unsupported kernel symbol (.ksyms), by slot. */
  readonly kernelSymbols: ReadonlyMap<number, string>;
}

export interface ObjectSpec {
  /** A short object name (the file name without .bpf.o/.o), used for global-data map names. */
  readonly name: string;
  readonly license: string;
  /** The legacy `version` section, if any. */
  readonly kernelVersion: number | undefined;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapDefinition[];
  readonly variables: readonly VariableSpec[];
  readonly kconfig: readonly KconfigExtern[];
  readonly btf: Btf | undefined;
  readonly btfExt: BtfExt | undefined;
}

/** The fields of a definition that every origin must give; the rest default to "none". */
export type MapDefinitionCore = Pick<MapDefinition, "name" | "type" | "keySize" | "valueSize" | "maxEntries" | "flags" | "origin" | "section">;

/** A definition from its required fields, with the kernel's defaults for the others. */
export function defineMap(core: MapDefinitionCore, extra: Partial<MapDefinition> = {}): MapDefinition {
  return {
    kernelName: core.name.slice(0, 15),
    extra: 0n,
    pinning: 0,
    numaNode: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    innerMap: undefined,
    initialSlots: new Map(),
    initialData: undefined,
    ...core,
    ...extra,
  };
}
