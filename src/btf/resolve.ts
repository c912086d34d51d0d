// Questions asked of a type graph: what a type is once qualifiers and typedefs are peeled off, how many bytes
// it occupies, where a member's bits are.

import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import { isModifier, type BtfComposite, type BtfMember, type BtfType } from "./types.js";

/** libbpf's MAX_RESOLVE_DEPTH: longer chains only occur in corrupt (looping) BTF. */
const MAX_CHAIN = 32;

/** Deepest struct-in-struct nesting followed; real kernel types stay far below, corrupt BTF can loop. */
export const MAX_NESTING = 256;

export function nestingError(id: number): BtfError {
  return new BtfError("BTF_BAD_TYPE_ID", `type [${id}]: types nest deeper than ${MAX_NESTING} levels (a type containing itself?)`);
}

/** Pointer size of the BPF target (and of x86-64). */
export const BTF_POINTER_SIZE = 8;

function follow(btf: Btf, id: number, skip: (t: BtfType) => t is Extract<BtfType, { type: number }>): number {
  let current = id;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const type = btf.type(current);
    if (!skip(type)) return current;
    current = type.type;
  }
  throw new BtfError("BTF_BAD_TYPE_ID", `type [${id}]: qualifier/typedef chain is longer than ${MAX_CHAIN} (a loop?)`);
}

/** Skips const, volatile, restrict and type tags (not typedefs). */
export function skipModifiers(btf: Btf, id: number): number {
  return follow(btf, id, isModifier);
}

/** Skips qualifiers, type tags and typedefs: the type that determines layout. */
export function resolveTypeId(btf: Btf, id: number): number {
  return follow(btf, id, (t): t is Extract<BtfType, { type: number }> => t.kind === "typedef" || isModifier(t));
}

export function resolveType(btf: Btf, id: number): BtfType {
  return btf.type(resolveTypeId(btf, id));
}

/** Size in bytes of a value of this type (libbpf's btf__resolve_size). */
export function typeSize(btf: Btf, id: number): number {
  let current = id;
  let multiplier = 1;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const type = btf.type(current);
    switch (type.kind) {
      case "int":
      case "float":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "datasec":
        return checkedSize(id, multiplier * type.size);
      case "ptr":
        return checkedSize(id, multiplier * BTF_POINTER_SIZE);
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "var":
        current = type.type;
        break;
      case "array":
        multiplier *= type.nelems;
        current = type.type;
        break;
      default:
        throw new BtfError("BTF_NOT_SIZED", `type [${current}] (${type.kind.toUpperCase()}) has no size`);
    }
  }
  throw new BtfError("BTF_BAD_TYPE_ID", `type [${id}]: type chain is longer than ${MAX_CHAIN} (a loop?)`);
}

function checkedSize(id: number, size: number): number {
  if (size > 0xffffffff) throw new BtfError("BTF_BAD_RECORD", `type [${id}]: size ${size} exceeds 4 GiB`);
  return size;
}

/** Alignments already computed, per (immutable) Btf: nested structs would otherwise be revisited per level. */
const alignmentCache = new WeakMap<Btf, Map<number, number>>();

/** Alignment in bytes of a value of this type, as C lays it out on a 64-bit target (packed structs: 1). */
export function typeAlignment(btf: Btf, id: number, depth = 0): number {
  if (depth > MAX_NESTING) throw nestingError(id);
  const type = resolveType(btf, id);
  switch (type.kind) {
    case "int":
    case "float":
    case "enum":
    case "enum64":
      // Scalars are naturally aligned; 16-byte ones (__int128, long double) included.
      return type.size;
    case "ptr":
      return BTF_POINTER_SIZE;
    case "array":
      return typeAlignment(btf, type.type, depth + 1);
    case "struct":
    case "union": {
      let cache = alignmentCache.get(btf);
      if (cache === undefined) alignmentCache.set(btf, (cache = new Map()));
      let align = cache.get(type.id);
      if (align === undefined) {
        const natural = naturalAlignment(btf, type, depth);
        align = packedFor(btf, type, natural, depth) ? 1 : natural;
        cache.set(type.id, align);
      }
      return align;
    }
    default:
      return 1;
  }
}

function naturalAlignment(btf: Btf, type: BtfComposite, depth: number): number {
  let align = 1;
  for (const member of type.members) align = Math.max(align, typeAlignment(btf, member.type, depth + 1));
  return align;
}

function packedFor(btf: Btf, type: BtfComposite, naturalAlign: number, depth: number): boolean {
  if (type.size % naturalAlign !== 0) return true;
  return type.members.some(
    (m) => !memberBits(btf, m).isBitfield && m.bitOffset % (8 * typeAlignment(btf, m.type, depth + 1)) !== 0,
  );
}

/**
 * Whether a struct/union was declared packed: its size is not a multiple of its members' alignment, or a
 * (non-bitfield) member sits at an offset its type's alignment forbids.
 */
export function isPacked(btf: Btf, type: BtfComposite): boolean {
  return packedFor(btf, type, naturalAlignment(btf, type, 0), 0);
}

export interface MemberBits {
  /** Offset of the member's first bit from the start of the struct. */
  bitOffset: number;
  /** Width in bits (the whole type's width for a normal member). */
  bitSize: number;
  /** True for C bitfields, whichever of the two BTF encodings describes them. */
  isBitfield: boolean;
}

/**
 * Where a member's value lives. Bitfields are encoded either in the member (struct kind_flag set) or, in older
 * BTF, by an INT type whose bits/offset do not fill its storage; both come out the same here.
 */
export function memberBits(btf: Btf, member: BtfMember): MemberBits {
  if (member.bitfieldSize !== 0) {
    return { bitOffset: member.bitOffset, bitSize: member.bitfieldSize, isBitfield: true };
  }
  const type = resolveType(btf, member.type);
  if (type.kind === "int" && (type.bitOffset !== 0 || type.bits !== type.size * 8)) {
    return { bitOffset: member.bitOffset + type.bitOffset, bitSize: type.bits, isBitfield: true };
  }
  const size = type.kind === "fwd" || type.kind === "func_proto" || type.kind === "void" ? 0 : typeSize(btf, member.type);
  return { bitOffset: member.bitOffset, bitSize: size * 8, isBitfield: false };
}

export interface FoundMember {
  member: BtfMember;
  /** Absolute offset in bits from the start of the outermost struct searched. */
  bitOffset: number;
  /** Member indices from the outer struct down, through anonymous structs/unions (a CO-RE access path). */
  path: number[];
}

/** Finds a member by name, looking inside anonymous struct/union members as C does. */
export function findMember(btf: Btf, composite: BtfComposite, name: string, depth = 0): FoundMember | undefined {
  if (depth > MAX_NESTING) throw nestingError(composite.id);
  for (const [index, member] of composite.members.entries()) {
    if (member.name === name) return { member, bitOffset: member.bitOffset, path: [index] };
    if (member.name !== "") continue;
    const inner = resolveType(btf, member.type);
    if (inner.kind !== "struct" && inner.kind !== "union") continue;
    const found = findMember(btf, inner, name, depth + 1);
    if (found !== undefined) {
      return { member: found.member, bitOffset: member.bitOffset + found.bitOffset, path: [index, ...found.path] };
    }
  }
  return undefined;
}

/** The enumerator name for a value, if any (the value compared as the enum's signedness dictates). */
export function enumeratorName(type: Extract<BtfType, { kind: "enum" | "enum64" }>, value: bigint): string | undefined {
  return type.values.find((v) => v.value === value)?.name;
}
