// Decodes bytes laid out as a BTF type into a tree of values. The tree keeps what every output form needs
// (bit widths, signedness, enum names), so bpftool-style text and JSON values are both renderings of it.

import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import { MAX_NESTING, nestingError, resolveTypeId, skipModifiers, typeSize } from "./resolve.js";
import type { BtfArray, BtfComposite, BtfInt } from "./types.js";
import { hex } from "../elf/bytes.js";

export type BtfValue =
  | { kind: "struct"; fields: [name: string, value: BtfValue][] }
  | { kind: "array"; items: BtfValue[] }
  | { kind: "string"; value: string }
  /** An integer of 8, 16, 32 or 64 bits, already sign-interpreted. */
  | { kind: "int"; value: bigint; bits: number; signed: boolean }
  /**
   * A bitfield, an odd-width int or a 128-bit int: the raw bits, unsigned. `meaning` keeps what the bits
   * stand for when the field's type is a bool or an enum (bpftool shows them as hex all the same).
   */
  | { kind: "bits"; raw: bigint; bits: number; signed: boolean; meaning?: BitsMeaning }
  | { kind: "char"; code: number }
  | { kind: "bool"; value: boolean }
  /** `name` is undefined when the value matches no enumerator; `value` is then shown signed, as bpftool does. */
  | { kind: "enum"; name: string | undefined; value: bigint; size: number }
  | { kind: "pointer"; value: bigint }
  | { kind: "float"; value: number }
  | { kind: "var"; name: string; value: BtfValue }
  | { kind: "datasec"; name: string; vars: BtfValue[] }
  /** A type that cannot hold a value (forward declaration, function); `text` is bpftool's placeholder. */
  | { kind: "invalid"; text: string };

export type BitsMeaning = { bool: boolean } | { enumerator: string | undefined };

/** Zero-size elements take no bytes, so only this bound stops a corrupt array count from running forever. */
const ZERO_SIZE_ELEMENTS_MAX = 4096;

/** Little-endian unsigned integer of `length` bytes at `at`. */
function readUnsigned(bytes: Uint8Array, at: number, length: number): bigint {
  let value = 0n;
  for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i] as number);
  return value;
}

class Decoder {
  private depth = 0;

  constructor(
    private readonly btf: Btf,
    private readonly bytes: Uint8Array,
  ) {}

  private need(at: number, length: number, id: number): void {
    if (at < 0 || at + length > this.bytes.length) {
      throw new BtfError(
        "BTF_VALUE_TOO_SHORT",
        `type [${id}] needs bytes ${hex(at)}..${hex(at + length)}, but the value is ${this.bytes.length} bytes`,
      );
    }
  }

  /** A value of type `id` at byte `at`; `bitOffset` (0-7) is a sub-byte start, used by legacy int bitfields. */
  decode(id: number, at: number, bitOffset = 0): BtfValue {
    if (++this.depth > MAX_NESTING) throw nestingError(id);
    try {
      return this.decodeType(id, at, bitOffset);
    } finally {
      this.depth--;
    }
  }

