// Parses a raw BTF blob (the .BTF section of an object, /sys/kernel/btf/vmlinux, module BTF) into a Btf.
// Every offset and count is checked against the blob, so corrupt input ends in a BtfError naming the type
// and field, never in a RangeError.

import { hex } from "../elf/bytes.js";
import { StringTable } from "../elf/string-table.js";
import { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND_NAMES,
  LINKAGE_NAMES,
  type BtfEnumValue,
  type BtfMember,
  type BtfParam,
  type BtfType,
  type BtfVarSecinfo,
  type Linkage,
  typeReferences,
} from "./types.js";

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
const HEADER_MIN = 24;

export interface BtfHeader {
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

export interface ParseBtfOptions {
  /** The base BTF of split BTF (vmlinux for a kernel module's BTF). */
  base?: Btf;
}

export function parseBtfHeader(bytes: Uint8Array): BtfHeader {
  if (bytes.length < HEADER_MIN) {
    throw new BtfError("BTF_TRUNCATED", `BTF header truncated: ${bytes.length} bytes, the header needs ${HEADER_MIN}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    const why = magic === 0x9feb ? " (big-endian BTF is not supported)" : "";
    throw new BtfError("BTF_BAD_MAGIC", `bad BTF magic ${hex(magic)}, expected ${hex(BTF_MAGIC)}${why}`);
  }
  const header: BtfHeader = {
    version: view.getUint8(2),
    flags: view.getUint8(3),
    hdrLen: view.getUint32(4, true),
    typeOff: view.getUint32(8, true),
    typeLen: view.getUint32(12, true),
    strOff: view.getUint32(16, true),
    strLen: view.getUint32(20, true),
  };
  if (header.version !== BTF_VERSION) {
    throw new BtfError("BTF_UNSUPPORTED", `BTF version ${header.version} is not supported (expected ${BTF_VERSION})`);
  }
  if (header.hdrLen < HEADER_MIN || header.hdrLen > bytes.length) {
    throw new BtfError(
      "BTF_TRUNCATED",
      `BTF hdr_len ${header.hdrLen} is invalid for a ${bytes.length}-byte blob (at least ${HEADER_MIN})`,
    );
  }
  const dataLen = bytes.length - header.hdrLen;
  for (const [name, off, len] of [
    ["type", header.typeOff, header.typeLen],
    ["string", header.strOff, header.strLen],
  ] as const) {
    if (off > dataLen || len > dataLen - off) {
      throw new BtfError(
        "BTF_OUT_OF_BOUNDS",
        `BTF ${name} section at ${hex(off)}+${hex(len)} extends past the end of the data (${hex(dataLen)} bytes after the header)`,
      );
    }
  }
  if (header.typeOff % 4 !== 0) {
    throw new BtfError("BTF_BAD_RECORD", `BTF type section offset ${hex(header.typeOff)} is not 4-byte aligned`);
  }
  return header;
}

function checkStrings(strings: Uint8Array, split: boolean): void {
  if (strings.length === 0) {
    if (split) return;
    throw new BtfError("BTF_BAD_STRING", "BTF string section is empty (it must start with an empty string)");
  }
  if (!split && strings[0] !== 0) {
    throw new BtfError("BTF_BAD_STRING", "BTF string section does not start with an empty string (a NUL byte)");
  }
  if (strings[strings.length - 1] !== 0) {
    throw new BtfError("BTF_BAD_STRING", "BTF string section does not end with a NUL byte");
  }
}

/** Reads the type records of one blob; type ids start at `firstId`. */
class TypeReader {
  private readonly view: DataView;
  private at = 0;
  /** Offset of the record being read, for messages. */
  private start = 0;
  private id: number;
  private kindName = "";

  constructor(
    typeSection: Uint8Array,
    private readonly firstId: number,
    private readonly name: (offset: number) => string | undefined,
    private readonly stringsSize: number,
  ) {
    this.view = new DataView(typeSection.buffer, typeSection.byteOffset, typeSection.byteLength);
    this.id = firstId;
  }

  readAll(): BtfType[] {
    const types: BtfType[] = [];
    while (this.at < this.view.byteLength) {
      types.push(this.readType());
      this.id++;
    }
    return types;
  }

  private where(): string {
    return `type [${this.id}]${this.kindName === "" ? "" : ` (${this.kindName})`} at type offset ${hex(this.start)}`;
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.view.byteLength - this.at) {
      throw new BtfError(
        "BTF_OUT_OF_BOUNDS",
        `${this.where()}: ${what} (${bytes} bytes) extends past the end of the type section (${hex(this.view.byteLength)} bytes)`,
      );
    }
  }

  private u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  private string(offset: number, what: string): string {
    const found = this.name(offset);
    if (found === undefined) {
      throw new BtfError(
        "BTF_BAD_STRING",
        `${this.where()}: ${what} offset ${hex(offset)} is outside the string section (${hex(this.stringsSize)} bytes)`,
      );
    }
    return found;
  }

  private linkage(value: number): Linkage {
    const linkage = LINKAGE_NAMES[value];
    if (linkage === undefined) throw new BtfError("BTF_BAD_RECORD", `${this.where()}: unknown linkage ${value}`);
    return linkage;
  }

  private readType(): BtfType {
    this.start = this.at;
    this.kindName = "";
    this.need(12, "type header");
    const nameOff = this.u32();
    const info = this.u32();
    const sizeOrType = this.u32();
    const kindNumber = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const kind = kindNumber === 0 ? undefined : BTF_KIND_NAMES[kindNumber];
    if (kind === undefined) {
      throw new BtfError("BTF_BAD_KIND", `${this.where()}: unknown kind ${kindNumber}`);
    }
    this.kindName = kind.toUpperCase();
    const id = this.id;
    const name = this.string(nameOff, "name");
    switch (kind) {
      case "int":
        return this.readInt(id, name, sizeOrType);
      case "ptr":
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        return { id, kind, name, type: sizeOrType };
      case "float":
        return { id, kind, name, size: sizeOrType };
      case "fwd":
        return { id, kind, name, fwdKind: kindFlag ? "union" : "struct" };
      case "func":
        return { id, kind, name, type: sizeOrType, linkage: this.linkage(vlen) };
      case "array": {
        this.need(12, "array info");
        return { id, kind, name, type: this.u32(), indexType: this.u32(), nelems: this.u32() };
      }
      case "struct":
      case "union":
        return { id, kind, name, size: sizeOrType, kindFlag, members: this.readMembers(vlen, kindFlag) };
      case "enum":
      case "enum64":
        return { id, kind, name, size: sizeOrType, signed: kindFlag, values: this.readEnumValues(vlen, kind, kindFlag) };
      case "func_proto":
        return { id, kind, name, returnType: sizeOrType, params: this.readParams(vlen) };
      case "var": {
        this.need(4, "var info");
        return { id, kind, name, type: sizeOrType, linkage: this.linkage(this.u32()) };
      }
      case "datasec":
        return { id, kind, name, size: sizeOrType, vars: this.readSecinfos(vlen) };
      case "decl_tag": {
        this.need(4, "decl_tag info");
        return { id, kind, name, type: sizeOrType, componentIdx: this.view.getInt32((this.at += 4) - 4, true) };
      }
      case "void":
        throw new BtfError("BTF_BAD_KIND", `${this.where()}: kind 0 (void) cannot be defined`);
    }
  }

  private readInt(id: number, name: string, size: number): BtfType {
    this.need(4, "int info");
    const data = this.u32();
    const encoding = (data >>> 24) & 0x0f;
    const bitOffset = (data >>> 16) & 0xff;
    const bits = data & 0xff;
    if (![1, 2, 4, 8, 16].includes(size)) {
      throw new BtfError("BTF_BAD_RECORD", `${this.where()}: int size ${size} is not 1, 2, 4, 8 or 16`);
    }
    if (bits === 0 || bits > 128 || bitOffset + bits > size * 8) {
      throw new BtfError(
        "BTF_BAD_RECORD",
        `${this.where()}: int bits ${bits} at bit offset ${bitOffset} do not fit its ${size}-byte storage`,
      );
    }
    return {
      id,
      kind: "int",
      name,
      size,
      encoding,
      signed: (encoding & BTF_INT_SIGNED) !== 0,
      isChar: (encoding & BTF_INT_CHAR) !== 0,
      isBool: (encoding & BTF_INT_BOOL) !== 0,
      bitOffset,
      bits,
    };
  }

  private readMembers(count: number, kindFlag: boolean): BtfMember[] {
    this.need(count * 12, `${count} members`);
    const members: BtfMember[] = new Array<BtfMember>(count);
    for (let i = 0; i < count; i++) {
      const name = this.string(this.u32(), `member ${i} name`);
      const type = this.u32();
      const offset = this.u32();
      members[i] = kindFlag
        ? { name, type, bitOffset: offset & 0xffffff, bitfieldSize: offset >>> 24 }
        : { name, type, bitOffset: offset, bitfieldSize: 0 };
    }
    return members;
  }

  private readEnumValues(count: number, kind: "enum" | "enum64", signed: boolean): BtfEnumValue[] {
    const recordSize = kind === "enum" ? 8 : 12;
    this.need(count * recordSize, `${count} enumerators`);
    const values: BtfEnumValue[] = new Array<BtfEnumValue>(count);
    for (let i = 0; i < count; i++) {
      const name = this.string(this.u32(), `enumerator ${i} name`);
      let value: bigint;
      if (kind === "enum") {
        const raw = this.u32();
        value = signed ? BigInt(raw | 0) : BigInt(raw);
      } else {
        const lo = this.u32();
        const hi = this.u32();
        const bits = (BigInt(hi) << 32n) | BigInt(lo);
        value = signed ? BigInt.asIntN(64, bits) : bits;
      }
      values[i] = { name, value };
    }
    return values;
  }

  private readParams(count: number): BtfParam[] {
    this.need(count * 8, `${count} parameters`);
    const params: BtfParam[] = new Array<BtfParam>(count);
    for (let i = 0; i < count; i++) {
      params[i] = { name: this.string(this.u32(), `parameter ${i} name`), type: this.u32() };
    }
    return params;
  }

  private readSecinfos(count: number): BtfVarSecinfo[] {
    this.need(count * 12, `${count} variables`);
    const vars: BtfVarSecinfo[] = new Array<BtfVarSecinfo>(count);
    for (let i = 0; i < count; i++) {
      vars[i] = { type: this.u32(), offset: this.u32(), size: this.u32() };
    }
    return vars;
  }
}

function checkReferences(types: readonly BtfType[], typeCount: number): void {
  for (const type of types) {
    for (const ref of typeReferences(type)) {
      if (ref >= typeCount) {
        throw new BtfError(
          "BTF_BAD_TYPE_ID",
          `type [${type.id}] (${type.kind.toUpperCase()} '${type.name}') refers to type id ${ref}, but the BTF has ${typeCount} types`,
        );
      }
    }
  }
}

export function parseBtf(bytes: Uint8Array, options: ParseBtfOptions = {}): Btf {
  const header = parseBtfHeader(bytes);
  const dataStart = header.hdrLen;
  const stringBytes = bytes.subarray(dataStart + header.strOff, dataStart + header.strOff + header.strLen);
  const base = options.base;
  checkStrings(stringBytes, base !== undefined);
  const strings = new StringTable(stringBytes);
  const stringsStart = base === undefined ? 0 : base.stringsEnd;
  const firstId = base === undefined ? 1 : base.typeCount;
  const name = (offset: number): string | undefined =>
    base !== undefined && offset < stringsStart ? base.stringAt(offset) : strings.at(offset - stringsStart);
  const typeSection = bytes.subarray(dataStart + header.typeOff, dataStart + header.typeOff + header.typeLen);
  const types = new TypeReader(typeSection, firstId, name, stringsStart + strings.size).readAll();
  checkReferences(types, firstId + types.length);
  return new Btf(types, strings, base);
}
