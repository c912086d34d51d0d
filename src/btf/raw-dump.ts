// The text of `bpftool btf dump file X` (format raw): one line per type plus one tab-indented line per
// member, enumerator, parameter or section variable. Useful to inspect objects, and an exact oracle for the
// parser: the same blob must print the same text as bpftool.

import type { Btf } from "./btf.js";
import type { BtfType } from "./types.js";

const INT_ENCODINGS: Readonly<Record<number, string>> = { 0: "(none)", 1: "SIGNED", 2: "CHAR", 4: "BOOL" };

function label(name: string): string {
  return name === "" ? "(anon)" : name;
}

function typeLines(btf: Btf, type: BtfType): string {
  const head = `[${type.id}] ${type.kind.toUpperCase()} '${label(type.name)}'`;
  switch (type.kind) {
    case "int":
      return `${head} size=${type.size} bits_offset=${type.bitOffset} nr_bits=${type.bits} encoding=${INT_ENCODINGS[type.encoding] ?? "UNKN"}`;
    case "ptr":
    case "const":
    case "volatile":
    case "restrict":
    case "typedef":
    case "type_tag":
      return `${head} type_id=${type.type}`;
    case "array":
      return `${head} type_id=${type.type} index_type_id=${type.indexType} nr_elems=${type.nelems}`;
    case "struct":
    case "union":
      return [
        `${head} size=${type.size} vlen=${type.members.length}`,
        ...type.members.map(
          (m) =>
            `\t'${label(m.name)}' type_id=${m.type} bits_offset=${m.bitOffset}` +
            (m.bitfieldSize !== 0 ? ` bitfield_size=${m.bitfieldSize}` : ""),
        ),
      ].join("\n");
    case "enum":
    case "enum64": {
      const suffix = type.kind === "enum" ? "" : type.signed ? "LL" : "ULL";
      return [
        `${head} encoding=${type.signed ? "SIGNED" : "UNSIGNED"} size=${type.size} vlen=${type.values.length}`,
        ...type.values.map((v) => `\t'${label(v.name)}' val=${v.value}${suffix}`),
      ].join("\n");
    }
    case "fwd":
      return `${head} fwd_kind=${type.fwdKind}`;
    case "func":
      return `${head} type_id=${type.type} linkage=${type.linkage}`;
    case "func_proto":
      return [
        `${head} ret_type_id=${type.returnType} vlen=${type.params.length}`,
        ...type.params.map((p) => `\t'${label(p.name)}' type_id=${p.type}`),
      ].join("\n");
    case "var":
      return `${head} type_id=${type.type}, linkage=${type.linkage}`;
    case "datasec":
      return [
        `${head} size=${type.size} vlen=${type.vars.length}`,
        ...type.vars.map((v) => {
          const target = btf.type(v.type);
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${target.kind.toUpperCase()} '${label(target.name)}')`;
        }),
      ].join("\n");
    case "float":
      return `${head} size=${type.size}`;
    case "decl_tag":
      return `${head} type_id=${type.type} component_idx=${type.componentIdx}`;
    case "void":
      return head;
  }
}

/** bpftool's raw dump of the types this blob defines (for split BTF, not the base's), newline-terminated. */
export function dumpBtfRaw(btf: Btf): string {
  const lines = btf.types.map((type) => typeLines(btf, type));
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
