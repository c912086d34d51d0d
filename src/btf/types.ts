// The BTF type model: one plain object per type, discriminated by `kind`. Type references are type ids
// (numbers), resolved through the owning Btf, because BTF graphs are cyclic (a struct holding a pointer to
// itself) and split BTF refers into its base.

/** Kind numbers as encoded in `btf_type.info` bits 24-28. */
export const BTF_KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

export type BtfKind = keyof typeof BTF_KIND | "void";

/** Kind names indexed by kind number (index 0 is the implicit void type). */
export const BTF_KIND_NAMES: readonly BtfKind[] = [
  "void",
  ...(Object.keys(BTF_KIND) as (keyof typeof BTF_KIND)[]),
];

// BTF_INT_ENCODING bits
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

export type Linkage = "static" | "global" | "extern";
export const LINKAGE_NAMES: readonly Linkage[] = ["static", "global", "extern"];

interface Named {
  readonly id: number;
  /** "" for anonymous types. */
  readonly name: string;
}

export interface BtfVoid extends Named {
  readonly kind: "void";
}

export interface BtfInt extends Named {
  readonly kind: "int";
  /** Storage size in bytes. */
  readonly size: number;
  /** Raw BTF_INT_ENCODING bits (BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL). */
  readonly encoding: number;
  readonly signed: boolean;
  readonly isChar: boolean;
  readonly isBool: boolean;
  /** BTF_INT_OFFSET: bit offset of the value inside its storage (legacy bitfields, normally 0). */
  readonly bitOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  readonly bits: number;
}

export interface BtfFloat extends Named {
  readonly kind: "float";
  readonly size: number;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: a name (typedef, tag) and one referenced type. */
export interface BtfRef extends Named {
  readonly kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag";
  readonly type: number;
}

export interface BtfArray extends Named {
  readonly kind: "array";
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Offset from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width when the struct has kind_flag set; 0 for a normal member. */
  readonly bitfieldSize: number;
}

export interface BtfComposite extends Named {
  readonly kind: "struct" | "union";
  readonly size: number;
  /** kind_flag: member offsets carry bitfield sizes. */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

export interface BtfEnumValue {
  readonly name: string;
  readonly value: bigint;
}

export interface BtfEnum extends Named {
  readonly kind: "enum" | "enum64";
  readonly size: number;
  /** kind_flag: the values are signed. */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

export interface BtfFwd extends Named {
  readonly kind: "fwd";
  readonly fwdKind: "struct" | "union";
}

export interface BtfFunc extends Named {
  readonly kind: "func";
  /** The FUNC_PROTO. */
  readonly type: number;
  readonly linkage: Linkage;
}

export interface BtfParam {
  readonly name: string;
  /** 0 in a last parameter means "..." (variadic). */
  readonly type: number;
}

export interface BtfFuncProto extends Named {
  readonly kind: "func_proto";
  readonly returnType: number;
  readonly params: readonly BtfParam[];
}

export interface BtfVar extends Named {
  readonly kind: "var";
  readonly type: number;
  readonly linkage: Linkage;
}

export interface BtfVarSecinfo {
  /** The VAR (or FUNC, for .ksyms) placed in the section. */
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends Named {
  readonly kind: "datasec";
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfDeclTag extends Named {
  readonly kind: "decl_tag";
  readonly type: number;
  /** -1 for the type itself, else the member / parameter index the tag applies to. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfFloat
  | BtfRef
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfDeclTag;

type OfKind<T, K> = T extends { kind: infer Kinds } ? (K extends Kinds ? T : never) : never;
/** The type interface(s) whose `kind` can be K, e.g. BtfComposite for "struct". */
export type BtfTypeOfKind<K extends BtfKind> = OfKind<BtfType, K>;

/** Kinds that only qualify another type (libbpf's btf_is_mod). */
export function isModifier(type: BtfType): type is BtfRef {
  return type.kind === "volatile" || type.kind === "const" || type.kind === "restrict" || type.kind === "type_tag";
}

/** Every type id a type refers to (members, elements, parameters, section variables, ...). */
export function typeReferences(type: BtfType): number[] {
  const ids = "type" in type ? [type.type] : [];
  switch (type.kind) {
    case "array":
      ids.push(type.indexType);
      break;
    case "struct":
    case "union":
      for (const member of type.members) ids.push(member.type);
      break;
    case "func_proto":
      ids.push(type.returnType, ...type.params.map((p) => p.type));
      break;
    case "datasec":
      for (const info of type.vars) ids.push(info.type);
      break;
    default:
      break;
  }
  return ids;
}
