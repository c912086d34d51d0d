// C spelling of a BTF type, as a declaration would write it: "unsigned int", "const char *", "char[16]",
// "struct event *", "int (*)(void *, int)". Used wherever a type is shown to a user (inspect, errors).

import type { Btf } from "./btf.js";
import type { BtfType } from "./types.js";

const MAX_DEPTH = 64;

function tagged(type: BtfType & { kind: "struct" | "union" | "enum" | "enum64" | "fwd" }): string {
  const keyword = type.kind === "fwd" ? type.fwdKind : type.kind === "enum64" ? "enum" : type.kind;
  return `${keyword} ${type.name === "" ? "(anon)" : type.name}`;
}

/** "base declarator", with the space rules of C style: "char *p", "char[4]", "int (*)(void)". */
function join(base: string, declarator: string): string {
  if (declarator === "") return base;
  return declarator.startsWith("[") ? `${base}${declarator}` : `${base} ${declarator}`;
}

export interface DeclareOptions {
  /**
   * Spells a named or tagged base type (INT, FLOAT, TYPEDEF, STRUCT, UNION, ENUM, ENUM64, FWD) in place of
   * its plain name, e.g. with a de-duplicated name or an inline body; undefined keeps the default.
   */
  base?: (type: BtfType) => string | undefined;
}

function params(btf: Btf, type: Extract<BtfType, { kind: "func_proto" }>, options: DeclareOptions, depth: number): string {
  if (type.params.length === 0) return "(void)";
  // A lone "..." is how BTF encodes an unprototyped declaration, `int f()`.
  if (type.params.length === 1 && type.params[0]?.type === 0) return "()";
  const list = type.params.map((p) => (p.type === 0 ? "..." : declare(btf, p.type, p.name, options, depth + 1)));
  return `(${list.join(", ")})`;
}

/** Declares `declarator` (a name, or "" for an abstract type) with type `id`. */
export function declare(btf: Btf, id: number, declarator: string, options: DeclareOptions = {}, depth = 0): string {
  if (depth > MAX_DEPTH) return join("/* too deep */", declarator);
  const type = btf.type(id);
  const recurse = (next: number, inner: string) => declare(btf, next, inner, options, depth + 1);
  switch (type.kind) {
    case "void":
      return join("void", declarator);
    case "int":
    case "float":
    case "typedef":
      return join(options.base?.(type) ?? type.name, declarator);
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "fwd":
      return join(options.base?.(type) ?? tagged(type), declarator);
    case "ptr":
      return recurse(type.type, `*${declarator}`);
    case "const":
    case "volatile":
    case "restrict": {
      const target = btf.type(type.type);
      // A qualified pointer puts the qualifier after the star: "char *const p".
      if (target.kind === "ptr") return recurse(type.type, `${type.kind} ${declarator}`.trimEnd());
      return `${type.kind} ${recurse(type.type, declarator)}`;
    }
    case "type_tag":
      return recurse(type.type, declarator);
    case "array": {
      const inner = declarator.startsWith("*") ? `(${declarator})` : declarator;
      return recurse(type.type, `${inner}[${type.nelems}]`);
    }
    case "func_proto": {
      const inner = declarator.startsWith("*") ? `(${declarator})` : declarator;
      return recurse(type.returnType, `${inner}${params(btf, type, options, depth)}`);
    }
    case "func":
      return recurse(type.type, type.name);
    case "var":
      return recurse(type.type, declarator === "" ? type.name : declarator);
    case "datasec":
      return join(`SEC("${type.name}")`, declarator);
    case "decl_tag":
      return join(`__attribute__((btf_decl_tag("${type.name}")))`, declarator);
  }
}

/** The C spelling of a type on its own, e.g. for "key: struct key, value: __u64". */
export function typeName(btf: Btf, id: number): string {
  return declare(btf, id, "");
}
