// The native helpers, called directly and from JIT-compiled programs, against the TypeScript maps and
// helpers: ring buffer and perf records read by the TypeScript consumers, fault-tolerant probe reads and
// writes, clocks, task helpers, trace_printk through the trace ring, bpf_get_stack, poisoned calls.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import koffi from "koffi";
import { clockNs, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE } from "../../src/native/clock.js";
import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { NativeRuntime } from "../../src/jit/native/native-runtime.js";
import { SharedMemory } from "../../src/jit/native/shared-memory.js";
import { MapType } from "../../src/maps/map-types.js";
import type { PerfEventArrayMap } from "../../src/maps/perf-event-array-map.js";
import type { RingbufMap } from "../../src/maps/ringbuf-map.js";
import { assertSameBytes, nativeMap, Scratch, signed, u32 } from "./support/native-maps.js";

const runtime = NativeRuntime.create();
/** The same helpers with probe reads through the fault guard instead of system calls. */
const guarded = NativeRuntime.create({ faultGuard: "signal" });
const scratch = new Scratch();
after(() => {
  runtime.dispose();
  guarded.dispose();
  scratch.free();
});
const MODES = [
  ["system calls", runtime],
  ["the fault guard", guarded],
] as const;

const EFAULT = -14;
const EINVAL = -22;

function ringbuf(size = 4096): { map: RingbufMap; address: bigint; free(): void } {
  const m = nativeMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0, name: "rb" });
  return { map: m.map as RingbufMap, address: m.address, free: m.free };
}

function drain(map: RingbufMap): Uint8Array[] {
  const out: Uint8Array[] = [];
  map.consume((sample) => out.push(sample.slice()));
  return out;
}

test("ringbuf: native reserve/submit/discard/output records reach the TypeScript consumer", () => {
  const rb = ringbuf();
  try {
    const sample = runtime.call("ringbuf_reserve", rb.address, 12n, 0n);
    assert.notEqual(sample, 0n);
    new Uint8Array(koffi.view(sample, 12)).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(drain(rb.map).length, 0, "a reserved record holds the consumer back");
    assert.equal(runtime.call("ringbuf_submit", sample, 0n), 0n);
    const discarded = runtime.call("ringbuf_reserve", rb.address, 8n, 0n);
    assert.equal(runtime.call("ringbuf_discard", discarded, 0n), 0n);
    assert.equal(signed(runtime.call("ringbuf_output", rb.address, scratch.put(0, new Uint8Array([42, 43, 44])), 3n, 0n)), 0);
    assert.deepEqual(drain(rb.map), [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), new Uint8Array([42, 43, 44])]);
    // Bad flags, a size that cannot fit, and the queries.
    assert.equal(runtime.call("ringbuf_reserve", rb.address, 8n, 1n), 0n);
    assert.equal(runtime.call("ringbuf_reserve", rb.address, 4096n, 0n), 0n);
    assert.equal(signed(runtime.call("ringbuf_output", rb.address, scratch.at(0), 3n, 8n)), EINVAL);
    assert.equal(signed(runtime.call("ringbuf_submit", sample, 4n)), EINVAL);
    assert.equal(runtime.call("ringbuf_query", rb.address, 1n), 4096n);
    assert.equal(runtime.call("ringbuf_query", rb.address, 0n), 0n, "everything was consumed");
    assert.equal(runtime.call("ringbuf_query", rb.address, 3n), BigInt(rb.map.query(3)));
    assert.equal(runtime.call("ringbuf_query", rb.address, 2n), BigInt(rb.map.query(2)));
  } finally {
    rb.free();
  }
});

