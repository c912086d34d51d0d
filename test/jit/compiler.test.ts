// The compiler's jump sizing: rel8 exactly when the distance fits, settled in two passes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { insn, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { compileProgram } from "../../src/jit/x64/compiler/compile.js";
import { generateCase } from "../support/program-generator.js";

/** `jeq r1, 0, +k` over k `mov32 r0, imm` (5 bytes each), then exit. */
function jumpOver(k: number): Insn[] {
  const movs = Array.from({ length: k }, (_, i) => insn(op.BPF_ALU | op.BPF_MOV | op.BPF_K, 0, 0, 0, 1000 + i));
  return [insn(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 1, 0, k), ...movs, insn(op.OP_EXIT)];
}

const bodySize = (program: Insn[]): number => {
  const compiled = compileProgram(program);
  return compiled.helperTableOffset - compiled.slotOffsets[0]!;
};

test("a jump is rel8 up to 127 bytes and rel32 beyond", () => {
  // test r1, r1 (3 bytes) + jcc; 25 movs = 125 bytes fit in rel8, 26 = 130 do not.
  const short = compileProgram(jumpOver(25));
  const jcc = short.code[short.slotOffsets[0]! + 3];
  assert.equal(jcc, 0x74, "je rel8");
  const long = compileProgram(jumpOver(26));
  assert.deepEqual([...long.code.subarray(long.slotOffsets[0]! + 3, long.slotOffsets[0]! + 5)], [0x0f, 0x84], "je rel32");
  // Padding to 8 bytes hides exact sizes, so compare slot offsets: the exit moves by the movs and the wider jump.
  assert.equal(long.slotOffsets[27]! - short.slotOffsets[26]!, 5 + 4);
  assert.ok(bodySize(jumpOver(26)) >= bodySize(jumpOver(25)));
});

test("backward jumps are sized too, and every jump's displacement lands on its target slot", () => {
  // 0: mov r0, 0; 1..k: add r0, 1 (4 bytes each); k+1: jlt r0, 1000, -(k+1) (back to 1); exit
  for (const k of [20, 40]) {
    const adds = Array.from({ length: k }, () => insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1));
    const program = [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0), ...adds, insn(op.BPF_JMP | op.BPF_JLT | op.BPF_K, 0, 0, -(k + 1), 1000), insn(op.OP_EXIT)];
    const compiled = compileProgram(program);
    // The jump is the last code of its slot: jb rel8 (72 xx) or jb rel32 (0f 82 xxxxxxxx).
    const end = compiled.slotOffsets[k + 2]!;
    const code = compiled.code;
    const isShort = code[end - 2] === 0x72;
    if (!isShort) assert.deepEqual([code[end - 6], code[end - 5]], [0x0f, 0x82]);
    const displacement = isShort ? (code[end - 1]! << 24) >> 24 : new DataView(code.buffer, code.byteOffset).getInt32(end - 4, true);
    assert.equal(end + displacement, compiled.slotOffsets[1], `k=${k}`);
    assert.equal(isShort, k === 20);
  }
});

test("jump sizes settle in two passes on random programs", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const compiled = compileProgram(generateCase(seed, { kernelBugWorkarounds: false }).program);
    assert.equal(compiled.passes, 2, `seed ${seed}`);
  }
});
