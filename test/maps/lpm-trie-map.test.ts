import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapFlag, MapType, UpdateFlag } from "../../src/maps/map-types.js";
import { makeMap, readU32, u32 } from "./support/make-map.js";

const key = (prefixlen: number, ...octets: number[]): Uint8Array => new Uint8Array([prefixlen, 0, 0, 0, ...octets]);
const spec = { type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 4, flags: MapFlag.NO_PREALLOC, name: "routes" };

function lookup(map: ReturnType<typeof makeMap>, ...octets: number[]): number | undefined {
  const value = new Uint8Array(4);
  return map.lookupElem(key(32, ...octets), value) === 0 ? readU32(value) : undefined;
}

test("lpm_trie: the longest stored prefix answers", () => {
  const map = makeMap(spec);
  assert.equal(map.updateElem(key(16, 192, 168, 0, 0), u32(16)), 0);
  assert.equal(map.updateElem(key(24, 192, 168, 1, 0), u32(24)), 0);
  assert.equal(map.updateElem(key(0, 0, 0, 0, 0), u32(0)), 0);
  assert.equal(lookup(map, 192, 168, 1, 77), 24);
  assert.equal(lookup(map, 192, 168, 2, 77), 16);
  assert.equal(lookup(map, 10, 0, 0, 1), 0);
  assert.equal(map.deleteElem(key(0, 0, 0, 0, 0)), 0);
  assert.equal(lookup(map, 10, 0, 0, 1), undefined);
  assert.equal(map.deleteElem(key(24, 192, 168, 0, 0)), -Errno.ENOENT, "delete needs the exact prefix");
});

test("lpm_trie: get_next_key in the kernel's post-order (more specific first)", () => {
  const map = makeMap(spec);
  for (const k of [key(16, 192, 168, 0, 0), key(24, 192, 168, 0, 0), key(24, 192, 168, 1, 0), key(24, 192, 168, 128, 0)]) map.updateElem(k, u32(1));
  const order: string[] = [];
  let previous: Uint8Array | null = null;
  const next = new Uint8Array(8);
  while (map.getNextKey(previous, next) === 0) {
    order.push(`${next[4]}.${next[5]}.${next[6]}.${next[7]}/${next[0]}`);
    previous = next.slice();
  }
  assert.deepEqual(order, ["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"]);
});

test("lpm_trie errnos: bad prefix, flags, full", () => {
  const map = makeMap({ ...spec, maxEntries: 2 });
  assert.equal(map.updateElem(key(33, 1, 2, 3, 4), u32(1)), -Errno.EINVAL);
  assert.equal(map.updateElem(key(8, 1, 2, 3, 4), u32(1), UpdateFlag.EXIST), -Errno.ENOENT);
  assert.equal(map.updateElem(key(8, 1, 2, 3, 4), u32(1)), 0);
  assert.equal(map.updateElem(key(8, 1, 9, 9, 9), u32(2), UpdateFlag.NOEXIST), -Errno.EEXIST, "the same /8");
  assert.equal(map.updateElem(key(9, 1, 2, 3, 4), u32(1)), 0);
  assert.equal(map.updateElem(key(10, 1, 2, 3, 4), u32(1)), -Errno.ENOSPC);
  assert.equal(map.updateElem(key(9, 1, 2, 3, 4), u32(5)), 0, "replacing in a full trie");
  assert.equal(map.lookupAndDeleteElem(key(9, 1, 2, 3, 4), new Uint8Array(4)), -Errno.ENOTSUPP);
});
