// The random program generator used by the differential tests: deterministic, valid, terminating, and
// covering the whole instruction set it promises (checked without the kernel, so it runs anywhere).

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Insn } from "../../src/isa/instruction.js";
import { opcodeInfo } from "../../src/isa/opcode-table.js";
import * as op from "../../src/isa/opcodes.js";
import { validateProgram } from "../../src/isa/validator.js";
import { runProgram } from "../../src/vm/interpreter.js";
import { generateCase, generateProgram, Prng } from "../support/program-generator.js";

const SEEDS = 2000;

function casesFor(seeds: number): ReturnType<typeof generateCase>[] {
  const cases = [];
  for (let seed = 1; seed <= seeds; seed++) {
    cases.push(seed % 2 === 0 ? generateCase(seed) : generateCase(seed, { memoryLength: 1 + (seed % 64) }));
  }
  return cases;
}

const cases = casesFor(SEEDS);

/** Each slot that is an instruction (the second slot of an lddw is not). */
function* instructions(program: readonly Insn[]): Generator<[number, Insn]> {
  for (let i = 0; i < program.length; i++) {
    const ins = program[i]!;
    yield [i, ins];
    if (ins.code === op.OP_LDDW) i++;
  }
}

test("the same seed gives the same program, different seeds different ones", () => {
  assert.deepEqual(generateCase(1234, { memoryLength: 16 }), generateCase(1234, { memoryLength: 16 }));
  assert.deepEqual(generateProgram(99), generateProgram(99));
  const distinct = new Set(cases.slice(0, 200).map((c) => JSON.stringify(c.program)));
  assert.equal(distinct.size, 200);
});

test("the PRNG stays in its ranges", () => {
  const rng = new Prng(7);
  for (let i = 0; i < 10_000; i++) {
    const n = rng.between(-3, 3);
    assert.ok(n >= -3 && n <= 3 && Number.isInteger(n));
    assert.ok(rng.u64() < 1n << 64n);
  }
});

test("every program is valid, only jumps forward, and runs to completion on the interpreter", () => {
  for (const { seed, program, memory } of cases) {
    validateProgram(program);
    assert.equal(program[program.length - 1]!.code, op.OP_EXIT, `seed ${seed}`);
    for (const [i, ins] of instructions(program)) {
      const shape = opcodeInfo(ins.code)!.shape;
      if (shape === "jmp-imm" || shape === "jmp-reg" || shape === "ja") assert.ok(ins.off >= 0, `seed ${seed}: backward jump at ${i}`);
      if (shape === "ja32") assert.ok(ins.imm >= 0, `seed ${seed}: backward gotol at ${i}`);
      assert.notEqual(shape, "call", `seed ${seed}: call at ${i}`);
    }
    assert.equal(typeof runProgram(program, memory?.slice()), "bigint", `seed ${seed}`);
  }
});

test("the generator keeps to what the kernel verifier accepts", () => {
  for (const { seed, program } of cases) {
    for (const [i, ins] of instructions(program)) {
      const cls = op.insnClass(ins.code);
      const where = `seed ${seed}, slot ${i}`;
      if ((cls === op.BPF_ALU || cls === op.BPF_ALU64) && op.srcBit(ins.code) === op.BPF_K) {
        const width = cls === op.BPF_ALU64 ? 64 : 32;
        const alu = op.aluOp(ins.code);
        if (alu === op.BPF_LSH || alu === op.BPF_RSH || alu === op.BPF_ARSH) assert.ok(ins.imm >= 0 && ins.imm < width, `${where}: constant shift ${ins.imm}`);
        if (alu === op.BPF_DIV || alu === op.BPF_MOD) assert.notEqual(ins.imm, 0, `${where}: division by constant zero`);
      }
      const mode = op.memMode(ins.code);
      if (cls === op.BPF_LDX || cls === op.BPF_ST || cls === op.BPF_STX) {
        const base = cls === op.BPF_LDX ? ins.src : ins.dst;
        if (base !== op.REG_FP) continue;
        const bytes = op.sizeBytes(op.memSize(ins.code));
        assert.ok(ins.off < 0 && ins.off >= -72, `${where}: stack offset ${ins.off}`);
        assert.equal(Math.abs(ins.off) % bytes, 0, `${where}: misaligned stack access`);
        if (mode === op.BPF_ATOMIC) assert.ok(bytes === 4 || bytes === 8, `${where}: atomic of ${bytes} bytes`);
      }
    }
  }
});

