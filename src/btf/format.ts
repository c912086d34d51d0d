// Shows map keys/values and event bytes through their BTF types, in two forms:
//  - bpftool's text, as `bpftool map dump` prints it (the "plain" flavor) or inside `bpftool -j` output's
//    "formatted" object (the "json" flavor);
//  - a JSON value for our own --json outputs: objects, arrays, strings, numbers, with integers wider than 32
//    bits as decimal strings so no precision is lost.
//
// Known, deliberate differences from bpftool (v7.1), each where bpftool misreads the data:
//  - a bool is read with its own size (bpftool reads 4 bytes, so a false bool followed by non-zero bytes
//    prints true);
//  - enum values are matched to enumerators by their raw bits (bpftool sign-extends the value but not the
//    enumerator, so a 1-byte enum holding 200 prints -56 instead of its name);
//  - a backslash in a string is written "\\" (bpftool writes "\n");
//  - floats print as numbers and type tags are skipped like qualifiers (bpftool prints "(unsupported-kind").

import type { Btf } from "./btf.js";
import { BpftoolJsonWriter } from "./json-writer.js";
import { decodeBtfValue, type BtfValue } from "./value.js";

export type BpftoolFlavor = "plain" | "json";

export interface FormatOptions {
  /** "plain" (default) is `bpftool map dump`; "json" is the "formatted" part of `bpftool -j map dump`. */
  flavor?: BpftoolFlavor;
  /** Indented layout; defaults to true for plain, false for json (as bpftool without -p). */
  pretty?: boolean;
}

function printable(code: number): boolean {
  return code >= 0x20 && code < 0x7f;
}

function writeValue(out: BpftoolJsonWriter, value: BtfValue, flavor: BpftoolFlavor): void {
  switch (value.kind) {
    case "struct":
      out.startObject();
      for (const [name, field] of value.fields) {
        out.name(name);
        writeValue(out, field, flavor);
      }
      out.endObject();
      return;
    case "array":
      out.startArray();
      for (const item of value.items) writeValue(out, item, flavor);
      out.endArray();
      return;
    case "string":
      out.string(value.value);
      return;
    case "int":
      out.raw(value.value.toString());
      return;
    case "bits": {
      const text = `0x${value.raw.toString(16)}`;
      out.raw(flavor === "plain" ? text : `"${text}"`);
      return;
    }
    case "char":
      if (printable(value.code)) out.raw(`"${String.fromCharCode(value.code)}"`);
      else if (flavor === "plain") out.raw(`0x${value.code.toString(16)}`);
      else out.raw(`"\\u00${value.code.toString(16).padStart(2, "0")}"`);
      return;
    case "bool":
      out.raw(value.value ? "true" : "false");
      return;
    case "enum":
      if (value.name !== undefined) out.string(value.name);
      else out.raw(value.value.toString());
      return;
    case "pointer":
      if (flavor === "json") out.raw(value.value.toString());
      else out.raw(value.value === 0n ? "(nil)" : `0x${value.value.toString(16)}`);
      return;
    case "float":
      out.raw(Number.isFinite(value.value) ? String(value.value) : `"${value.value}"`);
      return;
    case "var":
      out.startObject();
      out.name(value.name);
      writeValue(out, value.value, flavor);
      out.endObject();
      return;
    case "datasec":
      out.startObject();
      out.name(value.name);
      out.startArray();
      for (const item of value.vars) writeValue(out, item, flavor);
      out.endArray();
      out.endObject();
      return;
    case "invalid":
      out.raw(value.text);
      return;
  }
}

/** One value as bpftool prints it at the top level. */
export function formatBtfValue(btf: Btf, typeId: number, bytes: Uint8Array, options: FormatOptions = {}): string {
  const flavor = options.flavor ?? "plain";
  const out = new BpftoolJsonWriter(options.pretty ?? flavor === "plain");
  writeValue(out, decodeBtfValue(btf, typeId, bytes), flavor);
  return out.toString();
}

export interface MapDumpLayout {
  btf: Btf;
  /** BTF type of the key; 0 when the map has none (global data maps), and bpftool then omits "key". */
  keyTypeId: number;
  valueTypeId: number;
}

