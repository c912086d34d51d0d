import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { jhash } from "../../src/maps/jhash.js";
import { MapFlag, MapType, UpdateFlag } from "../../src/maps/map-types.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { makeMap, readU32, u32 } from "./support/make-map.js";

const spec = (type: number, maxEntries = 4, flags = 0): MapSpec => ({ type, keySize: 4, valueSize: 4, maxEntries, flags, name: "h" });

function keysOf(map: ReturnType<typeof makeMap>): number[] {
  const keys: number[] = [];
  let key: Uint8Array | null = null;
  const next = new Uint8Array(4);
  while (map.getNextKey(key, next) === 0) {
    keys.push(readU32(next));
    key = next.slice();
  }
  return keys;
}

test("hash: flags, full map and missing keys give the kernel's errnos", () => {
  const map = makeMap(spec(MapType.HASH, 2));
  assert.equal(map.updateElem(u32(1), u32(10), UpdateFlag.EXIST), -Errno.ENOENT);
  assert.equal(map.updateElem(u32(1), u32(10), UpdateFlag.NOEXIST), 0);
  assert.equal(map.updateElem(u32(1), u32(11), UpdateFlag.NOEXIST), -Errno.EEXIST);
  assert.equal(map.updateElem(u32(2), u32(20)), 0);
  assert.equal(map.updateElem(u32(3), u32(30)), -Errno.E2BIG);
  assert.equal(map.updateElem(u32(2), u32(21)), 0, "replacing works in a full map");
  assert.equal(map.updateElem(u32(2), u32(21), UpdateFlag.LOCK), -Errno.EINVAL);
  assert.equal(map.count, 2);
  assert.equal(map.deleteElem(u32(3)), -Errno.ENOENT);
  const value = new Uint8Array(4);
  assert.equal(map.lookupAndDeleteElem(u32(2), value), 0);
  assert.deepEqual(value, u32(21));
  assert.equal(map.lookupElem(u32(2), value), -Errno.ENOENT);
  assert.equal(map.count, 1);
  assert.equal(map.updateElem(u32(3), u32(30)), 0, "the freed element is reused");
});

test("hash: iteration visits every key once whatever the seed; a missing key restarts from the first", () => {
  for (const seed of [1, 2, 0xdeadbeef]) {
    const map = makeMap(spec(MapType.HASH, 64), { ncpus: 1, seed });
    const inserted = Array.from({ length: 50 }, (_, i) => i * 7919);
    for (const k of inserted) assert.equal(map.updateElem(u32(k), u32(k)), 0);
    const keys = keysOf(map);
    assert.deepEqual([...keys].sort((a, b) => a - b), inserted);
    const first = new Uint8Array(4);
    map.getNextKey(null, first);
    const afterMissing = new Uint8Array(4);
    assert.equal(map.getNextKey(u32(123456), afterMissing), 0);
    assert.deepEqual(afterMissing, first);
  }
  const empty = makeMap(spec(MapType.HASH));
  assert.equal(empty.getNextKey(null, new Uint8Array(4)), -Errno.ENOENT);
});

test("hash: program lookups return value offsets that programs write through", () => {
  const map = makeMap(spec(MapType.HASH));
  assert.equal(map.progLookup(u32(5), 0, 0), -Errno.ENOENT);
  const stack = new Uint8Array(16);
  stack.set(u32(5), 8);
  stack.set(u32(50), 12);
  assert.equal(map.progUpdate(stack, 8, stack, 12, 0, 0), 0);
  const offset = map.progLookup(stack, 8, 0);
  assert.ok(offset > 0);
  map.view.setUint32(offset, 51, true);
  const value = new Uint8Array(4);
  map.lookupElem(u32(5), value);
  assert.deepEqual(value, u32(51));
});

