// The matching relations on their own: field compatibility, type compatibility (exists/size/id) and the
// stricter type match (TYPE_MATCHES); and essential names.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { essentialName, fieldsAreCompatible, typesAreCompatible, typesMatch, CoreError } from "../../src/core/index.js";
import { BtfBuilder } from "./support/btf-builder.js";

describe("essential names", () => {
  const cases: [string, string][] = [
    ["task_struct", "task_struct"],
    ["task_struct___v2", "task_struct"],
    ["task_struct___v2___x", "task_struct___v2"],
    ["a___b", "a"],
    ["a____b", "a____b"], // four underscores: the flavour may not start with one
    ["a___", "a___"], // nothing after the separator
    ["___a", "___a"], // nothing before it
    ["_a___b", "_a"],
    ["", ""],
  ];
  for (const [name, essential] of cases) {
    test(`${JSON.stringify(name)} -> ${JSON.stringify(essential)}`, () => assert.equal(essentialName(name), essential));
  }
});

describe("field compatibility", () => {
  const b = new BtfBuilder();
  const i32 = b.int("int", 4, true);
  const u8 = b.int("u8", 1);
  const legacyBitfield = b.int("int", 4, true, 3);
  const f32 = b.float("float", 4);
  const p = b.ptr(i32);
  const s = b.struct("s", 4, [["a", i32, 0]]);
  const u = b.union("u", 4, [["a", i32, 0]]);
  const ps = b.ptr(s);
  const e1 = b.enum("e___a", 4, { X: 1 });
  const e2 = b.enum("e___b", 8, { Y: 1 }, { wide: true });
  const e3 = b.enum("other", 4, { Z: 1 });
  const anonEnum = b.enum("", 4, { W: 1 });
  const arr = b.array(i32, 4);
  const arr8 = b.array(u8, 9);
  const arrPtr = b.array(p, 2);
  const constInt = b.const(i32);
  const typedefInt = b.typedef("myint", constInt);
  const btf = b.build();
  const compat = (x: number, y: number): boolean => fieldsAreCompatible(btf, x, btf, y);

  test("any two structs/unions, pointers, floats; ints of any size and sign", () => {
    assert.ok(compat(s, u));
    assert.ok(compat(p, ps));
    assert.ok(compat(f32, f32));
    assert.ok(compat(i32, u8));
  });
  test("qualifiers and typedefs are looked through", () => assert.ok(compat(typedefInt, u8)));
  test("enums by essential name, or when either is anonymous; enum and enum64 mix", () => {
    assert.ok(compat(e1, e2));
    assert.ok(!compat(e1, e3));
    assert.ok(compat(anonEnum, e3));
  });
  test("arrays by element type, any length", () => {
    assert.ok(compat(arr, arr8));
    assert.ok(!compat(arr, arrPtr));
  });
  test("different kinds and legacy bitfield ints do not match", () => {
    assert.ok(!compat(i32, p));
    assert.ok(!compat(i32, f32));
    assert.ok(!compat(legacyBitfield, i32));
  });
});

describe("type compatibility (type_exists, type_size, type_id_target)", () => {
  const b = new BtfBuilder();
  const i32 = b.int("int", 4, true);
  const i64 = b.int("long", 8, true);
  const s = b.struct("s", 4, [["a", i32, 0]]);
  const u = b.union("s", 4, [["a", i32, 0]]);
  const pi = b.ptr(i32);
  const pl = b.ptr(i64);
  const ps = b.ptr(s);
  const fn1 = b.funcProto(i32, [pi]);
  const fn1b = b.funcProto(i64, [pl]);
  const fn2 = b.funcProto(i32, [pi, pi]);
  const fnS = b.funcProto(i32, [ps]);
  const td = b.typedef("s_t", s);
  const tdu = b.typedef("s_t", u);
  const fwd = b.fwd("s");
  const legacy = b.int("int", 4, true, 1);
  const btf = b.build();
  const compat = (x: number, y: number): boolean => typesAreCompatible(btf, x, btf, y);

  test("kinds must agree all the way down; sizes, signedness and members do not matter", () => {
    assert.ok(compat(i32, i64));
    assert.ok(!compat(s, u));
    assert.ok(compat(pi, pl));
    assert.ok(!compat(pi, ps));
    assert.ok(compat(td, td));
    assert.ok(!compat(td, tdu));
    assert.ok(!compat(s, fwd));
  });
  test("function prototypes: same arity, compatible return and parameter types", () => {
    assert.ok(compat(fn1, fn1b));
    assert.ok(!compat(fn1, fn2));
    assert.ok(!compat(fn1, fnS));
  });
  test("legacy bitfield ints are not compatible", () => assert.ok(!compat(legacy, i32)));
});

