// .BTF.ext: per-section func_info, line_info and CO-RE relocation records of a BPF object. Every string
// (section names, file names, source lines, access strings) lives in the object's .BTF string section.
//
// Instruction offsets are kept as stored: byte offsets from the start of the ELF section (libbpf divides
// them by 8 when it splits programs).

import { hex } from "../elf/bytes.js";
import type { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import { BTF_MAGIC, BTF_VERSION } from "./parse.js";

export interface FuncInfo {
  /** Byte offset of the function's first instruction in its section. */
  insnOff: number;
  /** The FUNC type. */
  typeId: number;
}

export interface LineInfo {
  insnOff: number;
  fileName: string;
  /** The source line's text. */
  line: string;
  lineNumber: number;
  column: number;
}

/** bpf_core_relo_kind values. */
export const CORE_RELO_KINDS = [
  "field_byte_offset",
  "field_byte_size",
  "field_exists",
  "field_signed",
  "field_lshift_u64",
  "field_rshift_u64",
  "type_id_local",
  "type_id_target",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
] as const;

export type CoreReloKind = (typeof CORE_RELO_KINDS)[number];

export interface CoreRelo {
  insnOff: number;
  /** The local (object BTF) root type of the access. */
  typeId: number;
  /** The raw access string, e.g. "0:1:2" (member/array indices) or an enumerator index. */
  accessString: string;
  kind: CoreReloKind;
}

export interface BtfExtSection<T> {
  /** The ELF section the records apply to, e.g. "uprobe/libc.so.6:malloc" or ".text". */
  section: string;
  records: T[];
}

export interface BtfExt {
  funcInfo: BtfExtSection<FuncInfo>[];
  lineInfo: BtfExtSection<LineInfo>[];
  coreRelos: BtfExtSection<CoreRelo>[];
}

const HEADER_MIN = 24;
const HEADER_WITH_CORE = 32;
const FUNC_INFO_MIN = 8;
const LINE_INFO_MIN = 16;
const CORE_RELO_MIN = 16;

/** Reads one info block: a u32 record size, then {sec_name_off, num_info, records...} groups. */
function readInfoBlock<T>(
  btf: Btf,
  view: DataView,
  start: number,
  length: number,
  what: string,
  minRecordSize: number,
  readRecord: (at: number, where: () => string) => T,
): BtfExtSection<T>[] {
  if (length === 0) return [];
  const end = start + length;
  if (length < 4) throw new BtfError("BTF_BAD_RECORD", `.BTF.ext ${what}: ${length} bytes, too short for the record size`);
  const recordSize = view.getUint32(start, true);
  if (recordSize < minRecordSize || recordSize % 4 !== 0) {
    throw new BtfError(
      "BTF_BAD_RECORD",
      `.BTF.ext ${what}: record size ${recordSize} is invalid (at least ${minRecordSize}, a multiple of 4)`,
    );
  }
  const sections: BtfExtSection<T>[] = [];
  let at = start + 4;
  while (at < end) {
    if (end - at < 8) {
      throw new BtfError("BTF_TRUNCATED", `.BTF.ext ${what}: section header at ${hex(at)} is truncated`);
    }
    const nameOff = view.getUint32(at, true);
    const count = view.getUint32(at + 4, true);
    const section = btf.stringAt(nameOff);
    if (section === undefined) {
      throw new BtfError("BTF_BAD_STRING", `.BTF.ext ${what}: section name offset ${hex(nameOff)} is outside the BTF strings`);
    }
    at += 8;
    if (count === 0 || count * recordSize > end - at) {
      throw new BtfError(
        "BTF_BAD_RECORD",
        `.BTF.ext ${what} for section ${section}: ${count} records of ${recordSize} bytes do not fit in the ${hex(end - at)} bytes left`,
      );
    }
    const records: T[] = new Array<T>(count);
    for (let i = 0; i < count; i++) {
      records[i] = readRecord(at, () => `.BTF.ext ${what} for section ${section}, record ${i}`);
      at += recordSize;
    }
    sections.push({ section, records });
  }
  return sections;
}

function requireString(btf: Btf, offset: number, where: () => string, what: string): string {
  const found = btf.stringAt(offset);
  if (found === undefined) {
    throw new BtfError("BTF_BAD_STRING", `${where()}: ${what} offset ${hex(offset)} is outside the BTF strings`);
  }
  return found;
}

function requireTypeId(btf: Btf, id: number, where: () => string): number {
  if (id >= btf.typeCount) {
    throw new BtfError("BTF_BAD_TYPE_ID", `${where()}: type id ${id} is out of range (the BTF has ${btf.typeCount} types)`);
  }
  return id;
}

/** Parses a .BTF.ext section against the object's parsed .BTF (whose strings it uses). */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  if (bytes.length < HEADER_MIN) {
    throw new BtfError("BTF_TRUNCATED", `.BTF.ext header truncated: ${bytes.length} bytes, needs ${HEADER_MIN}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    throw new BtfError("BTF_BAD_MAGIC", `bad .BTF.ext magic ${hex(magic)}, expected ${hex(BTF_MAGIC)}`);
  }
  const version = view.getUint8(2);
  if (version !== BTF_VERSION) {
    throw new BtfError("BTF_UNSUPPORTED", `.BTF.ext version ${version} is not supported (expected ${BTF_VERSION})`);
  }
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < HEADER_MIN || hdrLen > bytes.length) {
    throw new BtfError("BTF_TRUNCATED", `.BTF.ext hdr_len ${hdrLen} is invalid for a ${bytes.length}-byte section`);
  }
  const block = (offsetAt: number, name: string): [number, number] => {
    if (offsetAt + 8 > hdrLen) return [0, 0];
    const off = view.getUint32(offsetAt, true);
    const len = view.getUint32(offsetAt + 4, true);
    const available = bytes.length - hdrLen;
    if (off > available || len > available - off) {
      throw new BtfError(
        "BTF_OUT_OF_BOUNDS",
        `.BTF.ext ${name} at ${hex(off)}+${hex(len)} extends past the end of the section (${hex(available)} bytes after the header)`,
      );
    }
    return [hdrLen + off, len];
  };
  const [funcStart, funcLen] = block(8, "func_info");
  const [lineStart, lineLen] = block(16, "line_info");
  const [coreStart, coreLen] = hdrLen >= HEADER_WITH_CORE ? block(24, "core_relo") : [0, 0];

  const funcInfo = readInfoBlock(btf, view, funcStart, funcLen, "func_info", FUNC_INFO_MIN, (at, where) => ({
    insnOff: view.getUint32(at, true),
    typeId: requireTypeId(btf, view.getUint32(at + 4, true), where),
  }));
  const lineInfo = readInfoBlock(btf, view, lineStart, lineLen, "line_info", LINE_INFO_MIN, (at, where) => {
    const lineCol = view.getUint32(at + 12, true);
    return {
      insnOff: view.getUint32(at, true),
      fileName: requireString(btf, view.getUint32(at + 4, true), where, "file name"),
      line: requireString(btf, view.getUint32(at + 8, true), where, "line"),
      lineNumber: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const coreRelos = readInfoBlock(btf, view, coreStart, coreLen, "core_relo", CORE_RELO_MIN, (at, where) => {
    const kindNumber = view.getUint32(at + 12, true);
    const kind = CORE_RELO_KINDS[kindNumber];
    if (kind === undefined) throw new BtfError("BTF_BAD_RECORD", `${where()}: unknown CO-RE relocation kind ${kindNumber}`);
    return {
      insnOff: view.getUint32(at, true),
      typeId: requireTypeId(btf, view.getUint32(at + 4, true), where),
      accessString: requireString(btf, view.getUint32(at + 8, true), where, "access string"),
      kind,
    };
  });
  return { funcInfo, lineInfo, coreRelos };
}