test("every fetching atomic and every 32-bit cmpxchg carries its kernel-bug workaround", () => {
  for (const { seed, program } of cases) {
    program.forEach((ins, i) => {
      if (op.insnClass(ins.code) !== op.BPF_STX || op.memMode(ins.code) !== op.BPF_ATOMIC || !(ins.imm & op.BPF_FETCH)) return;
      // An optional `r0 = *slot` may stand between the two xors and a cmpxchg.
      const xorsEnd = program[i - 1]?.code === ins.code ? i : i - 1;
      for (const xor of [program[xorsEnd - 2], program[xorsEnd - 1]]) {
        const ok = xor !== undefined && xor.code === ins.code && xor.imm === op.BPF_XOR && xor.off === ins.off && xor.dst === ins.dst;
        assert.ok(ok, `seed ${seed}, slot ${i}: a fetching atomic without two xors of its slot before it`);
      }
      if (ins.imm === op.BPF_CMPXCHG && op.memSize(ins.code) === op.BPF_W) {
        assert.deepEqual(program[i + 1], { code: op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, dst: 0, src: 0, off: 0, imm: 0 }, `seed ${seed}, slot ${i}`);
      }
    });
  }
});

test(`${SEEDS} programs cover every instruction the differential test promises`, () => {
  const seen = new Set<string>();
  for (const { program } of cases) {
    for (const [, ins] of instructions(program)) {
      const info = opcodeInfo(ins.code)!;
      const cls = op.insnClass(ins.code);
      if (info.shape === "atomic") seen.add(`${info.mnemonic} 0x${ins.imm.toString(16)}`);
      else if (info.shape === "end") seen.add(`${info.mnemonic}${ins.imm}`);
      else if (info.shape === "alu-reg" || info.shape === "alu-imm") seen.add(`${info.mnemonic}/${info.shape}/${ins.off}`);
      else seen.add(info.mnemonic);
      if (cls === op.BPF_JMP || cls === op.BPF_JMP32) seen.add(`${info.mnemonic}/${info.shape}`);
    }
  }
  const expected: string[] = [];
  for (const suffix of ["", "32"]) {
    for (const name of ["add", "sub", "mul", "or", "and", "lsh", "rsh", "xor", "mov", "arsh"]) {
      expected.push(`${name}${suffix}/alu-imm/0`, `${name}${suffix}/alu-reg/0`);
    }
    for (const name of ["div", "mod"]) {
      for (const off of [0, 1]) expected.push(`${name}${suffix}/alu-imm/${off}`, `${name}${suffix}/alu-reg/${off}`);
    }
    for (const from of suffix ? [8, 16] : [8, 16, 32]) expected.push(`mov${suffix}/alu-reg/${from}`);
    expected.push(`neg${suffix}`);
    for (const name of ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"]) {
      expected.push(`${name}${suffix}/jmp-imm`, `${name}${suffix}/jmp-reg`);
    }
  }
  for (const width of [16, 32, 64]) expected.push(`le${width}`, `be${width}`, `bswap${width}`);
  for (const size of ["b", "h", "w", "dw"]) expected.push(`ldx${size}`, `st${size}`, `stx${size}`);
  expected.push("ldxsb", "ldxsh", "ldxsw", "lddw", "ja", "ja32", "exit");
  for (const lock of ["lock", "lock32"]) {
    for (const atomic of [0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1]) expected.push(`${lock} 0x${atomic.toString(16)}`);
  }
  const missing = expected.filter((name) => !seen.has(name));
  assert.deepEqual(missing, []);
});

test("without the kernel-bug workarounds a seed gives the same program minus exactly those instructions", () => {
  let atomicsSeen = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const withWorkarounds = generateCase(seed, { memoryLength: 32 }).program;
    const without = generateCase(seed, { memoryLength: 32, kernelBugWorkarounds: false }).program;
    let fetching = 0;
    let cmpxchg32 = 0;
    for (const [i, ins] of instructions(without)) {
      if (op.insnClass(ins.code) !== op.BPF_STX || op.memMode(ins.code) !== op.BPF_ATOMIC || !(ins.imm & op.BPF_FETCH)) continue;
      fetching++;
      if (ins.imm === op.BPF_CMPXCHG && op.memSize(ins.code) === op.BPF_W) {
        cmpxchg32++;
        const next = without[i + 1]!;
        assert.ok(!(next.code === (op.BPF_ALU64 | op.BPF_MOV | op.BPF_X) && next.dst === 0 && next.src === 0), `seed ${seed}: mov r0, r0 left in`);
      }
    }
    atomicsSeen += fetching;
    assert.equal(withWorkarounds.length - without.length, 2 * fetching + cmpxchg32, `seed ${seed}`);
  }
  assert.ok(atomicsSeen > 100);
});
