// Builds raw BTF blobs in tests: the kinds clang 14 never emits (ENUM64, FLOAT, CHAR/BOOL ints, TYPE_TAG,
// DECL_TAG), split BTF, and deliberately broken records.

import { BTF_KIND } from "../../src/btf/types.js";

type Kind = keyof typeof BTF_KIND;

export class BtfBuilder {
  /** The type section as u32 words; tests may push raw records. */
  readonly words: number[] = [];
  private readonly stringBytes: number[] = [0];
  private readonly stringOffsets = new Map<string, number>([["", 0]]);
  private nextId: number;

  /** For split BTF: the base's type count and string section size. */
  constructor(private readonly split?: { firstId: number; stringsStart: number }) {
    this.nextId = split?.firstId ?? 1;
  }

  /** Offset of `text` in the combined string space (added on first use). */
  str(text: string): number {
    let offset = this.stringOffsets.get(text);
    if (offset === undefined) {
      offset = this.stringBytes.length;
      this.stringOffsets.set(text, offset);
      this.stringBytes.push(...new TextEncoder().encode(text), 0);
    }
    return offset + (this.split?.stringsStart ?? 0);
  }

  /** Appends one type record; returns its id. */
  type(kind: Kind, name: string, vlen: number, sizeOrType: number, extra: number[] = [], kindFlag = false): number {
    const info = ((kindFlag ? 1 : 0) << 31) | (BTF_KIND[kind] << 24) | vlen;
    this.words.push(this.str(name), info >>> 0, sizeOrType >>> 0, ...extra.map((w) => w >>> 0));
    return this.nextId++;
  }

  int(name: string, size: number, encoding = 0, bits = size * 8, offset = 0): number {
    return this.type("int", name, 0, size, [(encoding << 24) | (offset << 16) | bits]);
  }

  ref(kind: "ptr" | "typedef" | "volatile" | "const" | "restrict" | "type_tag", type: number, name = ""): number {
    return this.type(kind, name, 0, type);
  }

  array(elem: number, index: number, nelems: number): number {
    return this.type("array", "", 0, 0, [elem, index, nelems]);
  }

  composite(
    kind: "struct" | "union",
    name: string,
    size: number,
    members: [name: string, type: number, bitOffset: number, bitfieldSize?: number][],
    kindFlag = false,
  ): number {
    const extra = members.flatMap(([n, t, off, bits = 0]) => [this.str(n), t, kindFlag ? (bits << 24) | off : off]);
    return this.type(kind, name, members.length, size, extra, kindFlag);
  }

  enum(name: string, size: number, values: [string, number][], signed = false): number {
    return this.type("enum", name, values.length, size, values.flatMap(([n, v]) => [this.str(n), v]), signed);
  }

  enum64(name: string, values: [string, bigint][], signed = false): number {
    const extra = values.flatMap(([n, v]) => {
      const bits = BigInt.asUintN(64, v);
      return [this.str(n), Number(bits & 0xffffffffn), Number(bits >> 32n)];
    });
    return this.type("enum64", name, values.length, 8, extra, signed);
  }

  build(overrides: Partial<Record<"magic" | "version" | "hdrLen" | "typeOff" | "typeLen" | "strOff" | "strLen", number>> = {}): Uint8Array {
    const typeLen = this.words.length * 4;
    const strLen = this.stringBytes.length;
    const bytes = new Uint8Array(24 + typeLen + strLen);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, overrides.magic ?? 0xeb9f, true);
    view.setUint8(2, overrides.version ?? 1);
    view.setUint32(4, overrides.hdrLen ?? 24, true);
    view.setUint32(8, overrides.typeOff ?? 0, true);
    view.setUint32(12, overrides.typeLen ?? typeLen, true);
    view.setUint32(16, overrides.strOff ?? typeLen, true);
    view.setUint32(20, overrides.strLen ?? strLen, true);
    this.words.forEach((w, i) => view.setUint32(24 + i * 4, w, true));
    bytes.set(this.stringBytes, 24 + typeLen);
    return bytes;
  }
}
