import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapType, PERF_CURRENT_CPU } from "../../src/maps/map-types.js";
import { PerfMmapPage, type PerfEventArrayMap } from "../../src/maps/perf-event-array-map.js";
import { makeMap, u32 } from "./support/make-map.js";

const perf = (pages = 1): PerfEventArrayMap =>
  makeMap<PerfEventArrayMap>({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "events" }, { ncpus: 2, perfRingPages: pages });

test("samples land in the chosen CPU's ring as PERF_RECORD_SAMPLE with raw data", () => {
  const map = perf();
  assert.equal(map.output(PERF_CURRENT_CPU, 1, new Uint8Array([1, 2, 3]), 0, 3), -Errno.ENOENT, "nobody consumes ring 1 yet");
  assert.equal(map.updateElem(u32(1), u32(5)), 0);
  assert.equal(map.output(PERF_CURRENT_CPU, 1, new Uint8Array([1, 2, 3]), 0, 3), 0);
  const page = map.ringOffset(1);
  const v = map.view;
  assert.equal(Number(v.getBigUint64(page + PerfMmapPage.dataOffset, true)), 4096);
  assert.equal(Number(v.getBigUint64(page + PerfMmapPage.dataSize, true)), 4096);
  assert.equal(Number(v.getBigUint64(page + PerfMmapPage.dataHead, true)), 16);
  const record = page + 4096;
  assert.deepEqual([v.getUint32(record, true), v.getUint16(record + 4, true), v.getUint16(record + 6, true)], [9, 2, 16]);
  assert.equal(v.getUint32(record + 8, true), 4, "raw size padded so that 4 + size is a multiple of 8");
  const samples: number[][] = [];
  assert.equal(map.consume(1, (raw) => samples.push([...raw])), 1);
  assert.deepEqual(samples, [[1, 2, 3, 0]]);
  assert.equal(Number(v.getBigUint64(page + PerfMmapPage.dataTail, true)), 16);
});

test("a full ring drops samples, counts them, and reports them in a PERF_RECORD_LOST", () => {
  const map = perf();
  map.updateElem(u32(0), u32(1));
  const sample = new Uint8Array(500);
  let accepted = 0;
  while (map.output(0, 0, sample, 0, 500) === 0) accepted++;
  assert.equal(accepted, 7, "7 records of 512 bytes fit in 4096 - 1");
  assert.equal(map.output(0, 0, sample, 0, 500), -Errno.ENOSPC);
  assert.equal(map.lost(0), 2);
  let samples = 0;
  map.consume(0, () => samples++);
  assert.equal(samples, 7);
  assert.equal(map.output(0, 0, sample.fill(3), 0, 500), 0);
  const lost: number[] = [];
  const raws: Uint8Array[] = [];
  assert.equal(map.consume(0, (raw) => raws.push(raw.slice()), (count) => lost.push(count)), 2);
  assert.deepEqual(lost, [2]);
  assert.equal(raws.length, 1);
  assert.equal(raws[0]!.length, 500, "round_up(500 + 4, 8) - 4");
  assert.ok(raws[0]!.subarray(0, 500).every((b) => b === 3), "the sample wrapped around the end intact");
  assert.equal(map.lost(0), 0);
});

test("index and flag checks of bpf_perf_event_output", () => {
  const map = perf();
  assert.equal(map.output(2, 0, new Uint8Array(1), 0, 1), -Errno.E2BIG);
  assert.equal(map.output(2 ** 32, 0, new Uint8Array(1), 0, 1), -Errno.EINVAL);
  assert.equal(map.output(0, 0, new Uint8Array(70000), 0, 70000), -Errno.ENOENT, "no consumer is checked first");
  assert.equal(map.updateElem(u32(0), u32(3)), 0);
  assert.equal(map.output(0, 0, new Uint8Array(70000), 0, 70000), -Errno.E2BIG, "a record's size is a u16");
  assert.equal(map.deleteElem(u32(0)), 0);
  assert.equal(map.lookupElem(u32(0), new Uint8Array(4)), -Errno.ENOTSUPP);
  assert.equal(map.deleteElem(u32(0)), -Errno.ENOENT);
  assert.equal(map.updateElem(u32(0), u32(3), 1), -Errno.EINVAL);
  assert.equal(map.updateElem(u32(2), u32(3)), -Errno.E2BIG);
  assert.equal(map.updateElem(u32(0), u32(3)), 0);
  assert.equal(map.deleteElem(u32(0)), 0);
  assert.equal(map.output(0, 0, new Uint8Array(1), 0, 1), -Errno.ENOENT);
});
