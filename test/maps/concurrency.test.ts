// Several threads share one map region (a SharedArrayBuffer, as processes will share a memfd) and use it
// at the same time: the lock words and atomics of the layouts must keep every operation whole.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import type { BpfMap } from "../../src/maps/bpf-map.js";
import { createMap, mapRegionSize } from "../../src/maps/create-map.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { MapType } from "../../src/maps/map-types.js";
import type { RingbufMap } from "../../src/maps/ringbuf-map.js";
import type { WorkerTask } from "./support/map-worker.js";

const WORKER_URL = new URL("./support/map-worker.js", import.meta.url);
const WORKERS = 4;

function sharedMap(spec: MapSpec): BpfMap {
  // Placed at an offset inside a bigger buffer, as a region of an arena would be.
  const size = mapRegionSize(spec, { ncpus: WORKERS });
  const buffer = new SharedArrayBuffer(size + 4096);
  return createMap(spec, new Uint8Array(buffer, 4096, size), { ncpus: WORKERS });
}

function startWorkers(map: BpfMap, task: WorkerTask["task"], rounds: number): { results: Promise<unknown[]>; go: () => void } {
  const start = new SharedArrayBuffer(4);
  const results = Promise.all(
    Array.from({ length: WORKERS }, (_, worker) => {
      const data: WorkerTask = {
        task,
        buffer: map.region.buffer as SharedArrayBuffer,
        byteOffset: map.region.byteOffset,
        byteLength: map.region.byteLength,
        worker,
        rounds,
        start,
      };
      const thread = new Worker(WORKER_URL, { workerData: data });
      return new Promise<unknown>((resolve, reject) => {
        thread.once("message", resolve);
        thread.once("error", reject);
      });
    }),
  );
  return {
    results,
    go: () => {
      Atomics.store(new Int32Array(start), 0, 1);
      Atomics.notify(new Int32Array(start), 0);
    },
  };
}

function keysOf(map: BpfMap): number[] {
  const keys: number[] = [];
  let key: Uint8Array | null = null;
  const next = new Uint8Array(map.keySize);
  while (map.getNextKey(key, next) === 0) {
    keys.push(new DataView(next.buffer).getUint32(0, true));
    key = next.slice();
  }
  return keys;
}

test("hash: four threads inserting, rewriting and deleting their own keys lose nothing", async () => {
  const map = sharedMap({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 400, flags: 0, name: "h" });
  const rounds = 200;
  const { results, go } = startWorkers(map, "hash", rounds);
  go();
  assert.deepEqual(await results, [0, 0, 0, 0], "no operation failed");
  const keys = keysOf(map).sort((a, b) => a - b);
  const expected = [];
  for (let w = 0; w < WORKERS; w++) for (let i = 0; i < 100; i += 2) expected.push((w << 20) + i);
  assert.deepEqual(keys, expected);
  assert.equal(map.count, expected.length);
  const value = new Uint8Array(8);
  for (const k of expected) {
    assert.equal(map.lookupElem(new Uint8Array(new Uint32Array([k]).buffer), value), 0);
    assert.equal(new DataView(value.buffer).getUint32(0, true), (rounds - 1) * 1000 + (k & 0xfffff));
  }
  // Every element came back to the free list: the map fills up to max_entries again.
  for (let i = 0; i < 200; i++) assert.equal(map.updateElem(new Uint8Array(new Uint32Array([0x7000000 + i]).buffer), value), 0);
  assert.equal(map.updateElem(new Uint8Array(new Uint32Array([0x7fff0000]).buffer), value), -7);
});

test("lru_hash: four threads on four CPUs keep the lists and chains consistent", async () => {
  const map = sharedMap({ type: MapType.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 128, flags: 0, name: "lru" });
  const { results, go } = startWorkers(map, "lru", 6000);
  go();
  assert.deepEqual(await results, [0, 0, 0, 0], "every update succeeded and every lookup read a whole value");
  const keys = keysOf(map);
  assert.equal(new Set(keys).size, keys.length, "no key twice");
  assert.ok(keys.length <= 128);
  assert.equal(keys.length, map.count);
  // The pool is intact: 128 fresh keys fit (evicting the old ones) and are all found.
  const value = new Uint8Array(8);
  for (let i = 0; i < 128; i++) assert.equal(map.updateElem(new Uint8Array(new Uint32Array([10000 + i]).buffer), value), 0);
  assert.ok(keysOf(map).length <= 128);
});

test("ringbuf: four producer threads, one consumer: every record exactly once, in each producer's order", async () => {
  const rb = sharedMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0, name: "rb" }) as RingbufMap;
  const rounds = 3000;
  const { results, go } = startWorkers(rb, "ringbuf", rounds);
  const nextSeq = new Array<number>(WORKERS).fill(0);
  let total = 0;
  let done = false;
  void results.then(() => (done = true));
  go();
  const consume = (): void => {
    total += rb.consume((sample) => {
      const v = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
      const worker = v.getUint32(0, true);
      const seq = v.getUint32(4, true);
      assert.equal(sample.length, 12);
      assert.equal(seq, nextSeq[worker], `worker ${worker}`);
      assert.equal(v.getUint32(8, true), (seq ^ 0x5a5a5a5a) >>> 0);
      nextSeq[worker] = seq + 1;
    });
  };
  while (!done) {
    consume();
    await new Promise((resolve) => setImmediate(resolve));
  }
  consume();
  assert.equal(total, WORKERS * rounds);
  assert.deepEqual(nextSeq, new Array(WORKERS).fill(rounds));
});

test("queue: pushes and pops from four threads never duplicate or lose a value", async () => {
  const queue = sharedMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 64, flags: 0, name: "q" });
  const rounds = 3000;
  const { results, go } = startWorkers(queue, "queue", rounds);
  go();
  const popped = ((await results) as number[][]).flat();
  const value = new Uint8Array(4);
  while (queue.lookupAndDeleteElem(null, value) === 0) popped.push(new DataView(value.buffer).getUint32(0, true));
  assert.equal(popped.length, WORKERS * rounds);
  assert.equal(new Set(popped).size, popped.length);
});
