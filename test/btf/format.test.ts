import { test } from "node:test";
import assert from "node:assert/strict";
import type { Btf } from "../../src/btf/btf.js";
import { fixupDatasecs } from "../../src/btf/datasec.js";
import { BtfError } from "../../src/btf/errors.js";
import {
  btfBytesToJson,
  formatBtfValue,
  formatMapDump,
  mapEntryToJson,
  type MapDumpEntry,
  type MapDumpLayout,
} from "../../src/btf/format.js";
import { parseBtf } from "../../src/btf/parse.js";
import type { ElfFile } from "../../src/elf/index.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureObject, fixtureText } from "./fixtures.js";

// Captured from the kernel by scripts/build-btf-fixtures.sh --capture: the fixture's `fill` program ran with
// BPF_PROG_TEST_RUN, then `bpftool map dump` and `bpftool -j map dump` printed every map.

/** Key/value BTF types of the object's maps, as libbpf would set them on the kernel maps. */
function mapLayouts(elf: ElfFile, raw: Btf): Map<string, MapDumpLayout> {
  const btf = fixupDatasecs(raw, {
    sectionSize: (name) => elf.section(name)?.size,
    variableOffset: (section, name) => {
      const index = elf.section(section)?.index;
      return elf.symbols().find((s) => s.name === name && s.sectionIndex === index)?.value;
    },
  });
  const layouts = new Map<string, MapDumpLayout>();
  for (const info of btf.find(".maps", "datasec")!.vars) {
    const variable = btf.typeOfKind(info.type, "var");
    const definition = btf.typeOfKind(variable.type, "struct");
    const pointee = (member: string) => btf.typeOfKind(definition.members.find((m) => m.name === member)!.type, "ptr").type;
    layouts.set(variable.name, { btf, keyTypeId: pointee("key"), valueTypeId: pointee("value") });
  }
  // Global data maps have no key type; the value is the section's DATASEC.
  for (const section of [".data", ".rodata", ".bss"]) {
    layouts.set(`values_${section.slice(1)}`, { btf, keyTypeId: 0, valueTypeId: btf.find(section, "datasec")!.id });
  }
  return layouts;
}

interface CapturedEntry {
  key: string[];
  value?: string[];
  values?: { cpu: number; value: string[] }[];
  formatted: unknown;
}

const hexBytes = (bytes: string[]) => Uint8Array.from(bytes, (b) => parseInt(b, 16));

function capturedEntries(map: string): { entries: MapDumpEntry[]; formatted: unknown[] } {
  const captured = JSON.parse(fixtureText(`captured/${map}.json`)) as CapturedEntry[];
  return {
    entries: captured.map((e) =>
      e.values !== undefined
        ? { key: hexBytes(e.key), values: e.values.map((v) => hexBytes(v.value)) }
        : { key: hexBytes(e.key), value: hexBytes(e.value ?? []) },
    ),
    formatted: captured.map((e) => e.formatted),
  };
}

const { elf, btf: rawBtf } = fixtureObject("values.bpf.o");
const layouts = mapLayouts(elf, rawBtf);

/**
 * Where we print differently from bpftool v7.1 on purpose (see src/btf/format.ts): the packed enum holding 200
 * is named, and the backslash in "a\"b\\c" is escaped correctly.
 */
function withDeliberateDifferences(bpftoolText: string): string {
  return bpftoolText.replace('"level": -56,', '"level": "HIGH",').replace('"quoted": "a\\"b\\nc",', '"quoted": "a\\"b\\\\c",');
}

test("map dumps print exactly as bpftool printed them", () => {
  assert.equal(layouts.size, 6);
  for (const [map, layout] of layouts) {
    const expected = fixtureText(`captured/${map}.plain.txt`);
    const { entries } = capturedEntries(map);
    assert.equal(formatMapDump(layout, entries), map === "values" ? withDeliberateDifferences(expected) : expected, map);
  }
});

test("the json flavor matches the 'formatted' objects of bpftool -j", () => {
  for (const [map, layout] of layouts) {
    const { entries, formatted } = capturedEntries(map);
    const ours = JSON.parse(formatMapDump(layout, entries, { flavor: "json" })) as unknown[];
    const expected = map === "values" ? (JSON.parse(JSON.stringify(formatted).replace('"level":-56', '"level":"HIGH"').replace('"quoted":"a\\"b\\nc"', '"quoted":"a\\"b\\\\c"')) as unknown[]) : formatted;
    assert.deepEqual(ours, expected, map);
  }
});

test("the plain text of a struct with every member kind", () => {
  const layout = layouts.get("values")!;
  const { entries } = capturedEntries("values");
  const filled = entries[1] as { value: Uint8Array };
  const text = formatBtfValue(layout.btf, layout.valueTypeId, filled.value);
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["{", '    "comm": "bash",', '    "u8": 255,']);
  assert.ok(lines.includes('    "s64": -9223372036854775808,'));
  assert.ok(lines.includes('    "color": "BLUE",'));
  assert.ok(lines.includes('    "ptr": 0xffff888012345678,'));
  assert.ok(lines.includes('    "null_ptr": (nil),'));
  assert.ok(lines.includes('    "not_a_string": [97,98,99,100'));
  assert.ok(lines.includes('        "d": 0xabcdef0123,'));
  assert.equal(lines.at(-2), '    "wide": 0x123456789abcdeffedcba9876543210');
  assert.equal(lines.at(-1), "}");
});