/** A map entry; per-CPU maps give one value per possible CPU. */
export type MapDumpEntry =
  | { key: Uint8Array; value: Uint8Array }
  | { key: Uint8Array; values: readonly Uint8Array[] };

/** The whole text of `bpftool map dump` for a map with BTF, trailing newline included. */
export function formatMapDump(layout: MapDumpLayout, entries: Iterable<MapDumpEntry>, options: FormatOptions = {}): string {
  const flavor = options.flavor ?? "plain";
  const out = new BpftoolJsonWriter(options.pretty ?? flavor === "plain");
  const write = (typeId: number, bytes: Uint8Array) => writeValue(out, decodeBtfValue(layout.btf, typeId, bytes), flavor);
  out.startArray();
  for (const entry of entries) {
    out.startObject();
    if (layout.keyTypeId !== 0) {
      out.name("key");
      write(layout.keyTypeId, entry.key);
    }
    if ("values" in entry) {
      out.name("values");
      out.startArray();
      entry.values.forEach((bytes, cpu) => {
        out.startObject();
        out.name("cpu");
        out.raw(String(cpu));
        out.name("value");
        write(layout.valueTypeId, bytes);
        out.endObject();
      });
      out.endArray();
    } else {
      out.name("value");
      write(layout.valueTypeId, entry.value);
    }
    out.endObject();
  }
  out.endArray();
  return `${out.toString()}\n`;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Integers up to 32 bits as numbers, wider ones as decimal strings (JSON numbers lose precision past 2^53). */
function integer(value: bigint, bits: number): JsonValue {
  return bits <= 32 ? Number(value) : value.toString();
}

/** The JSON form of a decoded value. Anonymous struct/union members are merged into their parent, as C does. */
export function btfValueToJson(value: BtfValue): JsonValue {
  switch (value.kind) {
    case "struct": {
      const object: { [key: string]: JsonValue } = {};
      for (const [name, field] of value.fields) {
        const json = btfValueToJson(field);
        if (name !== "") object[name] = json;
        else if (json !== null && typeof json === "object" && !Array.isArray(json)) Object.assign(object, json);
      }
      return object;
    }
    case "array":
      return value.items.map(btfValueToJson);
    case "string":
      return value.value;
    case "int":
      return integer(value.value, value.bits);
    case "bits": {
      const meaning = value.meaning;
      if (meaning !== undefined && "bool" in meaning) return meaning.bool;
      if (meaning !== undefined && meaning.enumerator !== undefined) return meaning.enumerator;
      return integer(value.signed ? BigInt.asIntN(value.bits, value.raw) : value.raw, value.bits);
    }
    case "char":
      return String.fromCharCode(value.code);
    case "bool":
      return value.value;
    case "enum":
      return value.name ?? integer(value.value, value.size * 8);
    case "pointer":
      return `0x${value.value.toString(16)}`;
    case "float":
      return Number.isFinite(value.value) ? value.value : String(value.value);
    case "var":
      return btfValueToJson(value.value);
    case "datasec": {
      const object: { [key: string]: JsonValue } = {};
      for (const item of value.vars) {
        if (item.kind === "var") object[item.name] = btfValueToJson(item.value);
      }
      return object;
    }
    case "invalid":
      return null;
  }
}

/** Decodes and converts in one step: the JSON form of `bytes` read as type `typeId`. */
export function btfBytesToJson(btf: Btf, typeId: number, bytes: Uint8Array): JsonValue {
  return btfValueToJson(decodeBtfValue(btf, typeId, bytes));
}

/** The JSON form of a map entry: {key, value}, or {key, values: [{cpu, value}]} for per-CPU maps. */
export function mapEntryToJson(layout: MapDumpLayout, entry: MapDumpEntry): JsonValue {
  const result: { [key: string]: JsonValue } = {};
  if (layout.keyTypeId !== 0) result["key"] = btfBytesToJson(layout.btf, layout.keyTypeId, entry.key);
  if ("values" in entry) {
    result["values"] = entry.values.map((bytes, cpu) => ({ cpu, value: btfBytesToJson(layout.btf, layout.valueTypeId, bytes) }));
  } else {
    result["value"] = btfBytesToJson(layout.btf, layout.valueTypeId, entry.value);
  }
  return result;
}
