// The byte layouts documented at the top of each map module are the contract generated native code will
// follow. These tests read and write regions the way such code would, with the documented offsets
// written out as numbers (not imported), so a layout change that forgets its comment block fails here.

import assert from "node:assert/strict";
import { test } from "node:test";
import { jhash } from "../../src/maps/jhash.js";
import { createMap, mapRegionSize, openMap } from "../../src/maps/create-map.js";
import type { BpfMap } from "../../src/maps/bpf-map.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { MapFlag, MapType } from "../../src/maps/map-types.js";

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

function make(spec: MapSpec, ncpus = 2, seed = 12345): BpfMap {
  return createMap(spec, new Uint8Array(new SharedArrayBuffer(mapRegionSize(spec, { ncpus, seed }))), { ncpus, seed });
}

test("common header fields sit at their documented offsets", () => {
  const map = make({ type: MapType.HASH, keySize: 6, valueSize: 12, maxEntries: 10, flags: 0, name: "counts_by_pid_long_name", extra: 0 }, 3, 0xabcdef);
  const v = map.view;
  assert.equal(v.getUint32(0x00, true), 0x4d465042);
  assert.equal(v.getUint16(0x04, true), 1);
  assert.equal(v.getUint16(0x06, true), 0x100);
  assert.equal(v.getUint32(0x08, true), MapType.HASH);
  assert.equal(v.getUint32(0x0c, true), 6);
  assert.equal(v.getUint32(0x10, true), 12);
  assert.equal(v.getUint32(0x14, true), 10);
  assert.equal(v.getUint32(0x1c, true), 3);
  assert.equal(Number(v.getBigUint64(0x28, true)), mapRegionSize({ type: MapType.HASH, keySize: 6, valueSize: 12, maxEntries: 10, flags: 0, name: "" }, { ncpus: 3 }));
  assert.equal(v.getUint32(0x34, true), 0xabcdef);
  assert.equal(v.getUint32(0x38, true), 8);
  assert.equal(v.getUint32(0x3c, true), 16);
  assert.equal(new TextDecoder().decode(map.region.subarray(0x40, 0x4f)), "counts_by_pid_l");
  assert.equal(map.region[0x4f], 0);
});

test("array: a value is base + 0x100 + index * stride (+ cpu * stride for per-CPU arrays)", () => {
  const array = make({ type: MapType.ARRAY, keySize: 4, valueSize: 12, maxEntries: 5, flags: 0, name: "a" });
  array.updateElem(u32(3), new Uint8Array(12).fill(7));
  assert.equal(array.view.getUint32(0x80, true), 0x100);
  assert.deepEqual([...array.region.subarray(0x100 + 3 * 16, 0x100 + 3 * 16 + 12)], Array(12).fill(7));

  const percpu = make({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: 0, name: "p" }, 4);
  assert.equal(percpu.view.getUint32(0x84, true), 4);
  percpu.progUpdate(u32(2), 0, u32(0x11223344), 0, 0, 3);
  assert.equal(percpu.view.getUint32(0x100 + (2 * 4 + 3) * 8, true), 0x11223344);

  const mmapable = make({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: MapFlag.MMAPABLE, name: "m" });
  assert.equal(mmapable.progLookup(u32(1), 0, 0), 0x1000 + 8);
});

/** A native-style hash lookup: only the documented header fields and element layout. */
function nativeHashLookup(region: Uint8Array, key: Uint8Array): number {
  const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
  const keySize = v.getUint32(0x0c, true);
  const seed = v.getUint32(0x34, true);
  const buckets = v.getUint32(0x80, true);
  const elementSize = v.getUint32(0x84, true);
  const bucketsOffset = v.getUint32(0x88, true);
  const elementsOffset = v.getUint32(0x8c, true);
  const keyOffset = v.getUint32(0xa0, true);
  const valueOffset = v.getUint32(0xa4, true);
  const hash = jhash(key, 0, keySize, seed);
  const bucket = hash & (buckets - 1);
  let link = v.getUint32(bucketsOffset + bucket * 8 + 4, true);
  while (link < 0x80000000) {
    const at = elementsOffset + link * elementSize;
    if (v.getUint32(at + 4, true) === hash && key.every((b, i) => region[at + keyOffset + i] === b)) return at + valueOffset;
    link = v.getUint32(at, true);
  }
  assert.equal(link, (0x80000000 | bucket) >>> 0, "a chain ends with its own bucket's nulls marker");
  return -1;
}

