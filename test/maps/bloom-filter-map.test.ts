import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapType, UpdateFlag } from "../../src/maps/map-types.js";
import { makeMap, u32 } from "./support/make-map.js";

test("bloom filter: never a false negative, few false positives at the designed load", () => {
  const map = makeMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 1000, flags: 0, name: "b" }, { ncpus: 1, seed: 99 });
  for (let i = 0; i < 1000; i++) assert.equal(map.progPush(u32(i * 2654435761), 0, UpdateFlag.ANY, 0), 0);
  for (let i = 0; i < 1000; i++) assert.equal(map.progPeek(u32(i * 2654435761), 0, 0), 0, `value ${i} was pushed`);
  let falsePositives = 0;
  for (let i = 0; i < 10000; i++) if (map.progPeek(u32(0x80000000 + i), 0, 0) === 0) falsePositives++;
  assert.ok(falsePositives < 500, `${falsePositives} false positives in 10000`);
});

test("bloom filter errnos: push flags, no delete, no iteration", () => {
  const map = makeMap({ type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 10, flags: 0, name: "b", extra: 3 });
  assert.equal(map.updateElem(null, new Uint8Array(8), UpdateFlag.EXIST), -Errno.EINVAL);
  assert.equal(map.lookupElem(null, new Uint8Array(8)), -Errno.ENOENT);
  assert.equal(map.updateElem(null, new Uint8Array(8)), 0);
  assert.equal(map.lookupElem(null, new Uint8Array(8)), 0);
  assert.equal(map.deleteElem(null), -Errno.EOPNOTSUPP);
  assert.equal(map.getNextKey(null, new Uint8Array(0)), -Errno.EOPNOTSUPP);
  assert.equal(map.lookupAndDeleteElem(null, new Uint8Array(8)), -Errno.ENOTSUPP);
  assert.equal(map.view.getUint32(0x80, true), 3, "map_extra's low bits choose 3 hash functions");
});
