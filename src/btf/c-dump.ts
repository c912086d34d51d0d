// C declarations for every type of a BTF blob, like `bpftool btf dump file X format c` (a vmlinux.h).
//
// The output is meant to compile and to reproduce every size and offset, not to match bpftool line for line:
// types come in id order, each preceded by what it needs (definitions for by-value uses, forward declarations
// for pointers), names that clash get a ___N suffix, and layout the compiler would not find on its own is
// spelled out with unnamed bitfields (padding) or __attribute__((packed)).

import type { Btf } from "./btf.js";
import { isPacked, memberBits, typeAlignment, typeSize } from "./resolve.js";
import { declare } from "./type-name.js";
import { typeReferences, type BtfComposite, type BtfEnum, type BtfType } from "./types.js";

export interface CDumpOptions {
  /** Wrap the declarations in an include guard and clang's preserve_access_index pragma (default true). */
  header?: boolean;
}

/** Unique C names: tags (struct/union/enum) and ordinary identifiers (typedefs, enumerators) live apart. */
class CNames {
  private readonly tags = new Map<number, string>();
  private readonly ordinary = new Map<number, string>();
  private readonly enumerators = new Map<string, string>();

  constructor(btf: Btf) {
    const tagCounts = new Map<string, number>();
    const ordinaryCounts = new Map<string, number>();
    const unique = (counts: Map<string, number>, name: string) => {
      const seen = (counts.get(name) ?? 0) + 1;
      counts.set(name, seen);
      return seen === 1 ? name : `${name}___${seen}`;
    };
    const all = allTypes(btf);
    for (const type of all) {
      if (type.name === "") continue;
      if (type.kind === "struct" || type.kind === "union" || type.kind === "enum" || type.kind === "enum64") {
        this.tags.set(type.id, unique(tagCounts, type.name));
      } else if (type.kind === "typedef") {
        this.ordinary.set(type.id, unique(ordinaryCounts, type.name));
      }
      if (type.kind === "enum" || type.kind === "enum64") {
        type.values.forEach((v, i) => this.enumerators.set(`${type.id}:${i}`, unique(ordinaryCounts, v.name)));
      }
    }
    for (const type of all) {
      // A forward declaration names the same tag as its definition, when there is one.
      if (type.kind === "fwd") this.tags.set(type.id, tagCounts.has(type.name) ? type.name : unique(tagCounts, type.name));
    }
    for (const type of all) {
      if ((type.kind === "enum" || type.kind === "enum64") && type.name === "") {
        type.values.forEach((v, i) => this.enumerators.set(`${type.id}:${i}`, unique(ordinaryCounts, v.name)));
      }
    }
  }

  tag(type: BtfType): string {
    return this.tags.get(type.id) ?? type.name;
  }

  typedef(type: BtfType): string {
    return this.ordinary.get(type.id) ?? type.name;
  }

  enumerator(type: BtfEnum, index: number): string {
    return this.enumerators.get(`${type.id}:${index}`) ?? type.values[index]?.name ?? "";
  }
}

function allTypes(btf: Btf): BtfType[] {
  const types: BtfType[] = [];
  for (let id = 1; id < btf.typeCount; id++) types.push(btf.type(id));
  return types;
}

/** Unnamed bitfields that advance a struct from bit `from` to bit `to` without touching its alignment. */
function padding(from: number, to: number): string[] {
  const lines: string[] = [];
  for (let at = from; at < to; ) {
    const gap = to - at;
    const fill = [64, 32, 16, 8].find((bits) => at % bits === 0 && gap >= bits) ?? Math.min(8 - (at % 8), gap);
    lines.push(`${{ 64: "long", 32: "int", 16: "short" }[fill] ?? "char"}: ${fill};`);
    at += fill;
  }
  return lines;
}

const alignUp = (value: number, align: number) => Math.ceil(value / align) * align;

type State = "visiting" | "declared" | "defined";

class CDumper {
  private readonly out: string[] = [];
  private readonly state = new Map<number, State>();
  private readonly names: CNames;
  private readonly referenced = new Set<number>();

  constructor(private readonly btf: Btf) {
    this.names = new CNames(btf);
    for (const type of allTypes(btf)) for (const id of typeReferences(type)) this.referenced.add(id);
  }

  run(): string {
    for (let id = this.btf.firstId; id < this.btf.typeCount; id++) {
      const type = this.btf.type(id);
      switch (type.kind) {
        case "struct":
        case "union":
        case "enum":
        case "enum64":
        case "typedef":
          // Anonymous enums nobody refers to are how C code declares constants; other anonymous types are
          // printed inline where they are used.
          if (type.name !== "" || ((type.kind === "enum" || type.kind === "enum64") && !this.referenced.has(id))) {
            this.define(id);
          }
          break;
        case "fwd":
          this.forwardDeclare(type);
          break;
        default:
          break;
      }
    }
    return this.out.join("");
  }

  /** Makes sure everything type `id` needs is printed: definitions when used by value, else declarations. */
  private require(id: number, byValue: boolean, depth = 0): void {
    if (depth > 64) return;
    const type = this.btf.type(id);
    switch (type.kind) {
      case "ptr":
        return this.require(type.type, false, depth + 1);
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        return this.require(type.type, byValue, depth + 1);
      case "array":
        // An array's elements must be complete even where the array is only pointed to.
        return this.require(type.type, true, depth + 1);
      case "func_proto":
        this.require(type.returnType, false, depth + 1);
        for (const param of type.params) this.require(param.type, false, depth + 1);
        return;
      case "enum":
      case "enum64":
        if (type.name !== "") this.define(id);
        return;
      case "fwd":
        return this.forwardDeclare(type);
      case "struct":
      case "union":
        if (type.name === "") for (const m of type.members) this.require(m.type, true, depth + 1);
        else if (byValue) this.define(id);
        else this.forwardDeclare(type);
        return;
      case "typedef":
        this.define(id);
        if (byValue) this.require(type.type, true, depth + 1);
        return;
      default:
        return;
    }
  }

