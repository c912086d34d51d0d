// A worker thread that opens a map region another thread created (as another process would) and hammers
// it, for the concurrency tests. Run as a plain script it does nothing.

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { openMap } from "../../../src/maps/create-map.js";
import type { RingbufMap } from "../../../src/maps/ringbuf-map.js";
import { Errno } from "../../../src/maps/errno.js";

export interface WorkerTask {
  task: "hash" | "lru" | "ringbuf" | "queue";
  buffer: SharedArrayBuffer;
  byteOffset: number;
  byteLength: number;
  worker: number;
  rounds: number;
  /** Int32 flag the main thread sets to release all workers at once. */
  start: SharedArrayBuffer;
}

function u32(bytes: Uint8Array, value: number): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, value >>> 0, true);
  return bytes;
}

function run(task: WorkerTask): unknown {
  const map = openMap(new Uint8Array(task.buffer, task.byteOffset, task.byteLength));
  const gate = new Int32Array(task.start);
  while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 10);
  const key = new Uint8Array(4);
  const value = new Uint8Array(8);
  const base = task.worker << 20;
  switch (task.task) {
    case "hash": {
      // Each worker owns keys base..base+99: inserts them all, rewrites, deletes the odd ones, repeatedly.
      let failures = 0;
      for (let round = 0; round < task.rounds; round++) {
        for (let i = 0; i < 100; i++) if (map.progUpdate(u32(key, base + i), 0, u32(value, round * 1000 + i), 0, 0, task.worker) !== 0) failures++;
        for (let i = 1; i < 100; i += 2) if (map.progDelete(u32(key, base + i), 0, task.worker) !== 0) failures++;
      }
      return failures;
    }
    case "lru": {
      let failures = 0;
      let seed = task.worker + 1;
      for (let i = 0; i < task.rounds; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const k = seed % 500;
        if (map.progUpdate(u32(key, k), 0, u32(value, k), 0, 0, task.worker) !== 0) failures++;
        // Another thread may evict and recycle the element between the lookup and the read (as in the
        // kernel, where LRU elements are reused at once), so the value read is some key's, not always k's.
        const offset = map.progLookup(key, 0, task.worker);
        if (offset >= 0 && map.view.getUint32(offset, true) >= 500) failures++;
      }
      return failures;
    }
    case "ringbuf": {
      const rb = map as RingbufMap;
      const record = new Uint8Array(12);
      for (let seq = 0; seq < task.rounds; seq++) {
        u32(record, task.worker);
        u32(record.subarray(4), seq);
        u32(record.subarray(8), seq ^ 0x5a5a5a5a);
        while (rb.output(record, 0, 12, 0) === -Errno.EAGAIN) {
          // The consumer is behind: wait for it.
        }
      }
      return 0;
    }
    case "queue": {
      const popped: number[] = [];
      for (let i = 0; i < task.rounds; i++) {
        while (map.progPush(u32(value, base + i), 0, 0, 0) === -Errno.E2BIG) {
          if (map.progPop(value, 0, 0) === 0) popped.push(new DataView(value.buffer).getUint32(0, true));
        }
        if (i % 3 === 0 && map.progPop(value, 0, 0) === 0) popped.push(new DataView(value.buffer).getUint32(0, true));
      }
      return popped;
    }
  }
}

if (!isMainThread && parentPort) parentPort.postMessage(run(workerData as WorkerTask));
