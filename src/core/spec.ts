// An access spec: what a relocation's access string denotes in one BTF. Parsed from the string against the
// local (object) BTF, then re-derived by name in each target candidate.
//
// "0:1:2:3" means: element 0 of the root type (the pointer dereference), its member 1, that member's member 2,
// element 3 of that array. The raw indices follow every level, anonymous structs/unions included; the
// accessors keep only the levels that carry meaning across BTFs (named members and array elements), since
// those are what must be found again, by name, in the target.

import type { Btf } from "../btf/btf.js";
import type { CoreRelo, CoreReloKind } from "../btf/ext.js";
import { resolveTypeId, typeSize } from "../btf/resolve.js";
import type { BtfArray, BtfComposite } from "../btf/types.js";
import { fieldsAreCompatible, typesAreCompatible } from "./compat.js";
import { CoreError } from "./errors.js";
import { reloFamily } from "./kinds.js";
import { typesMatch } from "./match.js";
import { essentialNamesEqual } from "./names.js";
import { isAnyEnum } from "./target.js";

/** libbpf's BPF_CORE_SPEC_MAX_LEN: the most levels an access may have. */
export const MAX_SPEC_LENGTH = 64;

export interface Accessor {
  /**
   * For a member: the struct/union (modifiers and typedefs skipped) that directly holds it, which may be an
   * anonymous one. For the root or an array element: the element type (skipped likewise).
   */
  readonly typeId: number;
  /** Member, element or enumerator index. */
  readonly idx: number;
  /** Member or enumerator name; undefined for the root and array elements. */
  readonly name: string | undefined;
}

export interface CoreSpec {
  readonly btf: Btf;
  readonly kind: CoreReloKind;
  /** The type the access starts from, as given (not skipped): the relocation's type or a candidate. */
  readonly rootTypeId: number;
  readonly accessors: Accessor[];
  /** Every level's index, anonymous members included (the access string in this BTF). */
  readonly raw: number[];
  /** Offset of the accessed field from the start of the root, in bits. */
  bitOffset: number;
}

function badAccess(relo: CoreRelo, why: string): CoreError {
  return new CoreError("CORE_BAD_ACCESS", `access string "${relo.accessString}" of [${relo.typeId}]: ${why}`);
}

function parseIndices(relo: CoreRelo): number[] {
  if (!/^\d+(:\d+)*$/.test(relo.accessString)) throw badAccess(relo, "expected colon-separated indices");
  const raw = relo.accessString.split(":").map(Number);
  if (raw.length > MAX_SPEC_LENGTH) throw badAccess(relo, `more than ${MAX_SPEC_LENGTH} levels`);
  if (raw.some((n) => n > 0x7fffffff)) throw badAccess(relo, "index out of range");
  return raw;
}

function isComposite(type: { kind: string }): type is BtfComposite {
  return type.kind === "struct" || type.kind === "union";
}

/**
 * A zero-length array that is the last member of the struct holding it (a C flexible array member), which
 * may be indexed past its declared length. `holder` is the accessor of the array's member.
 */
function isFlexibleArray(btf: Btf, holder: Accessor | undefined, array: BtfArray): boolean {
  if (holder?.name === undefined || array.nelems > 0) return false;
  const composite = btf.type(holder.typeId);
  return isComposite(composite) && holder.idx === composite.members.length - 1;
}

/** Parses the relocation's access string against the local BTF (bpf_core_parse_spec). */
export function parseLocalSpec(btf: Btf, relo: CoreRelo): CoreSpec {
  const raw = parseIndices(relo);
  const spec: CoreSpec = { btf, kind: relo.kind, rootTypeId: relo.typeId, accessors: [], raw, bitOffset: 0 };
  const family = reloFamily(relo.kind);
  if (family === "type") {
    if (relo.accessString !== "0") throw badAccess(relo, 'a type relocation\'s access string must be "0"');
    return spec;
  }
  let id = resolveTypeId(btf, relo.typeId);
  const first = raw[0]!;
  if (family === "enumval") {
    const type = btf.type(id);
    if (!isAnyEnum(type)) throw badAccess(relo, `the type is ${type.kind}, not an enum`);
    const value = type.values[first];
    if (raw.length > 1 || value === undefined) throw badAccess(relo, `no enumerator #${first} in ${type.values.length}`);
    spec.accessors.push({ typeId: id, idx: first, name: value.name });
    return spec;
  }
  spec.accessors.push({ typeId: id, idx: first, name: undefined });
  spec.bitOffset = first * typeSize(btf, id) * 8;
  for (const idx of raw.slice(1)) {
    id = resolveTypeId(btf, id);
    const type = btf.type(id);
    if (isComposite(type)) {
      const member = type.members[idx];
      if (member === undefined) throw badAccess(relo, `no member #${idx} in ${type.kind} [${id}]`);
      spec.bitOffset += member.bitOffset;
      if (member.name !== "") spec.accessors.push({ typeId: id, idx, name: member.name });
      id = member.type;
    } else if (type.kind === "array") {
      const element = resolveTypeId(btf, type.type);
      const flexible = isFlexibleArray(btf, spec.accessors[spec.accessors.length - 1], type);
      if (!flexible && idx >= type.nelems) throw badAccess(relo, `index ${idx} is past the end of array [${id}] of ${type.nelems}`);
      spec.accessors.push({ typeId: element, idx, name: undefined });
      spec.bitOffset += idx * typeSize(btf, element) * 8;
      id = element;
    } else {
      throw badAccess(relo, `index ${idx} applies to [${id}], a ${type.kind}, which has no members or elements`);
    }
  }
  return spec;
}