test("ringbuf: a full ring refuses (EAGAIN), and records that wrap past the end read back whole", () => {
  const rb = ringbuf();
  try {
    const payload = (i: number): Uint8Array => new Uint8Array(1000).map((_, j) => (i * 7 + j) & 0xff);
    let written = 0;
    let refused = 0;
    const seen: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const result = signed(runtime.call("ringbuf_output", rb.address, scratch.put(0, payload(i)), 1000n, 0n));
      if (result === 0) written++;
      else {
        assert.equal(result, -11);
        refused++;
        seen.push(...drain(rb.map)); // make room
        assert.equal(signed(runtime.call("ringbuf_output", rb.address, scratch.put(0, payload(i)), 1000n, 0n)), 0);
        written++;
      }
    }
    seen.push(...drain(rb.map));
    assert.ok(refused > 0, "the ring filled up");
    assert.equal(seen.length, written);
    seen.forEach((sample, i) => assert.deepEqual(sample, payload(i), `record ${i}`));
  } finally {
    rb.free();
  }
});

test("perf_event_output: native records are the TypeScript ones, byte for byte, LOST records included", () => {
  const spec = { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "perf" };
  const a = nativeMap(spec, { ncpus: 2, perfRingPages: 1, seed: 1 });
  const b = nativeMap(spec, { ncpus: 2, perfRingPages: 1, seed: 1 });
  try {
    for (const m of [a, b]) for (const slot of [0, 1]) m.map.updateElem(u32(slot), u32(slot + 1));
    const perf = b.map as PerfEventArrayMap;
    for (let i = 0; i < 300; i++) {
      const size = 1 + (i % 37);
      const data = new Uint8Array(size).map((_, j) => i + j);
      const flags = i % 3 === 0 ? 1 : 0;
      const native = signed(runtime.call("perf_event_output", 0n, a.address, BigInt(flags), scratch.put(0, data), BigInt(size)));
      assert.equal(native, perf.output(flags, 0, data, 0, size), `record ${i}`);
      if (i % 50 === 49) for (const m of [a.map, b.map] as PerfEventArrayMap[]) m.consume(0, () => undefined);
    }
    assert.equal(signed(runtime.call("perf_event_output", 0n, a.address, 5n, scratch.at(0), 4n)), perf.output(5, 0, new Uint8Array(4), 0, 4));
    assert.equal(signed(runtime.call("perf_event_output", 0n, a.address, 1n << 32n, scratch.at(0), 4n)), EINVAL);
    assertSameBytes(a.map.region, b.map.region, "perf regions");
  } finally {
    a.free();
    b.free();
  }
});

for (const [mode, rt] of MODES) {
  test(`probe_read: good addresses copy, bad ones give -EFAULT and a zeroed destination (${mode})`, () => {
    const source = scratch.put(1024, new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]));
    scratch.bytes.fill(0xee, 2048, 2056);
    assert.equal(rt.call("probe_read", scratch.at(2048), 8n, source), 0n);
    assert.deepEqual(scratch.bytes.slice(2048, 2056), new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]));
    for (const bad of [0n, 8n, 0xdead0000000n, rt.privateBlock.address + 1n << 47n]) {
      scratch.bytes.fill(0xee, 2048, 2056);
      assert.equal(signed(rt.call("probe_read", scratch.at(2048), 8n, bad)), EFAULT, `address 0x${bad.toString(16)}`);
      assert.deepEqual(scratch.bytes.slice(2048, 2056), new Uint8Array(8));
    }
    // A read that starts on a mapped page and runs into an unmapped one fails as a whole.
    const guarded = guardPage();
    try {
      assert.equal(signed(rt.call("probe_read", scratch.at(2048), 16n, guarded.lastBytes(8))), EFAULT);
    } finally {
      guarded.free();
    }
  });
}

/** Two pages with the second unmapped: addresses just before the hole. */
function guardPage(): { lastBytes(n: number): bigint; bytes: Uint8Array; free(): void } {
  const memory = SharedMemory.shared(8192);
  const munmap = koffi.load("libc.so.6").func("int munmap(uint64_t addr, size_t length)") as (a: bigint, n: number) => number;
  assert.equal(munmap(memory.address + 4096n, 4096), 0);
  const bytes = new Uint8Array(koffi.view(memory.address, 4096));
  return { lastBytes: (n) => memory.address + BigInt(4096 - n), bytes, free: () => munmap(memory.address, 4096) };
}