  private decodeType(id: number, at: number, bitOffset: number): BtfValue {
    const type = this.btf.type(id);
    switch (type.kind) {
      case "int":
        return this.int(type, at, bitOffset);
      case "struct":
      case "union":
        return this.composite(type, at);
      case "array":
        return this.array(type, at);
      case "enum":
      case "enum64": {
        this.need(at, type.size, id);
        const raw = readUnsigned(this.bytes, at, type.size);
        const bits = type.size * 8;
        // Compare raw bits: an enumerator's stored sign need not match how the value was read.
        const match = type.values.find((v) => BigInt.asUintN(bits, v.value) === raw);
        return { kind: "enum", name: match?.name, value: BigInt.asIntN(bits, raw), size: type.size };
      }
      case "ptr":
        this.need(at, 8, id);
        return { kind: "pointer", value: readUnsigned(this.bytes, at, 8) };
      case "float": {
        this.need(at, type.size, id);
        const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + at, type.size);
        if (type.size === 4) return { kind: "float", value: view.getFloat32(0, true) };
        if (type.size === 8) return { kind: "float", value: view.getFloat64(0, true) };
        return { kind: "bits", raw: readUnsigned(this.bytes, at, type.size), bits: type.size * 8, signed: false };
      }
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        return this.decode(resolveTypeId(this.btf, id), at, bitOffset);
      case "var":
        return { kind: "var", name: type.name, value: this.decode(type.type, at, bitOffset) };
      case "datasec":
        return {
          kind: "datasec",
          name: type.name,
          vars: type.vars.map((v) => this.decode(v.type, at + v.offset)),
        };
      case "void":
        return { kind: "invalid", text: "(unknown)" };
      case "fwd":
        return { kind: "invalid", text: "(fwd-kind-invalid)" };
      default:
        return { kind: "invalid", text: `(unsupported-kind ${type.kind})` };
    }
  }

  private int(type: BtfInt, at: number, bitOffset: number): BtfValue {
    const fullWidth = [8, 16, 32, 64].includes(type.bits);
    if (bitOffset !== 0 || type.bitOffset !== 0 || type.bits % 8 !== 0 || (!fullWidth && !type.isChar && !type.isBool)) {
      return this.bits(type.id, at, bitOffset + type.bitOffset, type.bits, type.signed);
    }
    this.need(at, type.size, type.id);
    const raw = readUnsigned(this.bytes, at, type.bits / 8);
    if (type.isBool) return { kind: "bool", value: raw !== 0n };
    if (type.isChar) return { kind: "char", code: Number(raw & 0xffn) };
    const value = type.signed ? BigInt.asIntN(type.bits, raw) : raw;
    return { kind: "int", value, bits: type.bits, signed: type.signed };
  }

  /** `bits` value bits starting `bitOffset` bits after byte `at` (little-endian bit numbering). */
  private bits(id: number, at: number, bitOffset: number, bits: number, signed: boolean): BtfValue & { kind: "bits" } {
    const start = at + Math.floor(bitOffset / 8);
    const shift = bitOffset % 8;
    const length = Math.ceil((shift + bits) / 8);
    this.need(start, length, id);
    const raw = (readUnsigned(this.bytes, start, length) >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n);
    return { kind: "bits", raw, bits, signed };
  }

  private composite(type: BtfComposite, at: number): BtfValue {
    this.need(at, type.size, type.id);
    const fields: [string, BtfValue][] = type.members.map((member) => {
      const byte = at + Math.floor(member.bitOffset / 8);
      if (member.bitfieldSize !== 0) {
        const target = this.btf.type(resolveTypeId(this.btf, member.type));
        const signed = (target.kind === "int" || target.kind === "enum" || target.kind === "enum64") && target.signed;
        const value = this.bits(type.id, byte, member.bitOffset % 8, member.bitfieldSize, signed);
        if (value.kind === "bits") {
          if (target.kind === "int" && target.isBool) value.meaning = { bool: value.raw !== 0n };
          if (target.kind === "enum" || target.kind === "enum64") {
            const match = target.values.find((v) => BigInt.asUintN(member.bitfieldSize, v.value) === value.raw);
            value.meaning = { enumerator: match?.name };
          }
        }
        return [member.name, value];
      }
      return [member.name, this.decode(member.type, byte, member.bitOffset % 8)];
    });
    return { kind: "struct", fields };
  }

  private array(type: BtfArray, at: number): BtfValue {
    const elementSize = typeSize(this.btf, type.type);
    if (elementSize === 0 && type.nelems > ZERO_SIZE_ELEMENTS_MAX) {
      throw new BtfError("BTF_BAD_RECORD", `type [${type.id}]: array of ${type.nelems} zero-size elements`);
    }
    this.need(at, elementSize * type.nelems, type.id);
    const text = this.charArrayText(type, at);
    if (text !== undefined) return { kind: "string", value: text };
    const items: BtfValue[] = new Array<BtfValue>(type.nelems);
    for (let i = 0; i < type.nelems; i++) items[i] = this.decode(type.type, at + i * elementSize);
    return { kind: "array", items };
  }

  /**
   * bpftool's rule for showing a char array as a string: elements are 1-byte ints named "char" or with CHAR
   * encoding (qualifiers skipped, typedefs not), and the bytes are printable ASCII up to a NUL.
   */
  private charArrayText(type: BtfArray, at: number): string | undefined {
    if (type.nelems === 0) return undefined;
    const element = this.btf.type(skipModifiers(this.btf, type.type));
    if (element.kind !== "int" || element.size !== 1 || (!element.isChar && element.name !== "char")) return undefined;
    for (let i = 0; i < type.nelems; i++) {
      const byte = this.bytes[at + i] as number;
      if (byte === 0) return String.fromCharCode(...this.bytes.subarray(at, at + i));
      if (byte < 0x20 || byte >= 0x7f) return undefined;
    }
    return undefined;
  }
}

/** Decodes `bytes` as a value of type `typeId`; throws BtfError when the bytes are shorter than the type. */
export function decodeBtfValue(btf: Btf, typeId: number, bytes: Uint8Array): BtfValue {
  const type = btf.type(typeId);
  if (type.kind !== "void" && type.kind !== "fwd" && type.kind !== "func" && type.kind !== "func_proto") {
    const size = typeSize(btf, typeId);
    if (bytes.length < size) {
      throw new BtfError(
        "BTF_VALUE_TOO_SHORT",
        `value is ${bytes.length} bytes, but type [${typeId}] ${type.kind.toUpperCase()} '${type.name}' needs ${size}`,
      );
    }
  }
  return new Decoder(btf, bytes).decode(typeId, 0);
}
