import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBtf } from "../../src/btf/parse.js";
import { dumpBtfRaw } from "../../src/btf/raw-dump.js";
import { findMember, memberBits, resolveType, skipModifiers, typeAlignment, typeSize } from "../../src/btf/resolve.js";
import { typeName } from "../../src/btf/type-name.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureObject, fixtureText } from "./fixtures.js";

const { btf } = fixtureObject("values.bpf.o");

test("the fixture's BTF prints exactly as bpftool dumped it", () => {
  assert.equal(dumpBtfRaw(btf), fixtureText("captured/values.btf-raw.txt"));
});

test("finds types by name and kind, and reports member layout", () => {
  const value = btf.find("value", "struct");
  assert.ok(value !== undefined);
  assert.equal(value.size, 192);
  assert.equal(value.members.length, 24);
  assert.deepEqual(
    value.members.slice(0, 3).map((m) => [m.name, typeName(btf, m.type), m.bitOffset]),
    [
      ["comm", "char[16]", 0],
      ["u8", "__u8", 128],
      ["s8", "__s8", 136],
    ],
  );
  assert.equal(btf.find("value", "union"), undefined);
  assert.deepEqual(btf.findAll("point").map((t) => t.kind), ["struct"]);
  assert.equal(btf.find("color", "enum")?.values.map((v) => `${v.name}=${v.value}`).join(","), "RED=0,GREEN=5,BLUE=4294967295");
});

test("bitfields: offsets and widths in bits", () => {
  const bits = btf.find("bits", "struct")!;
  assert.equal(bits.kindFlag, true);
  assert.deepEqual(
    bits.members.map((m) => [m.name, memberBits(btf, m)]),
    [
      ["a", { bitOffset: 0, bitSize: 3, isBitfield: true }],
      ["b", { bitOffset: 3, bitSize: 5, isBitfield: true }],
      ["c", { bitOffset: 8, bitSize: 4, isBitfield: true }],
      ["d", { bitOffset: 12, bitSize: 40, isBitfield: true }],
      ["e", { bitOffset: 52, bitSize: 1, isBitfield: true }],
    ],
  );
  const point = btf.find("point", "struct")!;
  assert.deepEqual(memberBits(btf, point.members[1]!), { bitOffset: 32, bitSize: 32, isBitfield: false });
});

test("sizes, alignment and qualifier/typedef resolution", () => {
  const value = btf.find("value", "struct")!;
  const member = (name: string) => value.members.find((m) => m.name === name)!;
  assert.equal(typeSize(btf, value.id), 192);
  assert.equal(typeSize(btf, member("matrix").type), 16);
  assert.equal(typeSize(btf, member("ptr").type), 8);
  assert.equal(typeSize(btf, member("wide").type), 16);
  assert.equal(typeAlignment(btf, value.id), 16);
  assert.equal(typeAlignment(btf, btf.find("key", "struct")!.id), 4);
  const u32 = member("u32").type;
  assert.equal(btf.type(u32).kind, "typedef");
  assert.equal(resolveType(btf, u32).name, "unsigned int");
  assert.equal(skipModifiers(btf, u32), u32, "typedefs are not modifiers");
  const limit = btf.find("g_limit", "var")!;
  assert.equal(typeName(btf, limit.type), "const volatile __u32");
  assert.equal(resolveType(btf, limit.type).name, "unsigned int");
  assert.throws(() => typeSize(btf, btf.find("fill", "func")!.id), /type \[\d+\] \(FUNC\) has no size/);
});

test("members inside anonymous unions are found with their access path", () => {
  const b = new BtfBuilder();
  const int = b.int("int", 4, 1);
  const anon = b.composite("union", "", 4, [["word", int, 0], ["half", int, 0]]);
  const outer = b.composite("struct", "outer", 8, [["first", int, 0], ["", anon, 32]]);
  const parsed = parseBtf(b.build());
  const found = findMember(parsed, parsed.typeOfKind(outer, "struct"), "half");
  assert.deepEqual(found && { name: found.member.name, bitOffset: found.bitOffset, path: found.path }, {
    name: "half",
    bitOffset: 32,
    path: [1, 1],
  });
  assert.equal(findMember(parsed, parsed.typeOfKind(outer, "struct"), "missing"), undefined);
});

