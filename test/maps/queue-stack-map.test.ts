import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapType, UpdateFlag } from "../../src/maps/map-types.js";
import { makeMap, readU32, u32 } from "./support/make-map.js";

function drain(map: ReturnType<typeof makeMap>): number[] {
  const out: number[] = [];
  const value = new Uint8Array(4);
  while (map.progPop(value, 0, 0) === 0) out.push(readU32(value));
  return out;
}

test("queue pops oldest first, stack newest first; a full map refuses a push unless BPF_EXIST", () => {
  for (const [type, order] of [
    [MapType.QUEUE, [2, 3, 4]],
    [MapType.STACK, [4, 3, 2]],
  ] as const) {
    const map = makeMap({ type, keySize: 0, valueSize: 4, maxEntries: 3, flags: 0, name: "q" });
    for (const n of [1, 2, 3]) assert.equal(map.progPush(u32(n), 0, 0, 0), 0);
    assert.equal(map.progPush(u32(4), 0, 0, 0), -Errno.E2BIG);
    assert.equal(map.progPush(u32(4), 0, UpdateFlag.EXIST, 0), 0, "BPF_EXIST drops the oldest");
    assert.equal(map.count, 3);
    const peeked = new Uint8Array(4);
    assert.equal(map.progPeek(peeked, 0, 0), 0);
    assert.equal(readU32(peeked), order[0]);
    assert.deepEqual(drain(map), order);
    const empty = new Uint8Array(4).fill(9);
    assert.equal(map.progPeek(empty, 0, 0), -Errno.ENOENT);
    assert.deepEqual(empty, new Uint8Array(4), "an empty pop or peek zeroes the buffer");
  }
});

test("queue through the control plane: update pushes, lookup peeks, lookup_and_delete pops", () => {
  const map = makeMap({ type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2, flags: 0, name: "q" });
  assert.equal(map.updateElem(null, u32(5), UpdateFlag.NOEXIST), -Errno.EINVAL);
  assert.equal(map.updateElem(u32(0), u32(5)), -Errno.EINVAL, "key_size is 0: no key may be passed");
  assert.equal(map.updateElem(null, u32(5)), 0);
  const value = new Uint8Array(4);
  assert.equal(map.lookupElem(null, value), 0);
  assert.equal(map.lookupAndDeleteElem(null, value, 0), 0);
  assert.equal(readU32(value), 5);
  assert.equal(map.lookupAndDeleteElem(null, value, 0), -Errno.ENOENT);
  assert.equal(map.lookupAndDeleteElem(null, value, UpdateFlag.LOCK), -Errno.EINVAL);
  assert.equal(map.deleteElem(null), -Errno.EINVAL);
  assert.equal(map.getNextKey(null, new Uint8Array(0)), -Errno.EINVAL);
});
