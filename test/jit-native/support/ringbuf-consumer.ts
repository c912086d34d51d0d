// A worker thread that consumes a ring buffer with the TypeScript consumer (RingbufMap.consume) while
// native threads produce into it, and reports every (thread, sequence) record it saw. The map is opened
// from its native address, as a second process would open a shared region.

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import koffi from "koffi";
import { openMap } from "../../../src/maps/create-map.js";
import type { RingbufMap } from "../../../src/maps/ringbuf-map.js";

export interface ConsumerJob {
  address: bigint;
  size: number;
  expected: number;
  timeoutMs: number;
}

export interface ConsumerReport {
  threads: number[];
  sequences: number[];
  malformed: number;
}

function consume(job: ConsumerJob): ConsumerReport {
  const map = openMap(new Uint8Array(koffi.view(job.address, job.size))) as RingbufMap;
  const report: ConsumerReport = { threads: [], sequences: [], malformed: 0 };
  const idle = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + job.timeoutMs;
  while (report.threads.length < job.expected && Date.now() < deadline) {
    const got = map.consume((sample) => {
      const view = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
      if (sample.length !== 24 || view.getBigUint64(16, true) !== 0x5eed5eedn) {
        report.malformed++;
        return;
      }
      report.threads.push(Number(view.getBigUint64(0, true)));
      report.sequences.push(Number(view.getBigUint64(8, true)));
    });
    if (got === 0) Atomics.wait(idle, 0, 0, 1);
  }
  return report;
}

// `node --test dist/test/` also loads this file directly: only a worker given a job does anything.
if (!isMainThread && workerData) parentPort!.postMessage(consume(workerData as ConsumerJob));
