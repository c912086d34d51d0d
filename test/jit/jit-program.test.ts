// JitProgram beyond the conformance suite: the helper ABI, bpf-to-bpf calls and their limits, callx,
// tail calls through a prog-array table, the native driver loop, checked-mode faults, may_goto and W^X.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { loadCode, type NativeRegion } from "../../src/jit/executable-memory.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { constantFunction } from "../../src/jit/native-stubs.js";
import { ProgArrayTable } from "../../src/jit/prog-array.js";
import { AluOp, aluRR, aluRI } from "../../src/jit/x64/assembler/arithmetic.js";
import { CodeBuffer } from "../../src/jit/x64/assembler/code-buffer.js";
import { ret } from "../../src/jit/x64/assembler/control.js";
import { mem } from "../../src/jit/x64/assembler/memory-operand.js";
import { lea, loadConstant, movRR } from "../../src/jit/x64/assembler/moves.js";
import { R10, R11, R8, R9, RAX, RCX, RDI, RDX, RSI } from "../../src/jit/x64/assembler/registers.js";
import { shiftRI, ShiftOp } from "../../src/jit/x64/assembler/shifts.js";
import { OP_MAY_GOTO } from "../../src/jit/x64/compiler/call-graph.js";
import { JitCompileError } from "../../src/jit/x64/compiler/errors.js";
import { VmError } from "../../src/vm/errors.js";
import { runProgram } from "../../src/vm/interpreter.js";
import { HelperRegistry } from "../../src/vm/helpers.js";

const regions: NativeRegion[] = [];
after(() => regions.forEach((r) => r.free()));

/** A native helper returning r1 + 2*r2 + 3*r3 + 4*r4 + 5*r5 that also clobbers every scratch register it may. */
function weightedSumHelper(): bigint {
  const buf = new CodeBuffer();
  lea(buf, 64, RAX, mem(RDI, 0, RSI, 2));
  lea(buf, 64, R9, mem(RDX, 0, RDX, 2));
  aluRR(buf, AluOp.Add, 64, RAX, R9);
  movRR(buf, 64, R10, RCX);
  shiftRI(buf, ShiftOp.Shl, 64, R10, 2);
  aluRR(buf, AluOp.Add, 64, RAX, R10);
  lea(buf, 64, R11, mem(R8, 0, R8, 4));
  aluRR(buf, AluOp.Add, 64, RAX, R11);
  for (const reg of [RDI, RSI, RDX, RCX, R8, R9, R10, R11]) loadConstant(buf, reg, -1, -1);
  aluRI(buf, AluOp.Add, 64, RAX, 0);
  ret(buf);
  const region = loadCode(buf.toBytes());
  regions.push(region);
  return region.address;
}

function run(program: readonly Insn[] | string, options: Parameters<typeof JitProgram.compile>[1] = {}, memory?: Uint8Array): bigint {
  const jit = JitProgram.compile(typeof program === "string" ? assemble(program) : program, options);
  try {
    return jit.run(memory);
  } finally {
    jit.dispose();
  }
}

test("helper calls pass r1..r5 in the System V argument registers; r6..r9 survive; r0 is the result", () => {
  const helpers = new Map([[7, weightedSumHelper()]]);
  const r0 = run(
    `mov %r6, 60
     mov %r7, 70
     mov %r8, 80
     mov %r9, 90
     mov %r1, 1
     mov %r2, 10
     mov %r3, 100
     mov %r4, 1000
     mov %r5, 10000
     call 7
     add %r0, %r6
     add %r0, %r7
     add %r0, %r8
     add %r0, %r9
     exit`,
    { helpers },
  );
  assert.equal(r0, 1n + 20n + 300n + 4000n + 50000n + 300n);
});

const localCall = `
    mov %r6, 1
    mov %r7, 2
    stdw [%r10-8], 100
    call local f
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    add %r0, %r6
    add %r0, %r7
    exit
  f:
    mov %r6, 1000
    mov %r7, 2000
    stdw [%r10-8], 7
    ldxdw %r0, [%r10-8]
    add %r0, %r6
    exit`;

test("bpf-to-bpf calls: the callee has its own 512-byte frame and r6..r9 are restored", () => {
  const expected = runProgram(assemble(localCall));
  assert.equal(expected, 1110n);
  assert.equal(run(localCall), expected);
  assert.equal(run(localCall, { checked: true }), expected);
});