for (const [mode, rt] of MODES) {
  test(`probe_read_str: up to the NUL, truncation, a string ending right before unmapped memory, faults (${mode})`, () => {
    const text = new TextEncoder().encode("hello\0world");
    const source = scratch.put(1024, text);
    scratch.bytes.fill(0xee, 2048, 2080);
    assert.equal(rt.call("probe_read_str", scratch.at(2048), 32n, source), 6n);
    assert.deepEqual(scratch.bytes.slice(2048, 2055), new Uint8Array([104, 101, 108, 108, 111, 0, 0xee]), "bytes after the NUL are left alone");
    assert.equal(rt.call("probe_read_str", scratch.at(2048), 4n, source), 4n);
    assert.deepEqual(scratch.bytes.slice(2048, 2052), new Uint8Array([104, 101, 108, 0]));
    assert.equal(rt.call("probe_read_str", scratch.at(2048), 0n, source), 0n);
    const guarded = guardPage();
    try {
      guarded.bytes.set(new TextEncoder().encode("edge\0"), 4096 - 5);
      assert.equal(rt.call("probe_read_str", scratch.at(2048), 64n, guarded.lastBytes(5)), 5n);
      guarded.bytes.set(new TextEncoder().encode("edges"), 4096 - 5);
      assert.equal(signed(rt.call("probe_read_str", scratch.at(2048), 64n, guarded.lastBytes(5))), EFAULT);
      assert.deepEqual(scratch.bytes.slice(2048, 2048 + 64), new Uint8Array(64));
    } finally {
      guarded.free();
    }
    // A long string is read in several chunks.
    const long = new Uint8Array(700).fill(0x61);
    long[699] = 0;
    const longSource = scratch.put(8192, long);
    assert.equal(rt.call("probe_read_str", scratch.at(16384), 1000n, longSource), 700n);
    assert.deepEqual(scratch.bytes.slice(16384, 16384 + 700), long);
  });
}

for (const [mode, rt] of MODES) {
  test(`probe_write_user: writes writable memory, refuses read-only memory with -EFAULT (${mode})`, () => {
    const target = scratch.at(3000);
    assert.equal(rt.call("probe_write_user", target, scratch.put(3100, new Uint8Array([1, 2, 3])), 3n), 0n);
    assert.deepEqual(scratch.bytes.slice(3000, 3003), new Uint8Array([1, 2, 3]));
    const code = rt.address("probe_write_user"); // read+execute only
    assert.equal(signed(rt.call("probe_write_user", code, scratch.at(3100), 3n)), EFAULT);
    assert.equal(signed(rt.call("probe_write_user", 16n, scratch.at(3100), 3n)), EFAULT);
  });
}

test("clocks come from the vDSO and agree with the kernel's", () => {
  const before = process.hrtime.bigint();
  const native = runtime.call("ktime_get_ns");
  const afterNs = process.hrtime.bigint();
  assert.ok(native >= before && native <= afterNs, `${before} <= ${native} <= ${afterNs}`);
  const boot = runtime.call("ktime_get_boot_ns");
  assert.ok(boot <= clockNs(CLOCK_BOOTTIME) && boot > clockNs(CLOCK_BOOTTIME) - 1_000_000_000n);
  const coarse = runtime.call("ktime_get_coarse_ns");
  assert.ok(coarse <= clockNs(CLOCK_MONOTONIC_COARSE) + 10_000_000n && coarse > clockNs(CLOCK_MONOTONIC_COARSE) - 1_000_000_000n);
  const jiffies = runtime.call("jiffies64");
  assert.ok(jiffies > 0n && jiffies <= (clockNs(CLOCK_BOOTTIME) * 250n) / 1_000_000_000n);
});

