import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapType, UpdateFlag } from "../../src/maps/map-types.js";
import { makeMap, readU32, u32 } from "./support/make-map.js";

test("array: every element exists; updates check the index and flags as the kernel does", () => {
  const map = makeMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: 0, name: "a" });
  const value = new Uint8Array(4);
  assert.equal(map.lookupElem(u32(2), value), 0);
  assert.deepEqual(value, u32(0));
  assert.equal(map.lookupElem(u32(3), value), -Errno.ENOENT);
  assert.equal(map.updateElem(u32(1), u32(9), UpdateFlag.EXIST), 0);
  assert.equal(map.updateElem(u32(1), u32(9), UpdateFlag.NOEXIST), -Errno.EEXIST);
  assert.equal(map.updateElem(u32(3), u32(9)), -Errno.E2BIG);
  assert.equal(map.updateElem(u32(1), u32(9), UpdateFlag.LOCK), -Errno.EINVAL);
  assert.equal(map.updateElem(u32(1), u32(9), 3), -Errno.EINVAL);
  assert.equal(map.deleteElem(u32(1)), -Errno.EINVAL);
  assert.equal(map.lookupAndDeleteElem(u32(1), value), -Errno.ENOTSUPP);
  assert.equal(map.lookupElem(u32(1), value), 0);
  assert.deepEqual(value, u32(9));
});

test("array: get_next_key walks indices in order; an unknown key starts over at 0", () => {
  const map = makeMap({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 3, flags: 0, name: "a" });
  const next = new Uint8Array(4);
  assert.equal(map.getNextKey(null, next), 0);
  assert.equal(readU32(next), 0);
  assert.equal(map.getNextKey(u32(1), next), 0);
  assert.equal(readU32(next), 2);
  assert.equal(map.getNextKey(u32(2), next), -Errno.ENOENT);
  assert.equal(map.getNextKey(u32(77), next), 0);
  assert.equal(readU32(next), 0);
});

test("percpu_array: programs see their CPU's slot, the control plane all slots with padding", () => {
  const map = makeMap({ type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "p" }, { ncpus: 3 });
  assert.equal(map.sysValueSize, 24);
  assert.equal(map.progUpdate(u32(1), 0, u32(5), 0, 0, 2), 0);
  const offset = map.progLookup(u32(1), 0, 2);
  assert.equal(map.view.getUint32(offset, true), 5);
  assert.equal(map.view.getUint32(map.progLookup(u32(1), 0, 0), true), 0);
  const all = new Uint8Array(24);
  assert.equal(map.lookupElem(u32(1), all), 0);
  assert.deepEqual([...all], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
  const update = new Uint8Array(24).map((_, i) => i);
  assert.equal(map.updateElem(u32(0), update), 0);
  assert.equal(map.lookupElem(u32(0), all), 0);
  assert.deepEqual(all, update, "padding travels with the values");
  assert.equal(map.progLookup(u32(0), 0, 1), map.progLookup(u32(0), 0, 0) + 8);
});

test("batch lookup with a cursor returns every element once, ending with ENOENT", () => {
  const map = makeMap({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 5, flags: 0, name: "a" });
  for (let i = 0; i < 5; i++) map.updateElem(u32(i), u32(i * 10));
  const seen: number[] = [];
  let cursor: Uint8Array | null = null;
  for (;;) {
    const keys = new Uint8Array(8);
    const values = new Uint8Array(8);
    const out = new Uint8Array(4);
    const { error, count } = map.lookupBatch({ inBatch: cursor, outBatch: out, keys, values, count: 2 });
    for (let i = 0; i < count; i++) seen.push(readU32(values, i * 4));
    if (error) {
      assert.equal(error, -Errno.ENOENT);
      break;
    }
    cursor = out;
  }
  assert.deepEqual(seen, [0, 10, 20, 30, 40]);
  assert.equal(map.deleteBatch({ inBatch: null, outBatch: null, keys: u32(0), values: null, count: 1 }).error, -Errno.ENOTSUPP);
});
