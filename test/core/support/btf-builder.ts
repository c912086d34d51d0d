// Hand-made BTF for unit tests: types are plain objects, so edge cases no compiler emits (ambiguous flavours,
// over-wide bitfields, loops) are one line each. Ids are assigned in call order from 1; a type may refer to
// an id created later (for cycles) by using `nextId`.

import { Btf } from "../../../src/btf/btf.js";
import type { BtfMember, BtfType } from "../../../src/btf/types.js";
import { StringTable } from "../../../src/elf/string-table.js";

type Member = readonly [name: string, type: number, bitOffset: number, bitfieldSize?: number];

export class BtfBuilder {
  private readonly types: BtfType[] = [];

  get nextId(): number {
    return this.types.length + 1;
  }

  private add<T extends BtfType>(make: (id: number) => T): number {
    const id = this.nextId;
    this.types.push(make(id));
    return id;
  }

  int(name: string, size: number, signed = false, bitOffset = 0): number {
    return this.add((id) => ({
      id, kind: "int", name, size, encoding: signed ? 1 : 0, signed, isChar: false, isBool: false, bitOffset, bits: size * 8,
    }));
  }

  float(name: string, size: number): number {
    return this.add((id) => ({ id, kind: "float", name, size }));
  }

  ptr(type: number): number {
    return this.add((id) => ({ id, kind: "ptr", name: "", type }));
  }

  typedef(name: string, type: number): number {
    return this.add((id) => ({ id, kind: "typedef", name, type }));
  }

  const(type: number): number {
    return this.add((id) => ({ id, kind: "const", name: "", type }));
  }

  array(type: number, nelems: number): number {
    return this.add((id) => ({ id, kind: "array", name: "", type, indexType: 0, nelems }));
  }

  struct(name: string, size: number, members: readonly Member[], kind: "struct" | "union" = "struct"): number {
    const list: BtfMember[] = members.map(([memberName, type, bitOffset, bitfieldSize]) => ({
      name: memberName, type, bitOffset, bitfieldSize: bitfieldSize ?? 0,
    }));
    const kindFlag = list.some((m) => m.bitfieldSize !== 0);
    return this.add((id) => ({ id, kind, name, size, kindFlag, members: list }));
  }

  union(name: string, size: number, members: readonly Member[]): number {
    return this.struct(name, size, members, "union");
  }

  enum(name: string, size: number, values: Record<string, bigint | number>, options: { signed?: boolean; wide?: boolean } = {}): number {
    return this.add((id) => ({
      id,
      kind: options.wide === true ? "enum64" : "enum",
      name,
      size,
      signed: options.signed ?? false,
      values: Object.entries(values).map(([valueName, value]) => ({ name: valueName, value: BigInt(value) })),
    }));
  }

  fwd(name: string, fwdKind: "struct" | "union" = "struct"): number {
    return this.add((id) => ({ id, kind: "fwd", name, fwdKind }));
  }

  funcProto(returnType: number, params: readonly number[]): number {
    return this.add((id) => ({ id, kind: "func_proto", name: "", returnType, params: params.map((type) => ({ name: "", type })) }));
  }

  build(): Btf {
    return new Btf(this.types, new StringTable(new Uint8Array([0])));
  }
}
