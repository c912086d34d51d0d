// Native map operations against the TypeScript ones on the same layout: two identical maps (same spec,
// seed and CPU), one driven by the generated routines, one by the BpfMap prog* methods, through the same
// random operation sequence. Every result must agree and, after every step, the two regions must hold the
// same bytes, which checks chains, free lists, LRU lists, counts and values all at once. Then the maps are
// shared the other way: native writes read back by TypeScript and vice versa.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { NativeRuntime } from "../../src/jit/native/native-runtime.js";
import type { BpfMap } from "../../src/maps/bpf-map.js";
import { MapFlag, MapType, UpdateFlag } from "../../src/maps/map-types.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { Prng } from "../support/program-generator.js";
import { assertSameBytes, nativeMap, Scratch, signed, u32, type NativeMap } from "./support/native-maps.js";

const NCPUS = 4;
const CPU = 2;
const SEED = 0x5eed;
const runtime = NativeRuntime.create({ cpu: { kind: "fixed", cpu: CPU } });
const scratch = new Scratch();
after(() => {
  runtime.dispose();
  scratch.free();
});

const KEY_AT = 0;
const VALUE_AT = 4096;
const OUT_AT = 8192;

interface Twin {
  native: NativeMap;
  reference: NativeMap;
}

function twin(spec: MapSpec): Twin {
  const options = { ncpus: NCPUS, seed: SEED };
  return { native: nativeMap(spec, options), reference: nativeMap(spec, options) };
}

function sameRegions(t: Twin, step: string): void {
  assertSameBytes(t.native.map.region, t.reference.map.region, step);
}

/** The native lookup result as the TypeScript one: an offset in the region, or -ENOENT for NULL. */
function lookupOffset(address: bigint, region: NativeMap): number {
  return address === 0n ? -2 : Number(address - region.address);
}

function randomKey(rng: Prng, keySize: number, space: number): Uint8Array {
  const key = new Uint8Array(keySize);
  const k = rng.below(space);
  for (let i = 0; i < keySize; i++) key[i] = i < 4 ? (k >>> (8 * i)) & 0xff : (k * 31 + i) & 0xff;
  return key;
}

function exercise(spec: MapSpec, steps: number, seed: number, keySpace: number): void {
  const t = twin(spec);
  const rng = new Prng(seed);
  const ref: BpfMap = t.reference.map;
  try {
    for (let step = 0; step < steps; step++) {
      const key = randomKey(rng, spec.keySize, keySpace);
      const value = rng.bytes(spec.valueSize);
      const keyAddress = scratch.put(KEY_AT, key);
      const valueAddress = scratch.put(VALUE_AT, value);
      const roll = rng.below(10);
      let what: string;
      if (roll < 4) {
        const flags = rng.pick([UpdateFlag.ANY, UpdateFlag.ANY, UpdateFlag.NOEXIST, UpdateFlag.EXIST, UpdateFlag.LOCK, 3]);
        what = `update flags ${flags}`;
        const native = signed(runtime.call("map_update_elem", t.native.address, keyAddress, valueAddress, BigInt(flags)));
        const expected = ref.progUpdate(key, 0, value, 0, flags, CPU);
        assert.equal(native, expected, `step ${step}: ${what}`);
      } else if (roll < 7) {
        what = "lookup";
        const native = lookupOffset(runtime.call("map_lookup_elem", t.native.address, keyAddress), t.native);
        const expected = ref.progLookup(key, 0, CPU);
        assert.equal(native < 0 ? -2 : native, expected < 0 ? -2 : expected, `step ${step}: ${what}`);
      } else {
        what = "delete";
        const native = signed(runtime.call("map_delete_elem", t.native.address, keyAddress));
        assert.equal(native, ref.progDelete(key, 0, CPU), `step ${step}: ${what}`);
      }
      sameRegions(t, `step ${step} (${what})`);
    }
  } finally {
    t.native.free();
    t.reference.free();
  }
}

