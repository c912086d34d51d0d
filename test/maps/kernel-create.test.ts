// Creation-time validation against the kernel: random specs (edge values of every field, random flag
// bits) through validateMapSpec and through bpf(BPF_MAP_CREATE); the errno must be the same, and where
// the kernel adjusts max_entries (per-CPU LRU lists) ours must report the same number.

import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { kernelMapInfo } from "../../src/native/bpf-map-ops.js";
import { closeFd } from "../../src/native/bpf-syscall.js";
import { createMap, mapRegionSize, validateMapSpec } from "../../src/maps/create-map.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { MapFlag, MapType } from "../../src/maps/map-types.js";
import { possibleCpus } from "../../src/maps/possible-cpus.js";
import { describeSpec, kernelCreateMap, rc } from "./support/map-pair.js";
import { Random } from "./support/random.js";

const available = kernelBpfAvailable();
const skip = available.ok ? false : available.reason;

const TYPES = [
  MapType.HASH,
  MapType.ARRAY,
  MapType.PROG_ARRAY,
  MapType.PERF_EVENT_ARRAY,
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_HASH,
  MapType.LRU_PERCPU_HASH,
  MapType.LPM_TRIE,
  MapType.QUEUE,
  MapType.STACK,
  MapType.RINGBUF,
  MapType.BLOOM_FILTER,
];

function kernelCreate(spec: MapSpec): number {
  const fd = kernelCreateMap(spec);
  if (fd >= 0) closeFd(fd);
  return fd < 0 ? fd : 0;
}

function randomSpec(rng: Random): MapSpec {
  const type = rng.pick(TYPES);
  let flags = 0;
  if (rng.chance(0.7)) {
    // Mostly the flags a type could take, sometimes any of the low 14 bits.
    const bits = rng.chance(0.8) ? [0, 1, 3, 4, 6, 7, 8, 10, 11, 12] : [...Array(14).keys()];
    for (let i = rng.int(3); i >= 0; i--) flags |= 1 << rng.pick(bits);
  }
  if (type === MapType.LPM_TRIE && rng.chance(0.7)) flags |= MapFlag.NO_PREALLOC;
  flags &= ~MapFlag.NUMA_NODE;
  // Half the time sizes a type accepts, so the flag checks behind the size checks are reached too.
  const typical = rng.chance(0.5);
  const keyless = type === MapType.QUEUE || type === MapType.STACK || type === MapType.BLOOM_FILTER || type === MapType.RINGBUF;
  const valueSize = typical ? (type === MapType.RINGBUF ? 0 : 4) : rng.pick([0, 1, 4, 12, 32768, 32769]);
  return {
    type,
    keySize: typical ? (keyless ? 0 : type === MapType.LPM_TRIE ? 8 : 4) : rng.pick([0, 1, 4, 5, 8, 260, 261]),
    valueSize,
    maxEntries: type === MapType.RINGBUF ? rng.pick([0, 4096, 8192, 12288, 3]) : rng.pick(valueSize > 4096 ? [0, 1, 3] : [0, 1, 3, 64, 4096]),
    flags,
    extra: rng.chance(0.15) ? rng.pick([1, 5, 16]) : 0,
    name: "v",
  };
}

test("creation checks agree with BPF_MAP_CREATE on random specs", { skip }, (t) => {
  const rng = new Random(0xc7ea7e);
  let accepted = 0;
  const cases = 3000;
  for (let i = 0; i < cases; i++) {
    const spec = randomSpec(rng);
    const ours = validateMapSpec(spec, { ncpus: possibleCpus() });
    const kernel = kernelCreate(spec);
    assert.equal(rc(ours), rc(kernel), `case ${i}: ${describeSpec(spec)}`);
    if (ours === 0) accepted++;
  }
  t.diagnostic(`${cases} specs, ${accepted} accepted by both, ${cases - accepted} rejected with the same errno`);
});

test("the key/value/size rules of each type, one case at a time", { skip }, () => {
  const cases: MapSpec[] = [
    { type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlag.NO_COMMON_LRU, name: "" },
    { type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlag.NO_PREALLOC, name: "" },
    { type: MapType.ARRAY, keySize: 8, valueSize: 4, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlag.MMAPABLE, name: "" },
    { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlag.MMAPABLE, name: "" },
    { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 32768, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 32769, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.PROG_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlag.PRESERVE_ELEMS, name: "" },
    { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: MapFlag.PRESERVE_ELEMS, name: "" },
    { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 * 3, flags: 0, name: "" },
    { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 2048, flags: 0, name: "" },
    { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: MapFlag.RDONLY_PROG, name: "" },
    { type: MapType.QUEUE, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 1, flags: 0, extra: 16, name: "" },
    { type: MapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 1, flags: 0, name: "" },
    { type: MapType.LPM_TRIE, keySize: 4, valueSize: 4, maxEntries: 1, flags: MapFlag.NO_PREALLOC, name: "" },
    { type: MapType.LPM_TRIE, keySize: 261, valueSize: 4, maxEntries: 1, flags: MapFlag.NO_PREALLOC, name: "" },
    { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, extra: 1, name: "" },
    { type: MapType.STACK_TRACE + 1000, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0, name: "" },
  ];
  for (const spec of cases) assert.equal(rc(validateMapSpec(spec)), rc(kernelCreate(spec)), describeSpec(spec));
});

test("per-CPU LRU lists round max_entries as the kernel does", { skip }, () => {
  for (const maxEntries of [1, 2, 3, 5, 64, 1001]) {
    const spec: MapSpec = { type: MapType.LRU_HASH, keySize: 4, valueSize: 4, maxEntries, flags: MapFlag.NO_COMMON_LRU, name: "r" };
    const fd = kernelCreateMap(spec);
    assert.ok(fd >= 0);
    const kernelMax = kernelMapInfo(fd).maxEntries;
    closeFd(fd);
    const ours = createMap(spec, new Uint8Array(mapRegionSize(spec)));
    assert.equal(ours.maxEntries, kernelMax, `max_entries ${maxEntries}`);
  }
});
