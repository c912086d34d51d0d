// Each relocation kind and each matching rule on hand-made BTF, including the cases compilers rarely emit:
// flavour ambiguity, candidate pruning, enum64, over-wide bitfields, instructions that do not hold what the
// relocation expects.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Btf } from "../../src/btf/btf.js";
import type { CoreRelo, CoreReloKind } from "../../src/btf/ext.js";
import {
  applyCoreRelocations,
  CoreError,
  CoreRelocator,
  CoreTarget,
  isPoisonedCall,
  type CoreErrorCode,
  type CoreRelocationReport,
} from "../../src/core/index.js";
import { insn, lddw, lddwValue, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { BtfBuilder } from "./support/btf-builder.js";

const relo = (kind: CoreReloKind, typeId: number, accessString: string, insnIndex = 0): CoreRelo => ({
  insnOff: insnIndex * 8,
  typeId,
  accessString,
  kind,
});

const movImm = (imm: number): Insn => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 1, 0, 0, imm);
const ldx = (size: number, off: number): Insn => insn(op.BPF_LDX | op.BPF_MEM | size, 0, 1, off);

/** One relocation applied to one instruction (or an lddw pair); returns the patched program and report. */
function apply(program: Insn[], r: CoreRelo, local: Btf, target: Btf | CoreTarget): { insns: Insn[]; report: CoreRelocationReport } {
  const insns = [...program];
  return { insns, report: applyCoreRelocations(insns, [r], local, target) };
}