const spec = (type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): MapSpec => ({ type, keySize, valueSize, maxEntries, flags, name: "m" });

for (const [name, type] of [
  ["hash", MapType.HASH],
  ["percpu_hash", MapType.PERCPU_HASH],
  ["lru_hash", MapType.LRU_HASH],
  ["lru_percpu_hash", MapType.LRU_PERCPU_HASH],
] as const) {
  for (const [keySize, valueSize] of [
    [4, 8],
    [8, 12],
    [5, 3],
    [13, 40],
    [24, 8],
  ] as const) {
    test(`${name} key ${keySize} value ${valueSize}: native and TypeScript leave the same bytes`, () => {
      // Small maps fill up (E2BIG, and eviction for LRU maps); a key space larger than the map keeps
      // inserts, replacements and deletes all frequent.
      exercise(spec(type, keySize, valueSize, 16), 1500, keySize * 1000 + valueSize, 40);
      exercise(spec(type, keySize, valueSize, 64), 800, keySize * 1000 + valueSize + 1, 60);
    });
  }
}

test("lru_hash with per-CPU lists (BPF_F_NO_COMMON_LRU): same evictions", () => {
  exercise(spec(MapType.LRU_HASH, 4, 8, 16, MapFlag.NO_COMMON_LRU), 1500, 77, 40);
  exercise(spec(MapType.LRU_PERCPU_HASH, 8, 16, 32, MapFlag.NO_COMMON_LRU), 1500, 78, 60);
});

for (const [name, type] of [
  ["array", MapType.ARRAY],
  ["percpu_array", MapType.PERCPU_ARRAY],
] as const) {
  test(`${name}: native and TypeScript leave the same bytes`, () => {
    exercise(spec(type, 4, 12, 10), 600, 5, 14);
    exercise(spec(type, 4, 8, 10, MapFlag.MMAPABLE * (type === MapType.ARRAY ? 1 : 0)), 300, 6, 14);
  });
}

test("queue and stack: push, pop and peek agree with TypeScript", () => {
  for (const type of [MapType.QUEUE, MapType.STACK]) {
    const t = twin(spec(type, 0, 12, 5));
    const rng = new Prng(type);
    try {
      for (let step = 0; step < 400; step++) {
        const value = rng.bytes(12);
        const roll = rng.below(3);
        if (roll === 0) {
          const flags = rng.pick([UpdateFlag.ANY, UpdateFlag.EXIST, UpdateFlag.NOEXIST, 7]);
          const native = signed(runtime.call("map_push_elem", t.native.address, scratch.put(VALUE_AT, value), BigInt(flags)));
          assert.equal(native, t.reference.map.progPush(value, 0, flags, CPU), `push ${step}`);
        } else {
          const name = roll === 1 ? "map_pop_elem" : "map_peek_elem";
          scratch.bytes.fill(0xaa, OUT_AT, OUT_AT + 12);
          const native = signed(runtime.call(name, t.native.address, scratch.at(OUT_AT)));
          const out = new Uint8Array(12).fill(0xaa);
          const expected = roll === 1 ? t.reference.map.progPop(out, 0, CPU) : t.reference.map.progPeek(out, 0, CPU);
          assert.equal(native, expected, `${name} ${step}`);
          assert.deepEqual(scratch.bytes.slice(OUT_AT, OUT_AT + 12), out, `${name} ${step} value`);
        }
        sameRegions(t, `queue step ${step}`);
      }
    } finally {
      t.native.free();
      t.reference.free();
    }
  }
});

