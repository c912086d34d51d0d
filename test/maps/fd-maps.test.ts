import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import type { FdArrayMap } from "../../src/maps/fd-array-map.js";
import { MapType, UpdateFlag } from "../../src/maps/map-types.js";
import { makeMap, readU32, u32 } from "./support/make-map.js";

test("prog_array: slots hold program ids for tail calls; 0 is empty", () => {
  const map = makeMap<FdArrayMap>({ type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 3, flags: 0, name: "jmp" });
  assert.equal(map.idAt(1), 0);
  const value = new Uint8Array(4);
  assert.equal(map.lookupElem(u32(1), value), -Errno.ENOENT);
  assert.equal(map.updateElem(u32(1), u32(17), UpdateFlag.NOEXIST), -Errno.EINVAL, "fd arrays take BPF_ANY only");
  assert.equal(map.updateElem(u32(3), u32(17)), -Errno.E2BIG);
  assert.equal(map.updateElem(u32(1), u32(0)), -Errno.EBADF);
  assert.equal(map.updateElem(u32(1), u32(17)), 0);
  assert.equal(map.idAt(1), 17);
  assert.equal(map.idAt(3), 0, "out of range: no program, the tail call falls through");
  assert.equal(map.lookupElem(u32(1), value), 0);
  assert.equal(readU32(value), 17);
  assert.equal(map.progLookup(u32(1), 0, 0), -Errno.EOPNOTSUPP, "programs cannot look up a prog array");
  assert.equal(map.deleteElem(u32(1)), 0);
  assert.equal(map.deleteElem(u32(1)), -Errno.ENOENT);
  assert.equal(map.deleteElem(u32(5)), -Errno.E2BIG);
});

test("array_of_maps: a program lookup finds the inner map id; empty slots are ENOENT", () => {
  const inner = { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0, name: "inner" };
  const map = makeMap({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "outer", innerMap: inner });
  assert.equal(map.progLookup(u32(0), 0, 0), -Errno.ENOENT);
  assert.equal(map.updateElem(u32(0), u32(9)), 0);
  assert.equal(map.view.getUint32(map.progLookup(u32(0), 0, 0), true), 9);
  assert.equal(map.view.getUint32(0x50, true), MapType.HASH, "the inner template is in the header");
  const keys = new Uint8Array(8);
  const values = new Uint8Array(8);
  assert.deepEqual(map.lookupBatch({ inBatch: null, outBatch: new Uint8Array(4), keys, values, count: 2 }), { error: -Errno.ENOENT, count: 1 });
  assert.equal(readU32(values), 9);
});