test("C spellings of types", () => {
  const b = new BtfBuilder();
  const char = b.int("char", 1, 1);
  const constChar = b.ref("const", char);
  const charPtr = b.ref("ptr", constChar);
  const constPtr = b.ref("const", b.ref("ptr", char));
  const int = b.int("int", 4, 1);
  const index = b.int("__ARRAY_SIZE_TYPE__", 4);
  const proto = b.type("func_proto", "", 3, int, [b.str("p"), charPtr, b.str(""), int, 0, 0]);
  const fnPtr = b.ref("ptr", proto);
  const arrayOfFnPtr = b.array(fnPtr, index, 4);
  const ptrToArray = b.ref("ptr", b.array(int, index, 8));
  const fwd = b.type("fwd", "later", 0, 0, [], true);
  const tagged = b.ref("type_tag", b.ref("ptr", int), "user");
  const parsed = parseBtf(b.build());
  assert.deepEqual(
    [charPtr, constPtr, fnPtr, arrayOfFnPtr, ptrToArray, fwd, tagged, 0].map((id) => typeName(parsed, id)),
    [
      "const char *",
      "char *const",
      "int (*)(const char *p, int, ...)",
      "int (*[4])(const char *p, int, ...)",
      "int (*)[8]",
      "union later",
      "int *",
      "void",
    ],
  );
});

test("kinds clang 14 does not emit: ENUM64, FLOAT, CHAR/BOOL ints, TYPE_TAG, DECL_TAG, signed enums", () => {
  const b = new BtfBuilder();
  const big = b.enum64("big", [["HUGE", 0xffff_ffff_ffff_fff0n], ["ONE", 1n]]);
  const signed64 = b.enum64("s64e", [["MINUS", -5n]], true);
  const signedEnum = b.enum("level", 4, [["NEG", -1]], true);
  const double = b.type("float", "double", 0, 8);
  const boolean = b.int("_Bool", 1, 4);
  const ch = b.int("char", 1, 2);
  const int = b.int("int", 4, 1);
  const tag = b.ref("type_tag", int, "rcu");
  const decl = b.type("decl_tag", "bpf_kfunc", 0, int, [0xffffffff]);
  const parsed = parseBtf(b.build());
  assert.deepEqual(parsed.typeOfKind(big, "enum64").values, [
    { name: "HUGE", value: 0xffff_ffff_ffff_fff0n },
    { name: "ONE", value: 1n },
  ]);
  assert.equal(parsed.typeOfKind(signed64, "enum64").values[0]?.value, -5n);
  assert.equal(parsed.typeOfKind(signedEnum, "enum").values[0]?.value, -1n);
  assert.equal(parsed.typeOfKind(double, "float").size, 8);
  assert.equal(parsed.typeOfKind(boolean, "int").isBool, true);
  assert.equal(parsed.typeOfKind(ch, "int").isChar, true);
  assert.equal(resolveType(parsed, tag).id, int);
  assert.equal(parsed.typeOfKind(decl, "decl_tag").componentIdx, -1);
  assert.equal(
    dumpBtfRaw(parsed),
    [
      "[1] ENUM64 'big' encoding=UNSIGNED size=8 vlen=2",
      "\t'HUGE' val=18446744073709551600ULL",
      "\t'ONE' val=1ULL",
      "[2] ENUM64 's64e' encoding=SIGNED size=8 vlen=1",
      "\t'MINUS' val=-5LL",
      "[3] ENUM 'level' encoding=SIGNED size=4 vlen=1",
      "\t'NEG' val=-1",
      "[4] FLOAT 'double' size=8",
      "[5] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL",
      "[6] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR",
      "[7] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED",
      "[8] TYPE_TAG 'rcu' type_id=7",
      "[9] DECL_TAG 'bpf_kfunc' type_id=7 component_idx=-1",
      "",
    ].join("\n"),
  );
});

test("split BTF continues the base's type ids and string offsets", () => {
  const base = new BtfBuilder();
  const int = base.int("int", 4, 1);
  base.composite("struct", "task", 4, [["pid", int, 0]]);
  const baseBtf = parseBtf(base.build());
  assert.equal(baseBtf.typeCount, 3);
  const split = new BtfBuilder({ firstId: baseBtf.typeCount, stringsStart: baseBtf.stringsEnd });
  const ptr = split.ref("ptr", 2);
  const module = split.composite("struct", "module_thing", 16, [["task", ptr, 0], ["count", int, 64]]);
  const moduleBtf = parseBtf(split.build(), { base: baseBtf });
  assert.equal(ptr, 3);
  assert.equal(moduleBtf.firstId, 3);
  assert.equal(moduleBtf.typeCount, 5);
  assert.equal(moduleBtf.type(1).name, "int");
  assert.equal(typeName(moduleBtf, ptr), "struct task *");
  assert.equal(typeSize(moduleBtf, module), 16);
  assert.equal(moduleBtf.find("task", "struct")?.id, 2, "base types are found through split BTF");
  assert.deepEqual(moduleBtf.types.map((t) => t.id), [3, 4], "own types only");
  assert.match(dumpBtfRaw(moduleBtf), /^\[3\] PTR '\(anon\)' type_id=2\n\[4\] STRUCT 'module_thing' size=16 vlen=2\n/);
});
