// The factory without a kernel: validation errors, region size and alignment rules, opening regions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createMap, mapRegionAlignment, mapRegionSize, openMap, SUPPORTED_MAP_TYPES, validateMapSpec } from "../../src/maps/create-map.js";
import { Errno, MapError, mapErrorFrom } from "../../src/maps/errno.js";
import { innerMapMatches } from "../../src/maps/map-in-map.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { MapFlag, MapType, mapTypeName } from "../../src/maps/map-types.js";
import { countCpuList, possibleCpus } from "../../src/maps/possible-cpus.js";

const hash: MapSpec = { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0, name: "h" };

test("kernel errors for bad specs", () => {
  assert.equal(validateMapSpec({ ...hash, keySize: 0 }), -Errno.EINVAL);
  assert.equal(validateMapSpec({ ...hash, maxEntries: 0 }), -Errno.EINVAL);
  assert.equal(validateMapSpec({ ...hash, extra: 5 }), -Errno.EINVAL);
  assert.equal(validateMapSpec({ ...hash, type: MapType.LRU_HASH, flags: MapFlag.NO_PREALLOC }), -Errno.ENOTSUPP);
  assert.equal(validateMapSpec({ ...hash, type: MapType.PERCPU_HASH, valueSize: 40000 }), -Errno.E2BIG);
  assert.equal(validateMapSpec({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 * 3, flags: 0, name: "r" }), -Errno.EINVAL);
  assert.equal(validateMapSpec({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 8192, flags: 0, name: "r" }), 0);
  assert.equal(validateMapSpec({ type: MapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "m" }), -Errno.EINVAL, "no inner map");
  assert.equal(validateMapSpec({ type: MapType.CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, name: "s" }), -Errno.EINVAL, "not implemented here");
  assert.equal(validateMapSpec({ ...hash, keySize: 1.5 }), -Errno.EINVAL);
});

test("createMap throws MapError with the errno and a readable message", () => {
  assert.throws(
    () => createMap({ ...hash, type: MapType.CGROUP_ARRAY, name: "cgroups" }, new Uint8Array(4096)),
    (e: unknown) => e instanceof MapError && e.errno === Errno.EINVAL && /'cgroups'.*not supported in userspace/.test(e.message),
  );
  assert.throws(() => createMap(hash, new Uint8Array(16)), (e: unknown) => e instanceof MapError && e.errno === Errno.ENOMEM);
  const buffer = new ArrayBuffer(mapRegionSize(hash) + 8);
  assert.throws(() => createMap(hash, new Uint8Array(buffer, 4)), (e: unknown) => e instanceof MapError && e.errno === Errno.EINVAL);
  assert.equal(mapErrorFrom(-Errno.E2BIG, "update of map 'h'").message, "update of map 'h': E2BIG");
});

test("openMap refuses a region with no map in it", () => {
  assert.throws(() => openMap(new Uint8Array(512)), (e: unknown) => e instanceof MapError && e.errno === Errno.EINVAL);
  const region = new Uint8Array(mapRegionSize(hash));
  createMap(hash, region);
  assert.throws(() => openMap(region.subarray(0, 300)), /smaller than its map's/);
  assert.equal(openMap(region).name, "h");
});

test("every implemented type can be created from a typical spec, in a region of exactly its size", () => {
  const typical = (type: number): MapSpec => {
    const base = { type, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0, name: mapTypeName(type) };
    switch (type) {
      case MapType.QUEUE:
      case MapType.STACK:
      case MapType.BLOOM_FILTER:
        return { ...base, keySize: 0 };
      case MapType.RINGBUF:
        return { ...base, keySize: 0, valueSize: 0, maxEntries: 4096 };
      case MapType.LPM_TRIE:
        return { ...base, keySize: 8, flags: MapFlag.NO_PREALLOC };
      case MapType.ARRAY_OF_MAPS:
      case MapType.HASH_OF_MAPS:
        return { ...base, innerMap: { ...base, type: MapType.ARRAY, name: "inner" } };
      case MapType.STACK_TRACE:
        return { ...base, valueSize: 8 * 16 };
      default:
        return base;
    }
  };
  assert.deepEqual(SUPPORTED_MAP_TYPES, [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 22, 23, 27, 30]);
  for (const type of SUPPORTED_MAP_TYPES) {
    const spec = typical(type);
    const map = createMap(spec, new Uint8Array(mapRegionSize(spec, { ncpus: 3 })), { ncpus: 3 });
    assert.equal(map.type, type);
    assert.equal(openMap(map.region).constructor, map.constructor);
  }
  assert.equal(mapRegionAlignment(typical(MapType.RINGBUF)), 4096);
  assert.equal(mapRegionAlignment(hash), 8);
});

test("the hash seed: random by default, fixed by the option, zero with BPF_F_ZERO_SEED", () => {
  const seedOf = (spec: MapSpec, seed?: number): number =>
    createMap(spec, new Uint8Array(mapRegionSize(spec)), seed === undefined ? {} : { seed }).seed;
  assert.equal(seedOf(hash, 77), 77);
  assert.equal(seedOf({ ...hash, flags: MapFlag.ZERO_SEED }, 77), 0);
  const seeds = new Set([seedOf(hash), seedOf(hash), seedOf(hash)]);
  assert.ok(seeds.size > 1);
});

test("possible CPUs come from the kernel's cpu list format", () => {
  assert.equal(countCpuList("0-1\n"), 2);
  assert.equal(countCpuList("0"), 1);
  assert.equal(countCpuList("0-3,8-11"), 8);
  assert.throws(() => countCpuList("3-1"));
  assert.ok(possibleCpus() >= 1);
});

test("inner maps must match the template (max_entries only for arrays without BPF_F_INNER_MAP)", () => {
  const array: MapSpec = { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0, name: "a" };
  assert.ok(innerMapMatches(array, { ...array, name: "other" }));
  assert.ok(!innerMapMatches(array, { ...array, maxEntries: 5 }));
  assert.ok(innerMapMatches({ ...array, flags: MapFlag.INNER_MAP }, { ...array, flags: MapFlag.INNER_MAP, maxEntries: 5 }));
  assert.ok(innerMapMatches(hash, { ...hash, maxEntries: 99 }));
  assert.ok(!innerMapMatches(hash, { ...hash, valueSize: 4 }));
});
