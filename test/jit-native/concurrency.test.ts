// Concurrency of the native maps and helpers: JIT-compiled programs run on 8 (or 4) native threads at
// once (created by a generated driver with pthread_create), updating one hash map, shared counters and a
// per-CPU array, or producing into a ring buffer that a TypeScript consumer drains at the same time from
// a worker thread. Totals must be exact and every record must arrive exactly once.
//
// Per-CPU values are incremented atomically: a userspace thread can be preempted (and migrated) in the
// middle of a read-modify-write, which a kernel program never is.

import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { after, test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { NativeRuntime } from "../../src/jit/native/native-runtime.js";
import { runOnThreads } from "../../src/jit/native/thread-driver.js";
import type { HashMap } from "../../src/maps/hash-map.js";
import { MapType } from "../../src/maps/map-types.js";
import { nativeMap, Scratch, u32 } from "./support/native-maps.js";
import type { ConsumerReport } from "./support/ringbuf-consumer.js";

const runtime = NativeRuntime.create();
const scratch = new Scratch();
after(() => {
  runtime.dispose();
  scratch.free();
});

const THREADS = 8;
const ITERATIONS = 20_000;
const SHARED_KEYS = 16;

const hex = (address: bigint): string => `0x${address.toString(16)}`;

/**
 * The runs' common start: r6 = the thread's context, r7 = its run counter (then incremented in the
 * context), r9 = the context's first word (a key base or a thread id).
 */
const NEXT_RUN = `
      mov %r6, %r1
      ldxdw %r7, [%r6+8]
      mov %r8, %r7
      add %r8, 1
      stxdw [%r6+8], %r8
      ldxdw %r9, [%r6+0]`;

/** Per-thread contexts in scratch memory: { u64 base (or thread id); u64 counter }. */
function contexts(count: number, base: (i: number) => bigint): bigint[] {
  return Array.from({ length: count }, (_, i) => {
    const at = 256 + 64 * i;
    const view = new DataView(scratch.bytes.buffer, scratch.bytes.byteOffset + at, 16);
    view.setBigUint64(0, base(i), true);
    view.setBigUint64(8, 0n, true);
    return scratch.at(at);
  });
}

test(`${THREADS} threads update one hash map, shared counters and a per-CPU array: no update is lost`, () => {
  const keys = nativeMap({ type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: THREADS * ITERATIONS, flags: 0, name: "keys" });
  const counters = nativeMap({ type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: SHARED_KEYS, flags: 0, name: "counters" });
  const percpu = nativeMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, name: "percpu" });
  const errors = nativeMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, name: "errors" });
  const program = assemble(`${NEXT_RUN}
      add %r9, %r7
      stxdw [%r10-8], %r9
      stxdw [%r10-16], %r9
      lddw %r1, ${hex(keys.address)}
      mov %r2, %r10
      add %r2, -8
      mov %r3, %r10
      add %r3, -16
      mov %r4, 1
      call 2
      jeq %r0, 0, shared
      stw [%r10-20], 0
      lddw %r1, ${hex(errors.address)}
      mov %r2, %r10
      add %r2, -20
      call 1
      jeq %r0, 0, shared
      mov %r1, 1
      lock add [%r0+0], %r1
    shared:
      mov %r9, %r7
      mod %r9, ${SHARED_KEYS}
      stxdw [%r10-8], %r9
    retry:
      lddw %r1, ${hex(counters.address)}
      mov %r2, %r10
      add %r2, -8
      call 1
      jne %r0, 0, count
      stdw [%r10-16], 0
      lddw %r1, ${hex(counters.address)}
      mov %r2, %r10
      add %r2, -8
      mov %r3, %r10
      add %r3, -16
      mov %r4, 1
      call 2
      ja retry
    count:
      mov %r1, 1
      lock add [%r0+0], %r1
      stw [%r10-20], 0
      lddw %r1, ${hex(percpu.address)}
      mov %r2, %r10
      add %r2, -20
      call 1
      jeq %r0, 0, out
      mov %r1, 1
      lock add [%r0+0], %r1
    out:
      mov %r0, 0
      exit
  `);
  const compiled = JitProgram.compile(program, { helpers: runtime.helperAddresses, validate: false });
  try {
    const ctxs = contexts(THREADS, (i) => BigInt(i) << 32n);
    runOnThreads(compiled.entryAddress, ctxs.map((r1) => ({ r1, r2: 0n, iterations: ITERATIONS })));
    const value = new Uint8Array(8);
    assert.equal(errors.map.lookupElem(u32(0), value), 0);
    assert.equal(new DataView(value.buffer).getBigUint64(0, true), 0n, "every insert of a new key succeeded");
    assert.equal(keys.map.count, THREADS * ITERATIONS);
    const key = new Uint8Array(8);
    const keyView = new DataView(key.buffer);
    for (let t = 0; t < THREADS; t++) {
      for (let i = 0; i < ITERATIONS; i++) {
        keyView.setBigUint64(0, (BigInt(t) << 32n) + BigInt(i), true);
        assert.equal(keys.map.lookupElem(key, value), 0, `key of thread ${t}, iteration ${i}`);
        assert.deepEqual(value, key);
      }
    }
    let total = 0n;
    for (let k = 0; k < SHARED_KEYS; k++) {
      keyView.setBigUint64(0, BigInt(k), true);
      assert.equal(counters.map.lookupElem(key, value), 0);
      total += new DataView(value.buffer).getBigUint64(0, true);
    }
    assert.equal(total, BigInt(THREADS * ITERATIONS), "shared counters");
    const all = new Uint8Array(percpu.map.sysValueSize);
    assert.equal(percpu.map.lookupElem(u32(0), all), 0);
    const view = new DataView(all.buffer);
    let perCpuTotal = 0n;
    for (let cpu = 0; cpu < percpu.map.ncpus; cpu++) perCpuTotal += view.getBigUint64(cpu * 8, true);
    assert.equal(perCpuTotal, BigInt(THREADS * ITERATIONS), "per-CPU total");
  } finally {
    compiled.dispose();
    for (const m of [keys, counters, percpu, errors]) m.free();
  }
});