describe("type match (type_matches)", () => {
  const b = new BtfBuilder();
  const i32 = b.int("int", 4, true);
  const u32 = b.int("unsigned int", 4);
  const i64 = b.int("long", 8, true);
  const f = b.float("float", 4);
  const nodePtr = b.ptr(b.nextId + 1); // to the struct created next
  const nodeId = b.struct("node", 16, [["next", nodePtr, 0], ["val", i32, 64]]);
  const localNodePtr = b.ptr(b.nextId + 1);
  const localNode = b.struct("node___l", 12, [["val", i32, 0], ["next", localNodePtr, 32]]); // reordered: still matches
  const signNode = b.struct("node___sign", 4, [["val", u32, 0]]);
  const sizeNode = b.struct("node___size", 8, [["val", i64, 0]]);
  const extraNode = b.struct("node___extra", 8, [["val", i32, 0], ["nope", i32, 32]]);
  const fwdNode = b.fwd("node");
  const ptrToFwd = b.ptr(fwdNode);
  const holderFwd = b.struct("holder", 8, [["p", ptrToFwd, 0]]);
  const holderStruct = b.struct("holder___s", 8, [["p", nodePtr, 0]]);
  const holderInline = b.struct("holder___inline", 16, [["p", nodeId, 0]]);
  const holderFwdInline = b.struct("holder___fwdinline", 16, [["p", fwdNode, 0]]);
  const e4 = b.enum("e", 4, { A: 1, B: 2 });
  const e4b = b.enum("e___b", 4, { B___x: 7 });
  const e8 = b.enum("e___8", 8, { A: 1 }, { wide: true });
  const e4c = b.enum("e___c", 4, { C: 1 });
  const arr2 = b.array(i32, 2);
  const arr3 = b.array(i32, 3);
  const withArr2 = b.struct("arr", 8, [["a", arr2, 0]]);
  const withArr3 = b.struct("arr___3", 12, [["a", arr3, 0]]);
  const withFloat = b.struct("fl", 4, [["x", f, 0]]);
  const btf = b.build();
  const matches = (x: number, y: number): boolean => typesMatch(btf, x, btf, y);

  test("members are found by name in any order; ints must agree in size and sign", () => {
    assert.ok(matches(localNode, nodeId));
    assert.ok(!matches(signNode, nodeId));
    assert.ok(!matches(sizeNode, nodeId));
    assert.ok(!matches(extraNode, nodeId));
  });
  test("behind a pointer, a struct and a forward declaration of it match", () => {
    assert.ok(matches(holderFwd, holderStruct));
    assert.ok(matches(holderStruct, holderFwd));
    assert.ok(!matches(holderInline, holderFwdInline));
  });
  test("enums: same size, every local enumerator named in the target; enum64 may stand in", () => {
    assert.ok(matches(e4b, e4));
    assert.ok(!matches(e4, e4b));
    assert.ok(!matches(e8, e4));
    assert.ok(!matches(e4c, e4));
  });
  test("arrays must have the same length", () => assert.ok(!matches(withArr2, withArr3)));
  test("floats never match (libbpf treats them as unexpected)", () => assert.ok(!matches(withFloat, withFloat)));
});

test("a reference loop deeper than libbpf's limit is a CORE_BAD_BTF error, not a hang", () => {
  const b = new BtfBuilder();
  const first = b.nextId;
  for (let i = 0; i < 40; i++) b.ptr(first + i + 1);
  b.int("int", 4, true);
  const btf = b.build();
  assert.throws(() => typesAreCompatible(btf, first, btf, first), (e: unknown) => e instanceof CoreError && e.code === "CORE_BAD_BTF");
  assert.throws(() => typesMatch(btf, first, btf, first), (e: unknown) => e instanceof CoreError && e.code === "CORE_BAD_BTF");
});