  /** Types of a split blob's base are declared by the base's own dump. */
  private inBase(id: number): boolean {
    return id < this.btf.firstId;
  }

  private forwardDeclare(type: BtfType): void {
    if (this.inBase(type.id) || this.state.get(type.id) !== undefined) return;
    // A FWD shares its tag with the definition; declaring the definition's tag early is harmless.
    this.state.set(type.id, "declared");
    const keyword = type.kind === "fwd" ? type.fwdKind : type.kind;
    this.out.push(`${keyword} ${this.names.tag(type)};\n\n`);
  }

  private define(id: number): void {
    if (this.inBase(id)) return;
    const current = this.state.get(id);
    if (current === "defined" || current === "visiting") return;
    this.state.set(id, "visiting");
    const type = this.btf.type(id);
    switch (type.kind) {
      case "struct":
      case "union":
        for (const member of type.members) this.require(member.type, true);
        this.out.push(`${this.composite(type, 0)};\n\n`);
        break;
      case "enum":
      case "enum64":
        this.out.push(`${this.enumBody(type, 0)};\n\n`);
        break;
      case "typedef":
        // The compiler defines this one itself; redefining it is an error.
        if (type.name === "__builtin_va_list") break;
        this.require(type.type, false);
        this.out.push(`typedef ${this.declare(type.type, this.names.typedef(type), 0)};\n\n`);
        break;
      default:
        break;
    }
    this.state.set(id, "defined");
  }

  /** A declaration of `declarator` with type `id`, anonymous types written inline at `indent`. */
  private declare(id: number, declarator: string, indent: number): string {
    return declare(this.btf, id, declarator, {
      base: (type) => {
        switch (type.kind) {
          case "typedef":
            return this.names.typedef(type);
          case "struct":
          case "union":
            return type.name === "" ? this.composite(type, indent) : `${type.kind} ${this.names.tag(type)}`;
          case "enum":
          case "enum64":
            return type.name === "" ? this.enumBody(type, indent) : `enum ${this.names.tag(type)}`;
          case "fwd":
            return `${type.fwdKind} ${this.names.tag(type)}`;
          default:
            return undefined;
        }
      },
    });
  }

  private composite(type: BtfComposite, indent: number): string {
    const tab = "\t".repeat(indent + 1);
    const packed = isPacked(this.btf, type);
    const lines = type.kind === "struct" ? this.structMembers(type, packed, indent + 1) : this.unionMembers(type, indent + 1);
    const head = type.name === "" ? type.kind : `${type.kind} ${this.names.tag(type)}`;
    const body = lines.length === 0 ? "{}" : `{\n${lines.map((l) => `${tab}${l}\n`).join("")}${"\t".repeat(indent)}}`;
    return `${head} ${body}${packed ? " __attribute__((packed))" : ""}`;
  }

  private member(type: BtfComposite, index: number, indent: number): string {
    const member = type.members[index]!;
    const bits = memberBits(this.btf, member);
    const declaration = this.declare(member.type, member.name, indent);
    return bits.isBitfield ? `${declaration}: ${bits.bitSize};` : `${declaration};`;
  }

  /** Member lines with padding wherever the compiler's own layout would not land on BTF's offsets. */
  private structMembers(type: BtfComposite, packed: boolean, indent: number): string[] {
    const lines: string[] = [];
    let at = 0;
    type.members.forEach((member, index) => {
      const bits = memberBits(this.btf, member);
      let natural: number;
      if (bits.isBitfield) {
        const unit = typeSize(this.btf, member.type) * 8;
        const fits = Math.floor(at / unit) === Math.floor((at + bits.bitSize - 1) / unit);
        natural = packed || fits ? at : alignUp(at, unit);
      } else {
        natural = alignUp(at, packed ? 8 : typeAlignment(this.btf, member.type) * 8);
      }
      if (bits.bitOffset > natural) lines.push(...padding(at, bits.bitOffset));
      lines.push(this.member(type, index, indent));
      at = Math.max(at, bits.bitOffset + bits.bitSize);
    });
    const align = packed ? 8 : typeAlignment(this.btf, type.id) * 8;
    const end = type.size * 8;
    if (end > at && alignUp(at, align) !== end) lines.push(...padding(at, end));
    return lines;
  }

  private unionMembers(type: BtfComposite, indent: number): string[] {
    return type.members.map((_, index) => this.member(type, index, indent));
  }

  private enumBody(type: BtfEnum, indent: number): string {
    const tab = "\t".repeat(indent + 1);
    const suffix = type.kind === "enum64" ? (type.signed ? "LL" : "ULL") : "";
    const values = type.values.map((v, i) => `${tab}${this.names.enumerator(type, i)} = ${v.value}${suffix},\n`);
    const head = type.name === "" ? "enum" : `enum ${this.names.tag(type)}`;
    // C makes an enum int-sized; narrower BTF enums were declared packed.
    const packed = type.size < 4 ? " __attribute__((packed))" : "";
    return `${head} {\n${values.join("")}${"\t".repeat(indent)}}${packed}`;
  }
}

const HEADER = `#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

`;

const FOOTER = `#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
`;

/** C declarations of the types this blob defines (for split BTF, the base's types are assumed declared). */
export function dumpBtfC(btf: Btf, options: CDumpOptions = {}): string {
  const body = new CDumper(btf).run();
  return options.header === false ? body : `${HEADER}${body}${FOOTER}`;
}