test(`${THREADS} threads insert into and delete from one LRU hash: its lists and chains stay consistent`, () => {
  const lru = nativeMap({ type: MapType.LRU_HASH, keySize: 8, valueSize: 8, maxEntries: 256, flags: 0, name: "lru" });
  const program = assemble(`${NEXT_RUN}
      mov %r8, %r7
      mod %r8, 700
      add %r9, %r8
      stxdw [%r10-8], %r9
      stxdw [%r10-16], %r9
      lddw %r1, ${hex(lru.address)}
      mov %r2, %r10
      add %r2, -8
      mov %r3, %r10
      add %r3, -16
      mov %r4, 0
      call 2
      mov %r8, %r7
      mod %r8, 3
      jne %r8, 0, out
      lddw %r1, ${hex(lru.address)}
      mov %r2, %r10
      add %r2, -8
      call 3
    out:
      mov %r0, 0
      exit
  `);
  const compiled = JitProgram.compile(program, { helpers: runtime.helperAddresses, validate: false });
  try {
    runOnThreads(compiled.entryAddress, contexts(THREADS, (i) => BigInt(i) << 32n).map((r1) => ({ r1, r2: 0n, iterations: ITERATIONS })));
    // Walk every key with the TypeScript side: each value is its key, and the walk finds `count` keys.
    const map = lru.map as HashMap;
    const key = new Uint8Array(8);
    const next = new Uint8Array(8);
    const value = new Uint8Array(8);
    let seen = 0;
    let previous: Uint8Array | null = null;
    while (map.getNextKey(previous, next) === 0) {
      key.set(next);
      previous = key;
      assert.equal(map.lookupElem(key, value), 0);
      assert.deepEqual(value, key);
      seen++;
      assert.ok(seen <= 256, "no chain loops");
    }
    assert.equal(seen, map.count);
    // The lists still hand out and take back elements.
    for (let k = 0; k < 600; k++) {
      new DataView(key.buffer).setBigUint64(0, 1n << 40n | BigInt(k), true);
      assert.equal(map.updateElem(key, key), 0);
    }
    assert.ok(map.count <= 256);
  } finally {
    compiled.dispose();
    lru.free();
  }
});

