// What a relocation evaluates to in one BTF, given the spec found there (bpf_core_calc_*_relo). Computed once
// for the local spec (the value the compiler put in the instruction) and once for the target.

import type { Btf } from "../btf/btf.js";
import type { CoreReloKind } from "../btf/ext.js";
import { resolveTypeId, typeSize } from "../btf/resolve.js";
import type { BtfComposite } from "../btf/types.js";
import { MAX_TYPE_DEPTH } from "./compat.js";
import { CoreError } from "./errors.js";
import { reloFamily } from "./kinds.js";
import type { CoreSpec } from "./spec.js";
import { isAnyEnum } from "./target.js";

export interface SpecValue {
  value: bigint;
  /**
   * Whether the instruction must already hold the local value (libbpf's "validate"): false where the compiler
   * and libbpf may legitimately disagree (bitfield offsets, type ids renumbered by linking).
   */
  validate: boolean;
  /** For field offsets of non-bitfields: bytes a load/store of the field moves (0 when not applicable). */
  memSize: number;
  /** The field type behind memSize, to judge whether a size change is safe. */
  memTypeId: number;
}

/** The value cannot be computed without a target match: the instruction gets poisoned. */
export const NEEDS_TARGET = "needs-target";

const plain = (value: bigint | number | boolean, validate = true): SpecValue => ({
  value: BigInt(value),
  validate,
  memSize: 0,
  memTypeId: 0,
});

export function specValue(kind: CoreReloKind, spec: CoreSpec | undefined): SpecValue | typeof NEEDS_TARGET {
  switch (reloFamily(kind)) {
    case "field":
      return fieldValue(kind, spec);
    case "type":
      return typeValue(kind, spec);
    case "enumval":
      return enumValue(kind, spec);
  }
}

/** Size of the type once arrays are peeled off: a load or store moves one element, not the whole array. */
function elementSize(btf: Btf, id: number): number {
  let current = resolveTypeId(btf, id);
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    const type = btf.type(current);
    if (type.kind !== "array") return typeSize(btf, current);
    current = resolveTypeId(btf, type.type);
  }
  throw new CoreError("CORE_BAD_BTF", `array [${id}] nests deeper than ${MAX_TYPE_DEPTH} (a loop?)`);
}

function fieldValue(kind: CoreReloKind, spec: CoreSpec | undefined): SpecValue | typeof NEEDS_TARGET {
  if (kind === "field_exists") return plain(spec !== undefined);
  if (spec === undefined) return NEEDS_TARGET;
  const { btf } = spec;
  const last = spec.accessors[spec.accessors.length - 1]!;

  if (last.name === undefined) {
    // The access ends on an array element (or the root itself): only its place and size make sense.
    if (kind === "field_byte_offset") {
      return { value: BigInt(Math.floor(spec.bitOffset / 8)), validate: true, memSize: elementSize(btf, last.typeId), memTypeId: last.typeId };
    }
    if (kind === "field_byte_size") return plain(typeSize(btf, last.typeId));
    throw new CoreError("CORE_UNSUPPORTED", `${kind} cannot be applied to an array element access`);
  }

  const member = (btf.type(last.typeId) as BtfComposite).members[last.idx]!;
  const fieldTypeId = resolveTypeId(btf, member.type);
  const fieldType = btf.type(fieldTypeId);
  const bitOffset = spec.bitOffset;
  let bitSize = member.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOffset: number;
  if (bitfield) {
    // The smallest naturally aligned load, starting from the field's declared storage size, that covers it.
    byteSize = "size" in fieldType ? fieldType.size : typeSize(btf, fieldTypeId);
    if (byteSize <= 0) throw new CoreError("CORE_BAD_BTF", `bitfield at bit ${bitOffset} has a ${byteSize}-byte storage type [${fieldTypeId}]`);
    byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    while (bitOffset + bitSize - byteOffset * 8 > byteSize * 8) {
      if (byteSize >= 8) {
        throw new CoreError("CORE_BITFIELD_TOO_WIDE", `the bitfield at bit ${bitOffset} (${bitSize} bits) cannot be read with one 64-bit load`);
      }
      byteSize *= 2;
      byteOffset = Math.floor(bitOffset / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = typeSize(btf, fieldTypeId);
    byteOffset = Math.floor(bitOffset / 8);
    bitSize = byteSize * 8;
  }

  switch (kind) {
    case "field_byte_offset":
      return bitfield
        ? plain(byteOffset, false)
        : { value: BigInt(byteOffset), validate: true, memSize: elementSize(btf, fieldTypeId), memTypeId: fieldTypeId };
    case "field_byte_size":
      return plain(byteSize, !bitfield);
    case "field_signed":
      return plain((isAnyEnum(fieldType) && fieldType.signed) || (fieldType.kind === "int" && fieldType.signed));
    case "field_lshift_u64":
      // Little-endian: shift the field's top bit up to bit 63 of the loaded 64-bit value.
      return plain(64 - (bitOffset + bitSize - byteOffset * 8), !bitfield);
    case "field_rshift_u64":
      return plain(64 - bitSize);
    default:
      throw new CoreError("CORE_UNSUPPORTED", `${kind} is not a field relocation`);
  }
}

function typeValue(kind: CoreReloKind, spec: CoreSpec | undefined): SpecValue {
  // A type that is not found makes every type relocation 0, never a poisoned instruction.
  if (spec === undefined) return plain(0);
  switch (kind) {
    case "type_id_local":
    case "type_id_target":
      // Linking renumbers types, so the id the compiler wrote is not checked.
      return plain(spec.rootTypeId, false);
    case "type_exists":
    case "type_matches":
      return plain(1);
    case "type_size":
      return plain(typeSize(spec.btf, spec.rootTypeId));
    default:
      throw new CoreError("CORE_UNSUPPORTED", `${kind} is not a type relocation`);
  }
}

function enumValue(kind: CoreReloKind, spec: CoreSpec | undefined): SpecValue | typeof NEEDS_TARGET {
  if (kind === "enumval_exists") return plain(spec !== undefined);
  if (spec === undefined) return NEEDS_TARGET;
  const accessor = spec.accessors[0]!;
  const type = spec.btf.type(accessor.typeId);
  if (!isAnyEnum(type)) throw new CoreError("CORE_BAD_BTF", `[${accessor.typeId}] is not an enum`);
  const value = type.values[accessor.idx]!.value;
  // A 32-bit enumerator is stored as s32 and widened with its sign whatever the enum's signedness, as libbpf
  // (and so every kernel-loaded program) sees it.
  return plain(type.kind === "enum" ? BigInt.asUintN(64, BigInt.asIntN(32, value)) : BigInt.asUintN(64, value));
}