test("the JSON form of a filled value", () => {
  const layout = layouts.get("values")!;
  const { entries } = capturedEntries("values");
  assert.deepEqual(mapEntryToJson(layout, entries[1]!), {
    key: 1,
    value: {
      comm: "bash",
      u8: 255,
      s8: -128,
      u16: 65535,
      s16: -2,
      u32: 4294967295,
      flag: true,
      s32: -2147483648,
      u64: "18446744073709551615",
      s64: "-9223372036854775808",
      one_char: 65,
      color: "BLUE",
      level: "HIGH",
      ptr: "0xffff888012345678",
      null_ptr: "0x0",
      arr: [1, -1, 3],
      bits: { a: 5, b: 17, c: -1, d: "737894400291", e: true },
      u: { word: 16909060, bytes: [4, 3, 2, 1] },
      points: [
        { x: 10, y: -20 },
        { x: 30, y: 40 },
      ],
      raw: [222, 173, 190, 239],
      not_a_string: [97, 98, 99, 100],
      quoted: 'a"b\\c',
      matrix: [
        [1, 2],
        [3, 4],
      ],
      wide: "1512366075204170947332355369683137040",
    },
  });
  const perCpu = layouts.get("per_cpu")!;
  assert.deepEqual(mapEntryToJson(perCpu, capturedEntries("per_cpu").entries[0]!), {
    key: 0,
    values: [
      { cpu: 0, value: { x: 0, y: 0 } },
      { cpu: 1, value: { x: 42, y: -1 } },
    ],
  });
  const data = layouts.get("values_data")!;
  assert.deepEqual(mapEntryToJson(data, capturedEntries("values_data").entries[0]!), {
    value: { g_counter: 8, g_name: "hi!", g_origin: { x: 1, y: 42 } },
  });
});

test("CHAR and BOOL encodings, ENUM64, floats, legacy int bitfields, anonymous members", () => {
  const b = new BtfBuilder();
  const ch = b.int("char", 1, 2);
  const boolean = b.int("_Bool", 1, 4);
  const big = b.enum64("big", [["HUGE", 0xffff_ffff_ffff_fff0n]]);
  const double = b.type("float", "double", 0, 8);
  const nibble = b.int("unsigned int", 4, 0, 4, 0);
  const int = b.int("int", 4, 1);
  const anon = b.composite("union", "", 4, [["word", int, 0]]);
  const tagged = b.ref("type_tag", int, "user");
  const s = b.composite("struct", "mixed", 40, [
    ["c1", ch, 0],
    ["c2", ch, 8],
    ["flag", boolean, 16],
    ["low", nibble, 28],
    ["e1", big, 64],
    ["e2", big, 128],
    ["d", double, 192],
    ["", anon, 256],
    ["t", tagged, 288],
  ]);
  const btf = parseBtf(b.build());
  const bytes = new Uint8Array(40);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x41;
  bytes[1] = 0x05;
  bytes[2] = 1;
  bytes[3] = 0xa0; // bits 28..31 of the struct: the legacy 4-bit int at bit 28 holds 0xa
  view.setBigUint64(8, 0xffff_ffff_ffff_fff0n, true);
  view.setBigUint64(16, 7n, true);
  view.setFloat64(24, 1.5, true);
  view.setInt32(32, -3, true);
  view.setInt32(36, 9, true);
  assert.equal(
    formatBtfValue(btf, s, bytes),
    [
      "{",
      '    "c1": "A",',
      '    "c2": 0x5,',
      '    "flag": true,',
      '    "low": 0xa,',
      '    "e1": "HUGE",',
      '    "e2": 7,',
      '    "d": 1.5,',
      '    "": {',
      '        "word": -3',
      "    },",
      '    "t": 9',
      "}",
    ].join("\n"),
  );
  assert.equal(
    formatBtfValue(btf, s, bytes, { flavor: "json" }),
    '{"c1":"A","c2":"\\u0005","flag":true,"low":"0xa","e1":"HUGE","e2":7,"d":1.5,"":{"word":-3},"t":9}',
  );
  assert.deepEqual(btfBytesToJson(btf, s, bytes), {
    c1: "A",
    c2: "\u0005",
    flag: true,
    low: 10,
    e1: "HUGE",
    e2: "7",
    d: 1.5,
    word: -3,
    t: 9,
  });
});

test("a value shorter than its type is a BtfError naming both sizes", () => {
  const layout = layouts.get("values")!;
  assert.throws(
    () => formatBtfValue(layout.btf, layout.valueTypeId, new Uint8Array(100)),
    (error: unknown) =>
      error instanceof BtfError &&
      error.code === "BTF_VALUE_TOO_SHORT" &&
      error.message === `value is 100 bytes, but type [${layout.valueTypeId}] STRUCT 'value' needs 192`,
  );
});

test("an empty map dumps as an empty list", () => {
  assert.equal(formatMapDump(layouts.get("by_key")!, []), "[]\n");
});

test("bitfields of bool and enum type: hex in bpftool text, booleans and names in JSON", () => {
  const b = new BtfBuilder();
  const boolean = b.int("_Bool", 1, 4);
  const state = b.enum("state", 4, [["IDLE", 1], ["BUSY", 2]]);
  const int = b.int("int", 4, 1);
  const s = b.composite(
    "struct",
    "flags",
    4,
    [
      ["on", boolean, 0, 1],
      ["state", state, 1, 2],
      ["other", state, 3, 2],
      ["delta", int, 5, 3],
    ],
    true,
  );
  const btf = parseBtf(b.build());
  // on = 1, state = 2 (BUSY), other = 3 (no enumerator), delta = 0b111 (-1 as a signed 3-bit field)
  const bytes = Uint8Array.from([0b1111_1101, 0, 0, 0]);
  assert.equal(formatBtfValue(btf, s, bytes, { pretty: false }), '{"on":0x1,"state":0x2,"other":0x3,"delta":0x7}');
  assert.deepEqual(btfBytesToJson(btf, s, bytes), { on: true, state: "BUSY", other: 3, delta: -1 });
});