function throwsCode(fn: () => unknown, code: CoreErrorCode, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CoreError, `expected a CoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

// Local view: struct task___l { int pid; u64 start; struct { u32 flags; }; char name[4]; int tail[]; }
function localBtf(): { btf: Btf; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const u64 = b.int("u64", 8);
  const u32 = b.int("u32", 4);
  const char = b.int("char", 1, true);
  const anon = b.struct("", 4, [["flags", u32, 0]]);
  const name = b.array(char, 4);
  const tail = b.array(int, 0);
  const task = b.struct("task___l", 32, [
    ["pid", int, 0],
    ["start", u64, 64],
    ["", anon, 128],
    ["name", name, 160],
    ["tail", tail, 192],
  ]);
  const state = b.enum("state___l", 4, { RUN___l: 0, SLEEP___l: 1, ZOMBIE___l: 2 });
  const wide = b.enum("wide___l", 8, { BIG___l: 1 }, { wide: true });
  const anonStruct = b.struct("", 4, [["x", int, 0]]);
  return { btf: b.build(), ids: { int, u64, task, state, wide, anonStruct } };
}

// Target: struct task { u64 pad; u32 start; int pid; u32 flags (in an anonymous union); char name[8]; int tail[]; }
function targetBtf(): { btf: Btf; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const int = b.int("int", 4, true);
  const u32 = b.int("unsigned int", 4);
  const u64 = b.int("unsigned long long", 8);
  const char = b.int("char", 1, true);
  const inner = b.union("", 4, [["flags", u32, 0], ["raw", int, 0]]);
  const name = b.array(char, 8);
  const tail = b.array(int, 0);
  const task = b.struct("task", 40, [
    ["pad", u64, 0],
    ["start", u32, 64],
    ["pid", int, 96],
    ["", inner, 128],
    ["name", name, 160],
    ["tail", tail, 224],
  ]);
  const state = b.enum("state", 4, { RUN: 5, ZOMBIE: 0x90000000 });
  const wide = b.enum("wide", 8, { BIG: 0x1122334455667788n }, { wide: true });
  return { btf: b.build(), ids: { task, state, wide, u32 } };
}

const local = localBtf();
const target = targetBtf();

describe("field relocations", () => {
  test("byte offset: found by name, through anonymous members, patched into an ALU immediate", () => {
    const { insns, report } = apply([movImm(0)], relo("field_byte_offset", local.ids.task!, "0:0"), local.btf, target.btf);
    assert.equal(insns[0]!.imm, 12);
    assert.equal(report.results[0]!.target, "struct task.pid (0:2 @ offset 12)");
    const flags = apply([movImm(16)], relo("field_byte_offset", local.ids.task!, "0:2:0"), local.btf, target.btf);
    assert.equal(flags.insns[0]!.imm, 16);
    assert.equal(flags.report.results[0]!.target, "struct task.flags (0:3:0 @ offset 16)");
  });

  test("byte offset: array element and the root index", () => {
    assert.equal(apply([movImm(23)], relo("field_byte_offset", local.ids.task!, "0:3:3"), local.btf, target.btf).insns[0]!.imm, 23);
    // Element 2 of the root: 2 * sizeof(target struct) + offset of pid.
    assert.equal(apply([movImm(64)], relo("field_byte_offset", local.ids.task!, "2:0"), local.btf, target.btf).insns[0]!.imm, 92);
  });

  test("byte offset: a flexible array may be indexed past its zero length, a fixed one may not", () => {
    assert.equal(apply([movImm(36)], relo("field_byte_offset", local.ids.task!, "0:4:3"), local.btf, target.btf).insns[0]!.imm, 40);
    throwsCode(() => apply([movImm(0)], relo("field_byte_offset", local.ids.task!, "0:3:4"), local.btf, target.btf), "CORE_BAD_ACCESS", /past the end/);
  });

  test("byte size, exists, signed", () => {
    const value = (kind: CoreReloKind, access: string, imm: number): number =>
      apply([movImm(imm)], relo(kind, local.ids.task!, access), local.btf, target.btf).insns[0]!.imm;
    assert.equal(value("field_byte_size", "0:1", 8), 4);
    assert.equal(value("field_byte_size", "0:3", 4), 8);
    assert.equal(value("field_exists", "0:1", 1), 1);
    assert.equal(value("field_signed", "0:0", 1), 1);
    assert.equal(value("field_signed", "0:2:0", 0), 0);
  });

  test("signedness or shifts of an array element access are refused", () => {
    throwsCode(() => apply([movImm(1)], relo("field_signed", local.ids.task!, "0:3:1"), local.btf, target.btf), "CORE_UNSUPPORTED");
  });

  test("a field missing from the target poisons, except for field_exists which becomes 0", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, true);
    const task = b.struct("task___other", 8, [["pid", int, 0], ["gone", int, 32]]);
    const other = b.build();
    const exists = apply([movImm(1)], relo("field_exists", task, "0:1"), other, target.btf);
    assert.equal(exists.insns[0]!.imm, 0);
    assert.equal(exists.report.poisoned.length, 0);
    const offset = apply([movImm(4)], relo("field_byte_offset", task, "0:1"), other, target.btf);
    assert.ok(isPoisonedCall(offset.insns[0]!));
    assert.match(offset.report.poisoned[0]!.reason, /task___other\.gone .* no such field .* 1 candidate 'task'/);
  });

  test("a field of an incompatible type does not match (int vs pointer)", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, true);
    const ptr = b.ptr(int);
    const task = b.struct("task", 8, [["pid", ptr, 0]]);
    const report = apply([movImm(0)], relo("field_byte_offset", task, "0:0"), b.build(), target.btf).report;
    assert.equal(report.poisoned.length, 1);
  });

  test("bitfields: offset, size and shifts from the target's bit positions; values not checked against the insn", () => {
    const lb = new BtfBuilder();
    const u32 = lb.int("unsigned int", 4);
    const flags = lb.struct("flags", 4, [["a", u32, 0, 3], ["b", u32, 3, 5]]);
    const tb = new BtfBuilder();
    const tu32 = tb.int("unsigned int", 4);
    const tu16 = tb.int("unsigned short", 2);
    tb.struct("flags", 8, [["pad", tu16, 0], ["b", tu32, 29, 5], ["a", tu32, 40, 3]]);
    const localFlags = lb.build();
    const targetFlags = tb.build();
    const value = (kind: CoreReloKind, access: string): number =>
      apply([movImm(999)], relo(kind, flags, access), localFlags, targetFlags).insns[0]!.imm;
    // b occupies bits 29..33: it straddles the 4-byte unit at 0, so an 8-byte load at offset 0 is needed.
    assert.equal(value("field_byte_offset", "0:1"), 0);
    assert.equal(value("field_byte_size", "0:1"), 8);
    assert.equal(value("field_lshift_u64", "0:1"), 64 - 34);
    // a occupies bits 40..42: the 4-byte unit at offset 4.
    assert.equal(value("field_byte_offset", "0:0"), 4);
    assert.equal(value("field_byte_size", "0:0"), 4);
    assert.equal(value("field_lshift_u64", "0:0"), 64 - (40 + 3 - 32));
    // rshift and signedness are never ambiguous, so they are checked against the instruction.
    throwsCode(() => apply([movImm(999)], relo("field_rshift_u64", flags, "0:0"), localFlags, targetFlags), "CORE_BAD_INSN");
    assert.equal(apply([movImm(61)], relo("field_rshift_u64", flags, "0:0"), localFlags, targetFlags).insns[0]!.imm, 61);
  });

  test("a bitfield no 8-byte load can cover is an error", () => {
    const b = new BtfBuilder();
    const u64 = b.int("unsigned long long", 8);
    const s = b.struct("packed", 9, [["wide", u64, 8, 60]]);
    const btf = b.build();
    throwsCode(() => apply([movImm(0)], relo("field_byte_offset", s, "0:0"), btf, btf), "CORE_BITFIELD_TOO_WIDE");
  });
});

describe("load/store patching", () => {
  test("an unsigned field that shrank: the load is narrowed (DW -> W) and its offset moved", () => {
    const { insns } = apply([ldx(op.BPF_DW, 8)], relo("field_byte_offset", local.ids.task!, "0:1"), local.btf, target.btf);
    assert.equal(insns[0]!.off, 8);
    assert.equal(op.memSize(insns[0]!.code), op.BPF_W);
    assert.equal(op.insnClass(insns[0]!.code), op.BPF_LDX);
  });

  test("a signed field that changed size: the load is poisoned instead", () => {
    const b = new BtfBuilder();
    const long = b.int("long", 8, true);
    const task = b.struct("task", 8, [["pid", long, 0]]);
    const { insns, report } = apply([ldx(op.BPF_DW, 0)], relo("field_byte_offset", task, "0:0"), b.build(), target.btf);
    assert.ok(isPoisonedCall(insns[0]!));
    assert.match(report.poisoned[0]!.reason, /size changed from 8 to 4 bytes/);
  });

  test("the same size change in an ALU instruction is fine (only loads/stores are resized)", () => {
    const b = new BtfBuilder();
    const long = b.int("long", 8, true);
    const task = b.struct("task", 8, [["pid", long, 0]]);
    assert.equal(apply([movImm(0)], relo("field_byte_offset", task, "0:0"), b.build(), target.btf).insns[0]!.imm, 12);
  });

  test("an access whose width is not the local field's size is refused when the size changes", () => {
    throwsCode(() => apply([ldx(op.BPF_W, 8)], relo("field_byte_offset", local.ids.task!, "0:1"), local.btf, target.btf), "CORE_BAD_INSN", /moves 4 bytes/);
  });

  test("an offset that does not fit 16 bits is an error", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, true);
    const big = b.array(int, 20000);
    const t = b.struct("task", 80004, [["big", big, 0], ["pid", int, 640000]]);
    const huge = b.build();
    assert.ok(t > 0);
    throwsCode(() => apply([ldx(op.BPF_W, 0)], relo("field_byte_offset", local.ids.task!, "0:0"), local.btf, huge), "CORE_OFFSET_TOO_BIG");
  });

  test("the instruction must hold the local value", () => {
    throwsCode(() => apply([ldx(op.BPF_W, 4)], relo("field_byte_offset", local.ids.task!, "0:0"), local.btf, target.btf), "CORE_BAD_INSN", /offset is 4, but the relocation expects 0/);
    throwsCode(() => apply([movImm(7)], relo("field_byte_size", local.ids.task!, "0:0"), local.btf, target.btf), "CORE_BAD_INSN");
  });

  test("instructions that cannot carry a relocation", () => {
    const aluReg = insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, 1, 2);
    throwsCode(() => apply([aluReg], relo("field_byte_offset", local.ids.task!, "0:0"), local.btf, target.btf), "CORE_BAD_INSN", /immediate/);
    const jump = insn(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, 0, 0);
    throwsCode(() => apply([jump], relo("field_byte_offset", local.ids.task!, "0:0"), local.btf, target.btf), "CORE_BAD_INSN");
    const mapLoad = lddw(1, 0n, op.BPF_PSEUDO_MAP_FD);
    throwsCode(() => apply([...mapLoad], relo("enumval_value", local.ids.state!, "0"), local.btf, target.btf), "CORE_BAD_INSN", /lddw/);
  });

  test("instruction offsets: not a multiple of 8 is an error, outside the program is skipped", () => {
    throwsCode(
      () => applyCoreRelocations([movImm(0)], [{ ...relo("field_byte_offset", local.ids.task!, "0:0"), insnOff: 4 }], local.btf, target.btf),
      "CORE_BAD_INSN_OFFSET",
    );
    const program = [movImm(0), movImm(0)];
    const report = applyCoreRelocations(program, [relo("field_byte_offset", local.ids.task!, "0:0", 0), relo("field_byte_offset", local.ids.task!, "0:0", 6)], local.btf, target.btf, {
      sectionInsnOffset: 5,
    });
    assert.equal(report.skipped, 1);
    assert.equal(report.results[0]!.insnIndex, 1);
    assert.equal(program[1]!.imm, 12);
    assert.equal(program[0]!.imm, 0);
  });

  test("patching replaces array elements and leaves the original instruction objects alone", () => {
    const original = movImm(0);
    const program = [original];
    applyCoreRelocations(program, [relo("field_byte_offset", local.ids.task!, "0:0")], local.btf, target.btf);
    assert.equal(original.imm, 0);
    assert.equal(program[0]!.imm, 12);
  });
});

describe("type relocations", () => {
  test("exists, size, target id of a matching type; local id untouched", () => {
    const check = (kind: CoreReloKind, imm: number): number =>
      apply([movImm(imm)], relo(kind, local.ids.task!, "0"), local.btf, target.btf).insns[0]!.imm;
    assert.equal(check("type_exists", 1), 1);
    assert.equal(check("type_size", 32), 40);
    assert.equal(check("type_id_target", 12345), target.ids.task);
    assert.equal(check("type_id_local", 12345), local.ids.task);
  });

  test("a missing type: every type relocation becomes 0, nothing is poisoned", () => {
    const b = new BtfBuilder();
    const absent = b.struct("absent___x", 4, []);
    const btf = b.build();
    for (const kind of ["type_exists", "type_size", "type_id_target", "type_matches"] as const) {
      const { insns, report } = apply([movImm(kind === "type_size" ? 4 : kind === "type_id_target" ? 99 : 1)], relo(kind, absent, "0"), btf, target.btf);
      assert.equal(insns[0]!.imm, 0, kind);
      assert.equal(report.poisoned.length, 0);
    }
  });

  test("type ids in a 64-bit immediate", () => {
    const { insns } = apply([...lddw(2, 77n)], relo("type_id_target", local.ids.task!, "0"), local.btf, target.btf);
    assert.equal(lddwValue(insns, 0), BigInt(target.ids.task!));
  });

  test("a type relocation's access string must be \"0\"", () => {
    throwsCode(() => apply([movImm(1)], relo("type_exists", local.ids.task!, "1"), local.btf, target.btf), "CORE_BAD_ACCESS");
  });

  test("anonymous local types cannot be looked up (except for their local id)", () => {
    throwsCode(() => apply([movImm(1)], relo("type_exists", local.ids.anonStruct!, "0"), local.btf, target.btf), "CORE_ANONYMOUS_TYPE");
    assert.equal(apply([movImm(0)], relo("type_id_local", local.ids.anonStruct!, "0"), local.btf, target.btf).insns[0]!.imm, local.ids.anonStruct);
  });
});

describe("enum relocations", () => {
  test("value by essential enumerator name; a missing enumerator poisons the value and is 0 for exists", () => {
    const value = apply([...lddw(1, 0n)], relo("enumval_value", local.ids.state!, "0"), local.btf, target.btf);
    assert.equal(lddwValue(value.insns, 0), 5n);
    const missing = apply([...lddw(1, 1n)], relo("enumval_value", local.ids.state!, "1"), local.btf, target.btf);
    assert.ok(isPoisonedCall(missing.insns[0]!) && isPoisonedCall(missing.insns[1]!));
    assert.equal(apply([movImm(1)], relo("enumval_exists", local.ids.state!, "1"), local.btf, target.btf).insns[0]!.imm, 0);
    assert.equal(apply([movImm(1)], relo("enumval_exists", local.ids.state!, "0"), local.btf, target.btf).insns[0]!.imm, 1);
  });

  test("a 32-bit enumerator is widened with its sign, as libbpf does, even in an unsigned enum", () => {
    const { insns } = apply([...lddw(1, 2n)], relo("enumval_value", local.ids.state!, "2"), local.btf, target.btf);
    assert.equal(lddwValue(insns, 0), 0xffffffff90000000n);
  });

  test("enum64 values, and a 32-bit local enum against a target enum64", () => {
    assert.equal(lddwValue(apply([...lddw(1, 1n)], relo("enumval_value", local.ids.wide!, "0"), local.btf, target.btf).insns, 0), 0x1122334455667788n);
    const b = new BtfBuilder();
    const narrow = b.enum("wide___narrow", 4, { BIG: 3 });
    assert.equal(lddwValue(apply([...lddw(1, 3n)], relo("enumval_value", narrow, "0"), b.build(), target.btf).insns, 0), 0x1122334455667788n);
  });

  test("an enumerator index past the local enum is a bad access string", () => {
    throwsCode(() => apply([movImm(1)], relo("enumval_exists", local.ids.state!, "7"), local.btf, target.btf), "CORE_BAD_ACCESS");
  });
});

describe("candidates", () => {
  // Target with two flavours of one type: core___a { int pad; int x; int y; } and core___b { int x; }.
  const tb = new BtfBuilder();
  const tint = tb.int("int", 4, true);
  tb.struct("core___a", 12, [["pad", tint, 0], ["x", tint, 32], ["y", tint, 64]]);
  tb.struct("core___b", 4, [["x", tint, 0]]);
  const flavours = tb.build();
  const lb = new BtfBuilder();
  const lint = lb.int("int", 4, true);
  const core = lb.struct("core", 8, [["x", lint, 0], ["y", lint, 32]]);
  const localCore = lb.build();

  test("flavours that disagree are ambiguous", () => {
    throwsCode(() => apply([movImm(0)], relo("field_byte_offset", core, "0:0"), localCore, flavours), "CORE_AMBIGUOUS", /core___a\.x.*core___b\.x/);
  });

  test("candidates that fail one access are dropped for the type's later accesses (libbpf's pruning)", () => {
    const program = [movImm(4), movImm(0)];
    const report = new CoreRelocator(localCore, flavours).apply(program, [relo("field_byte_offset", core, "0:1", 0), relo("field_byte_offset", core, "0:0", 1)]);
    assert.equal(program[0]!.imm, 8);
    assert.equal(program[1]!.imm, 4);
    assert.equal(report.results[1]!.target, "struct core___a.x (0:1 @ offset 4)");
  });

  test("module BTFs are searched only when the main target has no candidate", () => {
    const mb = new BtfBuilder();
    const mint = mb.int("int", 4, true);
    mb.struct("core", 8, [["y", mint, 0]]);
    const module = mb.build();
    const withModule = new CoreTarget(target.btf, [module], "vmlinux");
    assert.equal(apply([movImm(4)], relo("field_byte_offset", core, "0:1"), localCore, withModule).insns[0]!.imm, 0);
    const both = new CoreTarget(flavours, [module]);
    assert.equal(apply([movImm(4)], relo("field_byte_offset", core, "0:1"), localCore, both).insns[0]!.imm, 8);
  });

  test("kinds must agree: a struct does not match a same-named union or typedef", () => {
    const ub = new BtfBuilder();
    const uint = ub.int("int", 4, true);
    ub.union("core", 4, [["x", uint, 0]]);
    ub.typedef("core", uint);
    const report = apply([movImm(1)], relo("type_exists", core, "0"), localCore, ub.build()).report;
    assert.equal(report.results[0]!.targetValue, 0n);
  });
});

describe("the poison table", () => {
  test("maps each poisoned slot to a message naming the relocation", () => {
    const b = new BtfBuilder();
    const int = b.int("int", 4, true);
    const gone = b.struct("gone___v1", 4, [["f", int, 0]]);
    const insns = [movImm(0), ldx(op.BPF_W, 0), ...lddw(3, 0n)];
    const report = new CoreRelocator(b.build(), new CoreTarget(target.btf, [], "vmlinux")).apply(
      insns,
      [relo("field_byte_offset", gone, "0:0", 1)],
      { programName: "probe" },
    );
    assert.deepEqual([...report.poisonByInsn.keys()], [1]);
    assert.equal(
      report.poisonByInsn.get(1)!.message,
      "program 'probe': CO-RE relocation #0 (field_byte_offset of struct gone___v1, access \"0:0\") at instruction 1 " +
        "could not be resolved: vmlinux has no struct named 'gone'",
    );
    assert.ok(!isPoisonedCall(insns[0]!) && isPoisonedCall(insns[1]!) && !isPoisonedCall(insns[2]!));
  });
});
