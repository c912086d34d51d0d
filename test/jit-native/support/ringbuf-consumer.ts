// A worker thread that consumes a ring buffer with the TypeScript consumer (RingbufMap.consume) while
// native threads produce into it, and reports every (thread, sequence) record it saw. The map is opened
// from its native address, as a second process would open a shared region.

import { parentPort, workerData } from "node:worker_threads";
import koffi from "koffi";
import { openMap } from "../../../src/maps/create-map.js";
import type { RingbufMap } from "../../../src/maps/ringbuf-map.js";

interface Job {
  address: bigint;
  size: number;
  expected: number;
  timeoutMs: number;
}

const job = workerData as Job;
const map = openMap(new Uint8Array(koffi.view(job.address, job.size))) as RingbufMap;
const threads: number[] = [];
const sequences: number[] = [];
let malformed = 0;
const deadline = Date.now() + job.timeoutMs;
while (threads.length < job.expected && Date.now() < deadline) {
  const got = map.consume((sample) => {
    const view = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
    if (sample.length !== 24 || view.getBigUint64(16, true) !== 0x5eed5eedn) {
      malformed++;
      return;
    }
    threads.push(Number(view.getBigUint64(0, true)));
    sequences.push(Number(view.getBigUint64(8, true)));
  });
  if (got === 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
}
parentPort!.postMessage({ threads, sequences, malformed });
