// Helpers run from real programs in the interpreter, with the kernel's return values.

import assert from "node:assert/strict";
import { test } from "node:test";
import { callbacksEnv } from "../support/helper-env.js";
import { assemble } from "../../src/isa/assembler.js";
import { registerCallbackHelpers } from "../../src/helpers/callbacks.js";
import { registerMemoryHelpers } from "../../src/helpers/memory.js";
import { registerOutputHelpers } from "../../src/helpers/output.js";
import { registerProbeHelpers } from "../../src/helpers/probe.js";
import { registerTaskHelpers } from "../../src/helpers/task.js";
import { registerTimeHelpers } from "../../src/helpers/time.js";
import type { TraceRecord } from "../../src/helpers/trace.js";
import { codeAddress } from "../../src/vm/address-space.js";
import { HelperRegistry } from "../../src/vm/helpers.js";
import { Interpreter } from "../../src/vm/interpreter.js";

function vm(source: string, traces: TraceRecord[] = []): Interpreter {
  const env = callbacksEnv(traces);
  const helpers = new HelperRegistry();
  registerMemoryHelpers(helpers);
  registerTimeHelpers(helpers);
  registerTaskHelpers(helpers, env);
  registerOutputHelpers(helpers, env);
  registerProbeHelpers(helpers, env);
  registerCallbackHelpers(helpers);
  return new Interpreter(assemble(source), { helpers, validate: { allowPseudoLddw: true } });
}

test("probe_read copies from valid memory and gives -EFAULT (zeroing the destination) otherwise", () => {
  const program = (src: string): string => `
    stdw [%r10-8], -1
    mov %r1, %r10
    add %r1, -8
    mov %r2, 8
    ${src}
    call 4
    ldxdw %r6, [%r10-8]
    add %r0, %r6
    exit`;
  const memory = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const good = vm(`mov %r9, %r1\n` + program("mov %r3, %r9"));
  assert.equal(good.runWithArgs([good.memory.add("input", memory)]), 0x0807060504030201n);
  const bad = vm(program("mov %r3, 0x1234"));
  assert.equal(BigInt.asIntN(64, bad.run()), -14n); // -EFAULT + 0 (destination zeroed)
});

test("probe_read_str copies up to the NUL and returns the length including it", () => {
  const v = vm(`
    mov %r9, %r1
    mov %r1, %r10
    add %r1, -16
    mov %r2, 16
    mov %r3, %r9
    call 45
    mov %r6, %r0
    ldxb %r7, [%r10-14]
    lsh %r6, 8
    or %r6, %r7
    mov %r0, %r6
    exit`);
  const address = v.memory.add("string", new TextEncoder().encode("hi!\0garbage"));
  assert.equal(v.runWithArgs([address]), (4n << 8n) | BigInt("!".charCodeAt(0)));
});

test("strncmp returns -1, 0 or 1 like the kernel", () => {
  const v = vm(`
    mov %r9, %r1
    mov %r1, %r9
    mov %r2, 3
    mov %r3, %r9
    add %r3, 4
    call 182
    exit`);
  const run = (a: string, b: string): bigint => {
    const bytes = new TextEncoder().encode(a.padEnd(4, "\0") + b + "\0");
    return BigInt.asIntN(64, v.runWithArgs([v.memory.add("strings", bytes)]));
  };
  assert.equal(run("abc", "abc"), 0n);
  assert.equal(run("abd", "abc"), 1n);
  assert.equal(run("abb", "abc"), -1n);
  assert.equal(run("abx", "abcdef"), 1n);
});

test("trace_printk formats its arguments and reports the task", () => {
  const traces: TraceRecord[] = [];
  const v = vm(`
    mov %r9, %r1
    mov %r1, %r9
    mov %r2, 16
    mov %r3, -5
    mov %r4, 255
    call 6
    exit`, traces);
  const fmt = new TextEncoder().encode("n=%d x=%x\0".padEnd(16, "\0"));
  assert.equal(v.runWithArgs([v.memory.add("fmt", fmt)]), 9n); // the length of "n=-5 x=ff"
  assert.equal(traces.length, 1);
  assert.equal(traces[0]!.text, "n=-5 x=ff");
  assert.equal(traces[0]!.comm, "test-task");
  assert.equal(traces[0]!.pid, 1234);
});

test("snprintf writes a truncated, NUL-terminated string and returns the full length + 1", () => {
  const v = vm(`
    mov %r9, %r1
    stdw [%r10-8], 42
    mov %r1, %r9
    add %r1, 16
    mov %r2, 6
    mov %r3, %r9
    mov %r4, %r10
    add %r4, -8
    mov %r5, 8
    call 165
    exit`);
  const bytes = new Uint8Array(32);
  bytes.set(new TextEncoder().encode("value=%d\0"));
  assert.equal(v.runWithArgs([v.memory.add("buffers", bytes)]), BigInt("value=42".length + 1));
  assert.equal(new TextDecoder().decode(bytes.subarray(16, 22)), "value\0");
});

test("pid_tgid, uid_gid and comm come from the environment", () => {
  assert.equal(vm("call 14\nexit").run(), (1234n << 32n) | 1235n);
  assert.equal(vm("call 15\nexit").run(), (20n << 32n) | 10n);
  const comm = vm(`
    mov %r1, %r10
    add %r1, -16
    mov %r2, 16
    call 16
    ldxdw %r0, [%r10-16]
    exit`);
  assert.equal(comm.run(), BigInt("0x" + Buffer.from("test-tas").reverse().toString("hex")));
});

test("bpf_loop calls back until the callback returns 1", () => {
  const program = assemble(`
    mov %r1, 10
    lddw %r2, 0
    mov %r3, 0
    mov %r4, 0
    call 181
    exit
    mov %r0, 0
    jne %r1, 3, +1
    mov %r0, 1
    exit`);
  // Point lddw at the callback (slot 7) the way the loader does.
  program[1]!.imm = Number(codeAddress(7) & 0xffffffffn);
  program[2]!.imm = Number(codeAddress(7) >> 32n);
  const helpers = registerCallbackHelpers(new HelperRegistry());
  assert.equal(new Interpreter(program, { helpers }).run(), 4n); // stopped in iteration 3 (the 4th)
});