/**
 * Re-derives the local spec in a target candidate (bpf_core_spec_match): members of the same names (exact
 * names, found through anonymous structs/unions) with compatible types, array indices within bounds, or
 * the enumerator of the same essential name. Returns undefined when the candidate does not match.
 */
export function matchSpec(local: CoreSpec, targetBtf: Btf, targetId: number): CoreSpec | undefined {
  const target: CoreSpec = { btf: targetBtf, kind: local.kind, rootTypeId: targetId, accessors: [], raw: [], bitOffset: 0 };
  switch (reloFamily(local.kind)) {
    case "type": {
      const matches = local.kind === "type_matches" ? typesMatch : typesAreCompatible;
      return matches(local.btf, local.rootTypeId, targetBtf, targetId) ? target : undefined;
    }
    case "enumval":
      return matchEnumerator(local, target) ? target : undefined;
    case "field":
      return matchFields(local, target) ? target : undefined;
  }
}

function matchEnumerator(local: CoreSpec, target: CoreSpec): boolean {
  const wanted = local.accessors[0]!.name!;
  const id = resolveTypeId(target.btf, target.rootTypeId);
  const type = target.btf.type(id);
  if (!isAnyEnum(type)) return false;
  const idx = type.values.findIndex((value) => essentialNamesEqual(wanted, value.name));
  if (idx < 0) return false;
  target.accessors.push({ typeId: id, idx, name: type.values[idx]!.name });
  target.raw.push(idx);
  return true;
}

function matchFields(local: CoreSpec, target: CoreSpec): boolean {
  const { btf } = target;
  let id = target.rootTypeId;
  for (const [i, accessor] of local.accessors.entries()) {
    id = resolveTypeId(btf, id);
    if (accessor.name !== undefined) {
      const next = matchMember(local, accessor, target, id);
      if (next === undefined) return false;
      id = next;
      continue;
    }
    // The root accessor indexes the root type itself; later unnamed accessors index an array.
    if (i > 0) {
      const type = btf.type(id);
      if (type.kind !== "array") return false;
      const flexible = isFlexibleArray(btf, target.accessors[target.accessors.length - 1], type);
      if (!flexible && accessor.idx >= type.nelems) return false;
      id = resolveTypeId(btf, type.type);
    }
    pushLevel(target);
    target.accessors.push({ typeId: id, idx: accessor.idx, name: undefined });
    target.raw.push(accessor.idx);
    target.bitOffset += accessor.idx * typeSize(btf, id) * 8;
  }
  return true;
}

function undoLevel(spec: CoreSpec, bitOffset: number): void {
  spec.bitOffset -= bitOffset;
  spec.raw.pop();
}

function pushLevel(spec: CoreSpec): void {
  if (spec.raw.length >= MAX_SPEC_LENGTH) {
    throw new CoreError("CORE_BAD_ACCESS", `the target access to [${spec.rootTypeId}] nests deeper than ${MAX_SPEC_LENGTH} levels`);
  }
}

/**
 * Finds the member named like the local accessor's in target composite `compositeId`, looking into anonymous
 * members, and extends the target spec with the path to it. Returns the member's type id, or undefined when
 * there is no such member or its type is not compatible.
 */
function matchMember(local: CoreSpec, accessor: Accessor, target: CoreSpec, compositeId: number): number | undefined {
  const id = resolveTypeId(target.btf, compositeId);
  const composite = target.btf.type(id);
  if (!isComposite(composite)) return undefined;
  for (const [i, member] of composite.members.entries()) {
    pushLevel(target);
    target.bitOffset += member.bitOffset;
    target.raw.push(i);
    if (member.name === "") {
      const found = matchMember(local, accessor, target, member.type);
      if (found !== undefined) return found;
    } else if (member.name === accessor.name) {
      const localMember = (local.btf.type(accessor.typeId) as BtfComposite).members[accessor.idx]!;
      if (fieldsAreCompatible(local.btf, localMember.type, target.btf, member.type)) {
        target.accessors.push({ typeId: id, idx: i, name: member.name });
        return member.type;
      }
      // C member names are unique within a struct (anonymous members included): nothing else can match here.
      undoLevel(target, member.bitOffset);
      return undefined;
    }
    undoLevel(target, member.bitOffset);
  }
  return undefined;
}