/** main and `frames - 1` nested functions; each returns its callee's r0 + 1. */
function callChain(frames: number): Insn[] {
  const program: Insn[] = [];
  for (let f = 1; f < frames; f++) program.push(insn(op.OP_CALL, 0, op.BPF_PSEUDO_CALL, 0, 2), insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1), insn(op.OP_EXIT));
  program.push(insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 0), insn(op.OP_EXIT));
  return program;
}

test("call depth: 8 frames run, 9 and recursion are refused at compile time", () => {
  assert.equal(run(callChain(8)), 7n);
  assert.throws(() => run(callChain(9)), (error: unknown) => error instanceof JitCompileError && /9 frames exceeds the limit of 8/.test(error.message));
  assert.throws(() => run([insn(op.OP_CALL, 0, op.BPF_PSEUDO_CALL, 0, -1), insn(op.OP_EXIT)]), /recursion/);
});

test("callx: a function address from lddw src=4 is called as a function, a small value as a helper id", () => {
  // 0: lddw r2, &f (slot 5); 2: callx r2; 3: add r0, 1; 4: exit; 5: f: mov r0, 41; 6: exit
  const [lo, hi] = lddw(2, 0n, op.BPF_PSEUDO_FUNC);
  const program = [{ ...lo, imm: 5 - 1 }, hi, insn(op.OP_CALLX, 2), insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1), insn(op.OP_EXIT), insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 41), insn(op.OP_EXIT)];
  const options = { validate: { allowPseudoLddw: true } };
  assert.equal(run(program, options), 42n);
  assert.equal(run(program, { ...options, checked: true }), 42n);
  const helper = constantFunction(99n);
  regions.push(helper);
  const byId = assemble("mov %r3, 9\n call %r3\n exit");
  assert.equal(run(byId, { helpers: new Map([[9, helper.address]]) }), 99n);
  // Checked code refuses an id without a helper and an address that is not a function.
  assert.throws(() => run(byId, { helpers: new Map([[10, helper.address]]), checked: true }), /instruction 1: call to unknown helper 9/);
  assert.throws(() => run(assemble("lddw %r3, 0x123456789\n call %r3\n exit"), { checked: true }), /instruction 2: callx to 0x123456789, which is neither/);
});

test("tail calls jump through a prog-array table, at most 33 in a chain, then fail with -EINVAL", () => {
  const table = new ProgArrayTable(4);
  try {
    // Counts its runs in the input memory, then tail-calls slot 0 (itself).
    const selfCall = [
      insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 3, 0, 0, 1),
      insn(op.BPF_STX | op.BPF_ATOMIC | op.BPF_DW, 1, 3, 0, op.BPF_ADD),
      ...lddw(2, table.address),
      insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 3, 0, 0, 0),
      insn(op.OP_CALL, 0, 0, 0, 12),
      insn(op.OP_EXIT),
    ];
    const jit = JitProgram.compile(selfCall, { tailCalls: true });
    try {
      table.set(0, jit);
      const memory = new Uint8Array(8);
      assert.equal(jit.run(memory), BigInt.asUintN(64, -22n));
      assert.equal(new DataView(memory.buffer).getBigUint64(0, true), 34n, "one run plus 33 tail calls");
      // An empty slot or an index past the end fails at once.
      table.set(0, null);
      memory.fill(0);
      assert.equal(jit.run(memory), BigInt.asUintN(64, -22n));
      assert.equal(memory[0], 1);
    } finally {
      jit.dispose();
    }
    // A tail call replaces the program: the target's r0 is the result, r1 (the context) is passed on.
    const target = JitProgram.compile(assemble("ldxdw %r0, [%r1]\n add %r0, 1000\n exit"));
    const caller = JitProgram.compile(
      [...lddw(2, table.address), insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 3, 0, 0, 3), insn(op.OP_CALL, 0, 0, 0, 12), insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 7), insn(op.OP_EXIT)],
      { tailCalls: true },
    );
    try {
      table.set(3, target);
      assert.equal(caller.run(Uint8Array.of(5, 0, 0, 0, 0, 0, 0, 0)), 1005n);
      assert.equal(caller.runLoop(1000, Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 0)), 1006n, "the frame is reused, not leaked");
    } finally {
      target.dispose();
      caller.dispose();
    }
    // Without the option helper 12 is an ordinary (here unknown) helper; checked code never inlines it.
    assert.throws(() => JitProgram.compile(selfCall), /unknown helper 12/);
    assert.throws(() => JitProgram.compile(selfCall, { tailCalls: true, checked: true }), JitCompileError);
  } finally {
    table.free();
  }
});