test("task helpers: pid/tgid, uid/gid, comm, CPU number, random numbers", () => {
  const gettid = koffi.load("libc.so.6").func("int gettid(void)") as () => number;
  assert.equal(runtime.call("get_current_pid_tgid"), (BigInt(process.pid) << 32n) | BigInt(gettid()));
  assert.equal(runtime.call("get_current_uid_gid"), (BigInt(process.getgid!()) << 32n) | BigInt(process.getuid!()));
  scratch.bytes.fill(0xee, 4000, 4016);
  assert.equal(runtime.call("get_current_comm", scratch.at(4000), 16n), 0n);
  const comm = readFileSync(`/proc/self/task/${gettid()}/comm`, "utf8").trim();
  assert.equal(new TextDecoder().decode(scratch.bytes.slice(4000, 4000 + comm.length)), comm);
  assert.ok(scratch.bytes.slice(4000 + comm.length, 4016).every((b) => b === 0));
  assert.equal(runtime.call("get_current_comm", scratch.at(4000), 3n), 0n);
  assert.deepEqual(scratch.bytes.slice(4000, 4003), new Uint8Array([...new TextEncoder().encode(comm.slice(0, 2)), 0]));
  assert.equal(signed(runtime.call("get_current_comm", scratch.at(4000), 0n)), EINVAL);
  const cpu = Number(runtime.call("get_smp_processor_id"));
  assert.ok(cpu >= 0 && cpu < 4096);
  const randoms = new Set(Array.from({ length: 100 }, () => runtime.call("get_prandom_u32")));
  assert.ok(randoms.size > 95 && [...randoms].every((r) => r < 1n << 32n));
});

test("trace_printk: records in the trace ring, formatted like the interpreter's, %s strings copied at call time", () => {
  const fmt = scratch.put(5000, new TextEncoder().encode("n=%d s=%s x=%llx %%\0"));
  const str = scratch.put(5100, new TextEncoder().encode("copied\0"));
  assert.equal(runtime.call("trace_printk", fmt, 22n, BigInt.asUintN(64, -5n), str, 0xabcdefn), 0n);
  scratch.put(5100, new TextEncoder().encode("changed\0"));
  assert.equal(signed(runtime.call("trace_printk", fmt, 4n, 0n, 0n, 0n)), EINVAL, "no NUL within the size");
  const badFormat = scratch.put(5200, new TextEncoder().encode("%q\0"));
  assert.equal(runtime.call("trace_printk", badFormat, 3n, 0n, 0n, 0n), 0n);
  const bad = scratch.put(5300, new TextEncoder().encode("[%s]\0"));
  assert.equal(runtime.call("trace_printk", bad, 5n, 8n, 0n, 0n), 0n);
  const records = runtime.traceRing.drain();
  assert.deepEqual(
    records.map((r) => r.text),
    ["n=-5 s=copied x=abcdef %", "[]"],
    "the %q record is dropped, as the interpreter's helper refuses it",
  );
  assert.equal(records[0]!.pid, process.pid);
  assert.ok(records[0]!.timestampNs > 0n && records[0]!.comm.length > 0);
});