test("hash: native-style lookups through the documented buckets and elements find what updates stored", () => {
  for (const type of [MapType.HASH, MapType.LRU_HASH, MapType.PERCPU_HASH]) {
    const map = make({ type, keySize: 6, valueSize: 4, maxEntries: 40, flags: 0, name: "h" });
    const key = (i: number): Uint8Array => new Uint8Array([i, i >> 8, 3, 4, 5, 6]);
    for (let i = 0; i < 40; i++) assert.equal(map.progUpdate(key(i), 0, u32(i * 3), 0, 0, 0), 0);
    for (let i = 0; i < 40; i++) {
      const offset = nativeHashLookup(map.region, key(i));
      assert.equal(offset, map.progLookup(key(i), 0, 0), `type ${type} key ${i}`);
      assert.equal(map.view.getUint32(offset, true), i * 3);
    }
    assert.equal(nativeHashLookup(map.region, key(99)), -1);
    assert.equal(map.view.getUint32(0xa0, true), type === MapType.LRU_HASH ? 24 : 16);
  }
});

test("queue: slots at 0x100 + i * stride between tail (0x88) and head (0x84)", () => {
  const queue = make({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 3, flags: 0, name: "q" });
  for (const n of [10, 20, 30]) queue.progPush(u32(n), 0, 0, 0);
  const v = queue.view;
  assert.equal(v.getUint32(0x80, true), 4);
  const tail = v.getUint32(0x88, true);
  assert.equal(v.getUint32(0x100 + tail * 8, true), 10);
  assert.equal(v.getUint32(0x84, true), 3);
});

test("ringbuf: consumer page at 0x1000, producer page at 0x2000, data at 0x3000 with kernel record headers", () => {
  const rb = make({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0, name: "rb" }) as import("../../src/maps/ringbuf-map.js").RingbufMap;
  const sample = rb.reserve(5);
  assert.equal(sample, 0x3008);
  const v = rb.view;
  assert.equal(v.getUint32(0x3000, true), (5 | 0x80000000) >>> 0, "BUSY while reserved");
  assert.equal(v.getUint32(0x3004, true), 3, "pg_off: the data starts at page 3, as in the kernel's struct bpf_ringbuf");
  assert.equal(Number(v.getBigUint64(0x2000, true)), 16, "producer_pos advanced by round_up(5 + 8, 8)");
  rb.commit(sample, true);
  assert.equal(v.getUint32(0x3000, true), (5 | 0x40000000) >>> 0, "DISCARD, not BUSY");
  assert.equal(rb.consume(() => assert.fail("a discarded record is not delivered")), 0);
  assert.equal(Number(v.getBigUint64(0x1000, true)), 16, "consumer_pos moved past it");
});

test("a region opened as another process would sees the same map", () => {
  const spec: MapSpec = { type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, flags: MapFlag.NO_PREALLOC, name: "routes" };
  const map = make(spec);
  map.updateElem(new Uint8Array([24, 0, 0, 0, 10, 1, 2, 0]), u32(7));
  // A second view of the same memory at another byte offset of a bigger buffer, like another mapping.
  const shared = new Uint8Array(new SharedArrayBuffer(map.region.length + 64));
  shared.set(map.region, 64);
  const opened = openMap(shared.subarray(64));
  assert.equal(opened.type, MapType.LPM_TRIE);
  assert.equal(opened.name, "routes");
  const value = new Uint8Array(4);
  assert.equal(opened.lookupElem(new Uint8Array([32, 0, 0, 0, 10, 1, 2, 200]), value), 0);
  assert.deepEqual(value, u32(7));
});