test("runLoop runs the program n times in one native call", () => {
  const jit = JitProgram.compile(assemble("lock add [%r1], %r2\n ldxdw %r0, [%r1]\n exit"));
  try {
    const memory = new Uint8Array(8);
    assert.equal(jit.runLoop(1000, memory), 8000n);
    assert.equal(jit.runLoop(0, memory), 0n);
  } finally {
    jit.dispose();
  }
});

test("checked mode turns bad accesses into VmErrors naming the instruction", () => {
  const jit = JitProgram.compile(assemble("mov %r0, 0\n ldxw %r0, [%r1+6]\n exit"), { checked: true });
  try {
    assert.equal(jit.run(new Uint8Array(10)), 0n);
    assert.throws(() => jit.run(new Uint8Array(9)), (error: unknown) => error instanceof VmError && error.pc === 1 && /read of 4 bytes/.test(error.message));
    assert.throws(() => jit.run(), /read of 4 bytes at 0x6: outside the stack and the input memory \(no input memory\)/);
    assert.equal(jit.run(new Uint8Array(10)), 0n, "a fault leaves the program usable");
  } finally {
    jit.dispose();
  }
});

test("may_goto falls through 8M times per run, then jumps", () => {
  // 0: mov r0, 0; 1: may_goto +2; 2: add r0, 1; 3: ja -3; 4: exit
  const program = [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0), insn(OP_MAY_GOTO, 0, 0, 2), insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1), insn(op.OP_JA, 0, 0, -3), insn(op.OP_EXIT)];
  assert.equal(run(program, { validate: false }), 8n * 1024n * 1024n);
});

test("compiled code is mapped read+execute, never writable", () => {
  const jit = JitProgram.compile(assemble("mov %r0, 1\n exit"));
  try {
    const maps = readFileSync("/proc/self/maps", "utf8").split("\n");
    const line = maps.find((l) => {
      const [start, end] = l.split(" ")[0]!.split("-").map((x) => BigInt(`0x${x}`));
      return start !== undefined && end !== undefined && jit.entryAddress >= start && jit.entryAddress < end;
    });
    assert.ok(line, "the code's mapping is listed");
    assert.match(line.split(" ")[1]!, /^r-x/);
  } finally {
    jit.dispose();
  }
});

test("an lddw the loader has not resolved is a compile error", () => {
  assert.throws(() => run([...lddw(1, 3n, op.BPF_PSEUDO_MAP_FD), insn(op.OP_EXIT)], { validate: { allowPseudoLddw: true } }), JitCompileError);
});

test("the interpreter and the JIT agree on a helper's view of the arguments", () => {
  const registry = new HelperRegistry().register(7, "weighted", (a, b, c, d, e) => a + 2n * b + 3n * c + 4n * d + 5n * e);
  const program = assemble("mov %r1, 3\n mov %r2, 5\n mov %r3, 7\n mov %r4, 11\n mov %r5, 13\n call 7\n exit");
  assert.equal(run(program, { helpers: new Map([[7, weightedSumHelper()]]) }), runProgram(program, undefined, { helpers: registry }));
});

test("checked mode starts every run with a zeroed stack, like the interpreter", () => {
  const jit = JitProgram.compile(assemble("ldxdw %r0, [%r10-16]\n stdw [%r10-16], 77\n exit"), { checked: true });
  try {
    assert.equal(jit.run(), 0n);
    assert.equal(jit.run(), 0n);
  } finally {
    jit.dispose();
  }
});

test("callbacks count towards the call depth: a function passed to bpf_loop that passes itself is recursion", () => {
  const helpers = new Map([
    [181, weightedSumHelper()],
    [5, weightedSumHelper()],
  ]);
  const options = { helpers, validate: { allowPseudoLddw: true } };
  // 0: lddw r2, &f (slot 4); 2: call 181; 3: exit; 4: f: call 5; 5: exit. f calling an ordinary helper is fine.
  const [lo, hi] = lddw(2, 0n, op.BPF_PSEUDO_FUNC);
  const fine = [{ ...lo, imm: 4 - 1 }, hi, insn(op.OP_CALL, 0, 0, 0, 181), insn(op.OP_EXIT), insn(op.OP_CALL, 0, 0, 0, 5), insn(op.OP_EXIT)];
  JitProgram.compile(fine, options).dispose();
  // f itself calls bpf_loop, which may call f again.
  const recursive = [...fine.slice(0, 4), insn(op.OP_CALL, 0, 0, 0, 181), insn(op.OP_EXIT)];
  assert.throws(() => JitProgram.compile(recursive, options), /recursion/);
});