test("hash batch: whole buckets per call, ENOSPC when the first bucket does not fit, ENOENT at the end", () => {
  const map = makeMap(spec(MapType.HASH, 16, MapFlag.ZERO_SEED));
  for (let i = 0; i < 16; i++) map.updateElem(u32(i), u32(i + 100));
  const seen = new Set<number>();
  let cursor: Uint8Array | null = null;
  for (let round = 0; round < 40; round++) {
    const keys = new Uint8Array(4 * 3);
    const values = new Uint8Array(4 * 3);
    const out = new Uint8Array(4);
    const { error, count } = map.lookupBatch({ inBatch: cursor, outBatch: out, keys, values, count: 3 });
    for (let i = 0; i < count; i++) {
      assert.equal(readU32(values, 4 * i), readU32(keys, 4 * i) + 100);
      seen.add(readU32(keys, 4 * i));
    }
    if (error === -Errno.ENOENT) break;
    assert.equal(error, 0);
    cursor = out;
  }
  assert.equal(seen.size, 16);
  // Two keys in one bucket do not fit a batch of one.
  const pair = makeMap(spec(MapType.HASH, 2, MapFlag.ZERO_SEED));
  const sameBucket = [0, 1, 2, 3, 4, 5].filter((k) => (jhash(u32(k), 0, 4, 0) & 1) === (jhash(u32(0), 0, 4, 0) & 1)).slice(0, 2);
  for (const k of sameBucket) pair.updateElem(u32(k), u32(k));
  const tooSmall = pair.lookupBatch({ inBatch: null, outBatch: new Uint8Array(4), keys: new Uint8Array(8), values: new Uint8Array(8), count: 1 });
  assert.deepEqual(tooSmall, { error: -Errno.ENOSPC, count: 0 });
  const tiny = map.lookupBatch({ inBatch: null, outBatch: new Uint8Array(4), keys: new Uint8Array(0), values: new Uint8Array(0), count: 0 });
  assert.deepEqual(tiny, { error: 0, count: 0 });
  const drained = map.lookupAndDeleteBatch({ inBatch: null, outBatch: new Uint8Array(4), keys: new Uint8Array(64), values: new Uint8Array(64), count: 16 });
  assert.deepEqual(drained, { error: -Errno.ENOENT, count: 16 });
  assert.equal(map.count, 0);
  assert.deepEqual(keysOf(map), []);
});

test("percpu_hash: a program's new element starts at zero on the other CPUs", () => {
  const map = makeMap(spec(MapType.PERCPU_HASH), { ncpus: 3 });
  assert.equal(map.updateElem(u32(1), new Uint8Array(24).fill(0xff)), 0);
  assert.equal(map.deleteElem(u32(1)), 0);
  assert.equal(map.progUpdate(u32(1), 0, u32(7), 0, 0, 1), 0);
  const all = new Uint8Array(24);
  map.lookupElem(u32(1), all);
  assert.deepEqual([readU32(all, 0), readU32(all, 8), readU32(all, 16)], [0, 7, 0]);
  assert.equal(map.progUpdate(u32(1), 0, u32(9), 0, UpdateFlag.EXIST, 2), 0);
  map.lookupElem(u32(1), all);
  assert.deepEqual([readU32(all, 0), readU32(all, 8), readU32(all, 16)], [0, 7, 9]);
});

test("lru_hash: never full; evicts keys nobody looked up before keys programs use", () => {
  const map = makeMap(spec(MapType.LRU_HASH, 64), { ncpus: 1 });
  for (let i = 0; i < 64; i++) assert.equal(map.updateElem(u32(i), u32(i)), 0);
  // Programs keep using the first 8 keys while 200 new keys stream through.
  for (let i = 64; i < 264; i++) {
    for (let hot = 0; hot < 8; hot++) map.progLookup(u32(hot), 0, 0);
    assert.equal(map.updateElem(u32(i), u32(i)), 0);
  }
  const keys = new Set(keysOf(map));
  assert.ok(keys.size <= 64);
  for (let hot = 0; hot < 8; hot++) assert.ok(keys.has(hot), `hot key ${hot} survived`);
  assert.ok(keys.has(263), "the newest key is there");
  assert.ok(!keys.has(64), "an old cold key was evicted");
});

test("lru_hash with per-CPU lists: each CPU evicts only from its own share", () => {
  const map = makeMap(spec(MapType.LRU_HASH, 8, MapFlag.NO_COMMON_LRU), { ncpus: 2 });
  for (let i = 0; i < 4; i++) assert.equal(map.progUpdate(u32(i), 0, u32(i), 0, 0, 0), 0);
  for (let i = 100; i < 120; i++) assert.equal(map.progUpdate(u32(i), 0, u32(i), 0, 0, 1), 0);
  const keys = new Set(keysOf(map));
  for (let i = 0; i < 4; i++) assert.ok(keys.has(i), `CPU 0's key ${i} was not evicted by CPU 1`);
});

test("hash_of_maps: values are inner map ids; 0 names no map", () => {
  const inner = spec(MapType.ARRAY);
  const map = makeMap({ type: MapType.HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, name: "hom", innerMap: inner });
  assert.equal(map.updateElem(u32(1), u32(0)), -Errno.EBADF);
  assert.equal(map.updateElem(u32(1), u32(42)), 0);
  const offset = map.progLookup(u32(1), 0, 0);
  assert.equal(map.view.getUint32(offset, true), 42);
  assert.equal(map.progUpdate(u32(2), 0, u32(43), 0, 0, 0), -Errno.EINVAL, "programs cannot store maps");
});
