// The x86-64 encoder, form by form: the bytes of every case match the committed objdump disassembly,
// objdump (when installed) still reads each case as exactly one instruction with that text, and the
// encoding quirks are pinned by hand-checked bytes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { aluRR, AluOp } from "../../src/jit/x64/assembler/arithmetic.js";
import { CodeBuffer } from "../../src/jit/x64/assembler/code-buffer.js";
import { Cond } from "../../src/jit/x64/assembler/conditions.js";
import { bind, jccLabel, jmpLabel, Label } from "../../src/jit/x64/assembler/labels.js";
import { mem } from "../../src/jit/x64/assembler/memory-operand.js";
import { movMR, movRM, movRR } from "../../src/jit/x64/assembler/moves.js";
import { R12, R13, RAX, RBP, RSI, RSP } from "../../src/jit/x64/assembler/registers.js";
import { objdumpAvailable } from "./objdump.js";
import { disassembleCases, emitCases, hexOf, readFixture, writeFixture, type FormExpectation } from "./x64-forms-fixture.js";
import { formCases } from "./x64-forms.js";

const cases = formCases();
const codes = emitCases(cases);
const haveObjdump = objdumpAvailable();

if (process.env["UPDATE_X64_FIXTURE"] === "1") {
  const live = disassembleCases(codes);
  const rows = new Map<string, FormExpectation>();
  cases.forEach((c, i) => rows.set(c.name, { hex: hexOf(codes[i]!), text: live[i]!.lines.map((l) => l.text).join(" ; ") }));
  writeFixture(rows);
}

test("case names are unique", () => {
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
});

test(`every emitted form (${cases.length} cases) has the bytes of the committed objdump fixture`, () => {
  const fixture = readFixture();
  const wrong: string[] = [];
  cases.forEach((c, i) => {
    const expected = fixture.get(c.name);
    const hex = hexOf(codes[i]!);
    if (!expected) wrong.push(`${c.name}: not in the fixture`);
    else if (expected.hex !== hex) wrong.push(`${c.name}: emitted ${hex}, fixture has ${expected.hex} (${expected.text})`);
  });
  assert.equal(fixture.size, cases.length, "the fixture has cases the test no longer emits");
  assert.deepEqual(wrong.slice(0, 20), []);
});

test("objdump reads every case as exactly one instruction with the committed text", { skip: haveObjdump ? false : "objdump (binutils) is not installed" }, () => {
  const fixture = readFixture();
  const live = disassembleCases(codes);
  const wrong: string[] = [];
  cases.forEach((c, i) => {
    const lines = live[i]!.lines;
    const hex = hexOf(codes[i]!);
    if (lines.length !== 1 || lines[0]!.hex !== hex) {
      wrong.push(`${c.name}: ${hex} decodes as ${JSON.stringify(lines)}`);
      return;
    }
    if (lines[0]!.text !== fixture.get(c.name)?.text) wrong.push(`${c.name}: objdump says '${lines[0]!.text}', fixture '${fixture.get(c.name)?.text}'`);
    if (/\(bad\)|\.byte/.test(lines[0]!.text)) wrong.push(`${c.name}: objdump cannot decode ${hex}`);
  });
  assert.deepEqual(wrong.slice(0, 20), []);
});

const bytesOf = (emit: (buf: CodeBuffer) => void): string => {
  const buf = new CodeBuffer(4);
  emit(buf);
  return hexOf(buf.toBytes());
};

test("encoding quirks: SIB for rsp/r12 bases, disp8 for rbp/r13 bases, REX for sil/dil", () => {
  assert.equal(bytesOf((b) => movRM(b, 64, RAX, mem(RSP, 0))), "48 8b 04 24");
  assert.equal(bytesOf((b) => movRM(b, 64, RAX, mem(R12, 0))), "49 8b 04 24");
  assert.equal(bytesOf((b) => movRM(b, 64, RAX, mem(RBP, 0))), "48 8b 45 00");
  assert.equal(bytesOf((b) => movRM(b, 64, RAX, mem(R13, 0))), "49 8b 45 00");
  assert.equal(bytesOf((b) => movRM(b, 32, RAX, mem(RBP, -512))), "8b 85 00 fe ff ff");
  assert.equal(bytesOf((b) => movMR(b, 8, mem(RAX, 1), RSI)), "40 88 70 01");
  assert.equal(bytesOf((b) => movRR(b, 8, RAX, RSI)), "40 88 f0");
  assert.equal(bytesOf((b) => aluRR(b, AluOp.Add, 64, R13, RAX)), "49 01 c5");
});

test("labels: backward jumps pick rel8 when it fits, forward jumps are patched when bound", () => {
  const buf = new CodeBuffer(4);
  const top = new Label();
  bind(buf, top);
  jccLabel(buf, Cond.NE, top); // backward, fits: 75 fe
  const end = new Label();
  jmpLabel(buf, end); // forward: e9 rel32
  jccLabel(buf, Cond.E, end, true); // forward short: 74 rel8
  buf.byte(0x90);
  bind(buf, end);
  assert.equal(hexOf(buf.toBytes()), "75 fe e9 03 00 00 00 74 01 90");
  const far = new CodeBuffer(4);
  const farLabel = new Label();
  jccLabel(far, Cond.E, farLabel, true);
  for (let i = 0; i < 200; i++) far.byte(0x90);
  assert.throws(() => bind(far, farLabel), /short jump/);
});
