// Map definitions from the `.maps` section, read from BTF the way libbpf reads them: each map is a
// variable whose struct type encodes attributes in member types. `__uint(name, N)` is a pointer to an
// array of N elements, `__type(name, T)` is a pointer to T, `__array(values, T)` is an empty array of
// pointers to T (the inner map of a map-in-map, or the program type of a prog array's slots).

import type { Btf } from "../btf/btf.js";
import { resolveType, resolveTypeId, skipModifiers, typeSize } from "../btf/resolve.js";
import type { BtfComposite, BtfDatasec } from "../btf/types.js";
import { ObjectError } from "./errors.js";
import { defineMap, type MapDefinition } from "./spec.js";

export const BPF_MAP_TYPE_PROG_ARRAY = 3;
export const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
export const BPF_MAP_TYPE_HASH_OF_MAPS = 13;

/** A map variable in `.maps`: its definition and where its `values` slots start in the section. */
export interface BtfMapVariable {
  readonly definition: MapDefinition;
  readonly sectionOffset: number;
  readonly size: number;
  /** Byte offset of the `values` member inside the variable, when it has one. */
  readonly valuesOffset: number | undefined;
}

interface Attributes {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  extra: bigint;
  pinning: number;
  numaNode: number;
  keyTypeId: number;
  valueTypeId: number;
  innerMap: MapDefinition | undefined;
  valuesOffset: number | undefined;
}

/** N from `int (*name)[N]`. */
function uintAttribute(btf: Btf, mapName: string, member: string, typeId: number): number {
  const pointer = resolveType(btf, typeId);
  if (pointer.kind !== "ptr") throw new ObjectError(`map '${mapName}': attribute '${member}' is not a pointer (__uint expected)`, "OBJ_BAD_MAP");
  const array = resolveType(btf, pointer.type);
  if (array.kind !== "array") throw new ObjectError(`map '${mapName}': attribute '${member}' does not point to an array (__uint expected)`, "OBJ_BAD_MAP");
  return array.nelems;
}

/** T from `T *name`. */
function typeAttribute(btf: Btf, mapName: string, member: string, typeId: number): number {
  const pointer = resolveType(btf, typeId);
  if (pointer.kind !== "ptr") throw new ObjectError(`map '${mapName}': attribute '${member}' is not a pointer (__type expected)`, "OBJ_BAD_MAP");
  return pointer.type;
}

function readAttributes(btf: Btf, mapName: string, def: BtfComposite, section: string, isInner: boolean): Attributes {
  const a: Attributes = {
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    extra: 0n,
    pinning: 0,
    numaNode: 0,
    keyTypeId: 0,
    valueTypeId: 0,
    innerMap: undefined,
    valuesOffset: undefined,
  };
  for (const member of def.members) {
    const uint = (): number => uintAttribute(btf, mapName, member.name, member.type);
    switch (member.name) {
      case "type":
        a.type = uint();
        break;
      case "max_entries":
        a.maxEntries = uint();
        break;
      case "map_flags":
        a.flags = uint();
        break;
      case "numa_node":
        a.numaNode = uint();
        break;
      case "pinning":
        a.pinning = uint();
        if (a.pinning > 1) throw new ObjectError(`map '${mapName}': pinning ${a.pinning} is not supported (0 none, 1 by name)`, "OBJ_BAD_MAP");
        break;
      case "map_extra":
        a.extra = BigInt(uint());
        break;
      case "key_size":
        a.keySize = uint();
        break;
      case "value_size":
        a.valueSize = uint();
        break;
      case "key": {
        a.keyTypeId = typeAttribute(btf, mapName, member.name, member.type);
        a.keySize = typeSize(btf, a.keyTypeId);
        break;
      }
      case "value": {
        a.valueTypeId = typeAttribute(btf, mapName, member.name, member.type);
        a.valueSize = typeSize(btf, a.valueTypeId);
        break;
      }
      case "values": {
        if (isInner) throw new ObjectError(`map '${mapName}': an inner map cannot have 'values'`, "OBJ_BAD_MAP");
        a.valuesOffset = member.bitOffset / 8;
        const array = resolveType(btf, member.type);
        if (array.kind !== "array" || array.nelems !== 0) throw new ObjectError(`map '${mapName}': 'values' must be a flexible array of pointers`, "OBJ_BAD_MAP");
        const pointer = resolveType(btf, array.type);
        if (pointer.kind !== "ptr") throw new ObjectError(`map '${mapName}': 'values' elements must be pointers`, "OBJ_BAD_MAP");
        const target = resolveType(btf, pointer.type);
        if (target.kind === "struct") {
          // A map-in-map: the pointee describes the inner map.
          a.innerMap = definitionFrom(btf, `${mapName}.inner`, target, section, true).definition;
        } else if (target.kind !== "func_proto") {
          throw new ObjectError(`map '${mapName}': 'values' must point to a map definition or a program type`, "OBJ_BAD_MAP");
        }
        break;
      }
      default:
        throw new ObjectError(`map '${mapName}': unknown attribute '${member.name}'`, "OBJ_BAD_MAP");
    }
  }
  return a;
}

function definitionFrom(btf: Btf, name: string, def: BtfComposite, section: string, isInner: boolean): { definition: MapDefinition; valuesOffset: number | undefined } {
  const a = readAttributes(btf, name, def, section, isInner);
  if (a.innerMap && a.type !== BPF_MAP_TYPE_ARRAY_OF_MAPS && a.type !== BPF_MAP_TYPE_HASH_OF_MAPS) {
    throw new ObjectError(`map '${name}': an inner map definition needs type array_of_maps or hash_of_maps`, "OBJ_BAD_MAP");
  }
  if (a.innerMap) a.valueSize = 4; // map-in-map values are map ids
  if (a.type === BPF_MAP_TYPE_PROG_ARRAY && a.valuesOffset !== undefined) {
    a.keySize ||= 4;
    a.valueSize ||= 4;
  }
  return {
    definition: defineMap(
      { name, type: a.type, keySize: a.keySize, valueSize: a.valueSize, maxEntries: a.maxEntries, flags: a.flags, origin: "btf", section },
      { extra: a.extra, pinning: a.pinning, numaNode: a.numaNode, keyTypeId: a.keyTypeId, valueTypeId: a.valueTypeId, innerMap: a.innerMap },
    ),
    valuesOffset: a.valuesOffset,
  };
}

/** Every map variable of the `.maps` datasec, in section order. */
export function readBtfMaps(btf: Btf, sectionName: string, symbolOffset: (name: string) => number | undefined): BtfMapVariable[] {
  const datasec = btf.find(sectionName, "datasec") as BtfDatasec | undefined;
  if (!datasec) throw new ObjectError(`section ${sectionName}: the object's BTF has no DATASEC for it (maps need BTF)`, "OBJ_NO_BTF");
  return [...datasec.vars]
    .map((info) => {
      const variable = btf.type(info.type);
      if (variable.kind !== "var") throw new ObjectError(`section ${sectionName}: entry at offset ${info.offset} is not a variable`);
      const def = btf.type(resolveTypeId(btf, skipModifiers(btf, variable.type)));
      if (def.kind !== "struct") throw new ObjectError(`map '${variable.name}': its definition is not a struct`, "OBJ_BAD_MAP");
      const { definition, valuesOffset } = definitionFrom(btf, variable.name, def, sectionName, false);
      // clang leaves DATASEC offsets at zero; the ELF symbol has the real one.
      const sectionOffset = symbolOffset(variable.name) ?? info.offset;
      return { definition, sectionOffset, size: info.size || typeSize(btf, def.id), valuesOffset };
    });
}
