// The kernel oracle: the full 64-bit r0 of a program, with and without input memory.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { validateProgram } from "../../src/isa/validator.js";
import { KernelRunner } from "../../src/kernel/test-run-64.js";
import { wrapForTestRun } from "../../src/kernel/wrap-64.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";

const availability = kernelBpfAvailable();
const skip = availability.ok ? false : availability.reason;

const exit = insn(op.OP_EXIT);
const ldx = (size: number, dst: number, src: number, off: number): Insn => insn(op.BPF_LDX | op.BPF_MEM | size, dst, src, off);

describe("wrapForTestRun", () => {
  const program = [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 7), exit];

  test("is a valid program that calls the original, copied unchanged to the end", () => {
    for (const memoryLength of [undefined, 0, 100]) {
      const wrapped = wrapForTestRun(program, memoryLength === undefined ? { resultMapFd: 42 } : { resultMapFd: 42, memoryLength });
      validateProgram(wrapped, { allowPseudoLddw: true });
      assert.deepEqual(wrapped.slice(-program.length), program);
      const call = wrapped.findIndex((x) => x.code === op.OP_CALL);
      assert.equal(wrapped[call]!.src, op.BPF_PSEUDO_CALL);
      assert.equal(call + 1 + wrapped[call]!.imm, wrapped.length - program.length);
      const mapValue = wrapped.find((x) => x.code === op.OP_LDDW)!;
      assert.equal(mapValue.src, op.BPF_PSEUDO_MAP_VALUE);
      assert.equal(mapValue.imm, 42);
    }
  });

  test("gives the program r2 = the memory length", () => {
    const wrapped = wrapForTestRun(program, { resultMapFd: 3, memoryLength: 37 });
    assert.ok(wrapped.some((x) => x.code === (op.BPF_ALU64 | op.BPF_MOV | op.BPF_K) && x.dst === 2 && x.imm === 37));
  });
});

describe("KernelRunner", { skip }, () => {
  const runner = availability.ok ? new KernelRunner() : undefined;
  after(() => runner?.close());

  test("returns all 64 bits of r0", () => {
    const result = runner!.run([...lddw(0, 0x8877665544332211n), exit]);
    assert.ok(result.ok);
    assert.equal(result.r0, 0x8877665544332211n);
  });

  test("reuses its map across programs without stale results", () => {
    for (const value of [1n, 0xffffffffffffffffn, 0n, 0x100000000n]) {
      const result = runner!.run([...lddw(0, value), exit]);
      assert.ok(result.ok);
      assert.equal(result.r0, value);
    }
  });

  test("gives r1 = the memory and r2 = its real length, even when shorter than a packet", () => {
    const memory = Uint8Array.from([0x11, 0x22, 0x33]);
    // r0 = (mem[2] << 8) | r2
    const program = [
      ldx(op.BPF_B, 0, 1, 2),
      insn(op.BPF_ALU64 | op.BPF_LSH | op.BPF_K, 0, 0, 0, 8),
      insn(op.BPF_ALU64 | op.BPF_OR | op.BPF_X, 0, 2),
      exit,
    ];
    const result = runner!.run(program, memory);
    assert.ok(result.ok);
    assert.equal(result.r0, 0x3303n);
    assert.deepEqual(result.memory, memory);
  });

  test("returns the memory as the program left it", () => {
    const memory = new Uint8Array(32).fill(0xaa);
    const program = [insn(op.BPF_ST | op.BPF_MEM | op.BPF_W, 1, 0, 28, 0x01020304), insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 0), exit];
    const result = runner!.run(program, memory);
    assert.ok(result.ok);
    assert.deepEqual(Array.from(result.memory.subarray(24)), [0xaa, 0xaa, 0xaa, 0xaa, 4, 3, 2, 1]);
  });

  test("reports a verifier rejection with its log instead of throwing", () => {
    // Reads past the 3 bytes of memory the program was promised.
    const result = runner!.run([ldx(op.BPF_DW, 0, 1, 0), exit], new Uint8Array(3));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && /outside of the packet/.test(result.log), !result.ok ? result.log : "");
  });

  test("a closed runner refuses to run", () => {
    const closed = new KernelRunner();
    closed.close();
    assert.throws(() => closed.run([...lddw(0, 1n), exit]), /closed/);
  });
});