const PRODUCERS = 4;
const RECORDS = 25_000;

test(`a ring buffer filled by ${PRODUCERS} threads delivers every record exactly once to the TypeScript consumer`, async () => {
  const size = 1 << 14; // small: producers wait for the consumer many times
  const rb = nativeMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0, name: "rb" });
  // Each run: one record { thread, sequence, magic }; every fifth sequence also reserves and discards one.
  const program = assemble(`${NEXT_RUN}
      mov %r8, %r7
      mod %r8, 5
      jne %r8, 0, reserve
    discard:
      lddw %r1, ${hex(rb.address)}
      mov %r2, 40
      mov %r3, 0
      call 131
      jeq %r0, 0, discard
      stdw [%r0+0], -1
      mov %r1, %r0
      mov %r2, 0
      call 133
    reserve:
      lddw %r1, ${hex(rb.address)}
      mov %r2, 24
      mov %r3, 0
      call 131
      jeq %r0, 0, reserve
      stxdw [%r0+0], %r9
      stxdw [%r0+8], %r7
      lddw %r1, 0x5eed5eed
      stxdw [%r0+16], %r1
      mov %r1, %r0
      mov %r2, 0
      call 132
      mov %r0, 0
      exit
  `);
  const compiled = JitProgram.compile(program, { helpers: runtime.helperAddresses, validate: false });
  const worker = new Worker(new URL("./support/ringbuf-consumer.js", import.meta.url), {
    workerData: { address: rb.address, size: rb.map.region.length, expected: PRODUCERS * RECORDS, timeoutMs: 60_000 },
  });
  try {
    const report = new Promise<ConsumerReport>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    runOnThreads(compiled.entryAddress, contexts(PRODUCERS, (i) => BigInt(i)).map((r1) => ({ r1, r2: 0n, iterations: RECORDS })));
    const { threads, sequences, malformed } = await report;
    assert.equal(malformed, 0, "only whole, submitted records (no discarded ones)");
    assert.equal(threads.length, PRODUCERS * RECORDS);
    const nextOf = new Array<number>(PRODUCERS).fill(0);
    threads.forEach((t, i) => {
      assert.equal(sequences[i], nextOf[t], `thread ${t}: records arrive once each, in its order`);
      nextOf[t]!++;
    });
    assert.deepEqual(nextOf, new Array(PRODUCERS).fill(RECORDS));
  } finally {
    await worker.terminate();
    compiled.dispose();
    rb.free();
  }
});

test("bpf_get_current_pid_tgid on several threads: this process's tgid, each thread's own tid", () => {
  const program = assemble(`
      mov %r6, %r1
      call 14
      stxdw [%r6+0], %r0
      call 8
      stxdw [%r6+8], %r0
      mov %r0, 0
      exit
  `);
  const compiled = JitProgram.compile(program, { helpers: runtime.helperAddresses, validate: false });
  try {
    const slots = contexts(4, () => 0n);
    runOnThreads(compiled.entryAddress, slots.map((r1) => ({ r1, r2: 0n, iterations: 3 })));
    const view = new DataView(scratch.bytes.buffer, scratch.bytes.byteOffset);
    const results = slots.map((_, i) => view.getBigUint64(256 + 64 * i, true));
    for (const r of results) assert.equal(r >> 32n, BigInt(process.pid));
    const tids = new Set(results.map((r) => r & 0xffffffffn));
    assert.equal(tids.size, 4, "every thread has its own tid");
    assert.ok(!tids.has(BigInt(process.pid)), "none of them is the main thread");
    for (let i = 0; i < 4; i++) assert.ok(view.getBigUint64(256 + 64 * i + 8, true) < 4096n, "a CPU number");
  } finally {
    compiled.dispose();
  }
});
