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

function params(btf: Btf, type: Extract<BtfType, { kind: "func_proto" }>, depth: number): string {
  if (type.params.length === 0) return "(void)";
  const list = type.params.map((p) => (p.type === 0 ? "..." : declare(btf, p.type, p.name, depth + 1)));
  return `(${list.join(", ")})`;
}

/** Declares `declarator` (a name, or "" for an abstract type) with type `id`. */
export function declare(btf: Btf, id: number, declarator: string, depth = 0): string {
  if (depth > MAX_DEPTH) return join("/* too deep */", declarator);
  const type = btf.type(id);
  switch (type.kind) {
    case "void":
      return join("void", declarator);
    case "int":
    case "float":
    case "typedef":
      return join(type.name, declarator);
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "fwd":
      return join(tagged(type), declarator);
    case "ptr":
      return declare(btf, type.type, `*${declarator}`, depth + 1);
    case "const":
    case "volatile":
    case "restrict": {
      const target = btf.type(type.type);
      // A qualified pointer puts the qualifier after the star: "char *const p".
      if (target.kind === "ptr") return declare(btf, type.type, `${type.kind} ${declarator}`.trimEnd(), depth + 1);
      return `${type.kind} ${declare(btf, type.type, declarator, depth + 1)}`;
    }
    case "type_tag":
      return declare(btf, type.type, declarator, depth + 1);
    case "array": {
      const inner = declarator.startsWith("*") ? `(${declarator})` : declarator;
      return declare(btf, type.type, `${inner}[${type.nelems}]`, depth + 1);
    }
    case "func_proto": {
      const inner = declarator.startsWith("*") ? `(${declarator})` : declarator;
      return declare(btf, type.returnType, `${inner}${params(btf, type, depth)}`, depth + 1);
    }
    case "func":
      return declare(btf, type.type, type.name, depth + 1);
    case "var":
      return declare(btf, type.type, declarator === "" ? type.name : declarator, depth + 1);
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