test("bloom filter: native pushes set the TypeScript bits, peeks agree", () => {
  const t = twin({ ...spec(MapType.BLOOM_FILTER, 0, 8, 100), extra: 3 });
  const rng = new Prng(9);
  try {
    const pushed: Uint8Array[] = [];
    for (let i = 0; i < 60; i++) {
      const value = rng.bytes(8);
      pushed.push(value);
      assert.equal(signed(runtime.call("map_push_elem", t.native.address, scratch.put(VALUE_AT, value), 0n)), 0);
      t.reference.map.progPush(value, 0, 0, CPU);
    }
    assert.equal(signed(runtime.call("map_push_elem", t.native.address, scratch.put(VALUE_AT, pushed[0]!), 1n)), -22);
    sameRegions(t, "bloom after pushes");
    for (let i = 0; i < 200; i++) {
      const value = i < 60 ? pushed[i]! : rng.bytes(8);
      const native = signed(runtime.call("map_peek_elem", t.native.address, scratch.put(VALUE_AT, value)));
      assert.equal(native, t.reference.map.progPeek(value, 0, CPU), `peek ${i}`);
      if (i < 60) assert.equal(native, 0, "no false negatives");
    }
  } finally {
    t.native.free();
    t.reference.free();
  }
});

test("one region, both sides: native updates are TypeScript lookups and the other way round", () => {
  const m = nativeMap(spec(MapType.HASH, 4, 8, 32), { ncpus: NCPUS });
  try {
    for (let k = 0; k < 20; k++) {
      const value = new Uint8Array(8);
      new DataView(value.buffer).setBigUint64(0, BigInt(k * 1000), true);
      if (k % 2 === 0) assert.equal(signed(runtime.call("map_update_elem", m.address, scratch.put(KEY_AT, u32(k)), scratch.put(VALUE_AT, value), 0n)), 0);
      else assert.equal(m.map.updateElem(u32(k), value), 0);
    }
    assert.equal(m.map.count, 20);
    for (let k = 0; k < 20; k++) {
      const out = new Uint8Array(8);
      assert.equal(m.map.lookupElem(u32(k), out), 0);
      assert.equal(new DataView(out.buffer).getBigUint64(0, true), BigInt(k * 1000));
      const pointer = runtime.call("map_lookup_elem", m.address, scratch.put(KEY_AT, u32(k)));
      assert.notEqual(pointer, 0n);
      assert.equal(m.map.view.getBigUint64(Number(pointer - m.address), true), BigInt(k * 1000));
    }
    assert.equal(runtime.call("map_lookup_elem", m.address, scratch.put(KEY_AT, u32(99))), 0n);
    assert.equal(signed(runtime.call("map_delete_elem", m.address, scratch.put(KEY_AT, u32(4)))), 0);
    assert.equal(m.map.lookupElem(u32(4), new Uint8Array(8)), -2);
    assert.equal(m.map.count, 19);
  } finally {
    m.free();
  }
});

test("per-CPU lookups reach this CPU's slot", () => {
  const m = nativeMap(spec(MapType.PERCPU_ARRAY, 4, 8, 2), { ncpus: NCPUS });
  try {
    const pointer = runtime.call("map_lookup_elem", m.address, scratch.put(KEY_AT, u32(1)));
    const stride = 8;
    assert.equal(Number(pointer - m.address), (m.map as unknown as { elementOffset(i: number): number }).elementOffset(1) + CPU * stride);
  } finally {
    m.free();
  }
});

test("a lock whose holder died makes the operation fail with -EBUSY instead of hanging (takes seconds)", () => {
  const m = nativeMap(spec(MapType.QUEUE, 0, 8, 4), { ncpus: NCPUS });
  try {
    new Int32Array(m.map.region.buffer, m.map.region.byteOffset, 64)[0x8c / 4] = 1; // the queue's lock word, held
    const started = performance.now();
    assert.equal(signed(runtime.call("map_push_elem", m.address, scratch.at(VALUE_AT), 0n)), -16);
    assert.ok(performance.now() - started > 100, "it waited for the holder first");
    new Int32Array(m.map.region.buffer, m.map.region.byteOffset, 64)[0x8c / 4] = 0;
    assert.equal(signed(runtime.call("map_push_elem", m.address, scratch.at(VALUE_AT), 0n)), 0);
  } finally {
    m.free();
  }
});