test("get_stack: a frame-pointer walk from the probe's registers, skip and bounds", () => {
  // Fake frames: [fp] = next fp, [fp + 8] = return address; the chain ends at a zero frame pointer.
  const frames = scratch.at(6000);
  const view = new DataView(scratch.bytes.buffer, scratch.bytes.byteOffset);
  view.setBigUint64(6000, frames + 32n, true);
  view.setBigUint64(6008, 0x1111n, true);
  view.setBigUint64(6032, frames + 64n, true);
  view.setBigUint64(6040, 0x2222n, true);
  view.setBigUint64(6064, 0n, true);
  view.setBigUint64(6072, 0x3333n, true);
  const regs = new Uint8Array(168);
  const regsView = new DataView(regs.buffer);
  regsView.setBigUint64(32, frames, true); // rbp
  regsView.setBigUint64(128, 0x4444n, true); // rip
  const ctx = scratch.put(7000, regs);
  const read = (count: number): bigint[] => Array.from({ length: count }, (_, i) => view.getBigUint64(8000 + 8 * i, true));
  scratch.bytes.fill(0xee, 8000, 8064);
  assert.equal(runtime.call("get_stack", ctx, scratch.at(8000), 64n, 0n), 32n);
  assert.deepEqual(read(8), [0x4444n, 0x1111n, 0x2222n, 0x3333n, 0n, 0n, 0n, 0n]);
  assert.equal(runtime.call("get_stack", ctx, scratch.at(8000), 64n, 2n), 16n);
  assert.deepEqual(read(3), [0x2222n, 0x3333n, 0n]);
  assert.equal(runtime.call("get_stack", ctx, scratch.at(8000), 16n, 0n), 16n);
  // A frame pointer into unmapped memory stops the walk instead of faulting.
  regsView.setBigUint64(32, 0xdead0000n, true);
  assert.equal(runtime.call("get_stack", scratch.put(7000, regs), scratch.at(8000), 64n, 0n), 8n);
  regsView.setBigUint64(128, 0n, true);
  assert.equal(signed(runtime.call("get_stack", scratch.put(7000, regs), scratch.at(8000), 64n, 0n)), EFAULT);
  assert.equal(signed(runtime.call("get_stack", ctx, scratch.at(8000), 64n, 1n << 12n)), EINVAL);
});

function compile(program: Insn[]): JitProgram {
  return JitProgram.compile(program, { helpers: runtime.helperAddresses });
}

test("faults stay contained: a JIT-compiled probe_read of a bad address gets -EFAULT and the process goes on", () => {
  const mov = (dst: number, imm: number): Insn => insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst, 0, 0, imm);
  // r0 = probe_read(r10 - 8, 8, 0xdead...) << 32 | probe_read(r10 - 16, 8, &r10[-8]) as a u32
  const program: Insn[] = [
    insn(op.BPF_ST | op.BPF_MEM | op.BPF_DW, op.REG_FP, 0, -8, 7),
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 1, op.REG_FP),
    insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 1, 0, 0, -8),
    mov(2, 8),
    ...lddw(3, 0xdead00000000n),
    insn(op.OP_CALL, 0, 0, 0, 4),
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 6, 0),
    insn(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, 7, op.REG_FP, -8), // zeroed by the failed read
    insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 0, 6),
    insn(op.BPF_ALU64 | op.BPF_LSH | op.BPF_K, 0, 0, 0, 32),
    insn(op.BPF_ALU64 | op.BPF_OR | op.BPF_X, 0, 7),
    insn(op.OP_EXIT),
  ];
  const compiled = compile(program);
  try {
    for (let i = 0; i < 1000; i++) assert.equal(compiled.run(), BigInt.asUintN(64, BigInt(EFAULT) << 32n));
  } finally {
    compiled.dispose();
  }
  assert.equal(1 + 1, 2, "still running");
});

test("helper calls from JIT-compiled code reach the helper of their id", () => {
  // Jumps the compiler can shorten between helper calls: the helper table must be where the calls look.
  const program: Insn[] = [];
  for (let i = 0; i < 20; i++) program.push(insn(op.BPF_JMP | op.BPF_JEQ | op.BPF_K, 6, 0, 1, 12345), insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 6, 0, 0, 1));
  program.push(insn(op.OP_CALL, 0, 0, 0, 14), insn(op.OP_EXIT));
  const compiled = compile(program);
  try {
    assert.equal(compiled.run() >> 32n, BigInt(process.pid), "bpf_get_current_pid_tgid");
  } finally {
    compiled.dispose();
  }
});
