// The same random operation sequences on this runtime's maps and on kernel maps created with bpf(), every
// result compared. What is compared, per operation:
//   - the return value (0 or the exact errno) of every control-plane command (lookup, update with every
//     flag combination including invalid ones, delete, get_next_key, lookup_and_delete, the four batch
//     commands) and of the helpers a program calls (lookup, update, delete, run on a chosen CPU through
//     BPF_PROG_TEST_RUN of a raw_tracepoint program);
//   - every output: looked-up values (all CPUs' slots with padding for per-CPU maps, this CPU's slot for
//     program lookups), next keys, batch keys/values/count/cursor, popped and peeked values, bloom filter
//     answers (false positives included: both sides use a zero hash seed);
//   - after every operation, the whole key sequence of the map by get_next_key, in order. Hash maps are
//     created with BPF_F_ZERO_SEED, so bucket order, chain order and batch boundaries are the kernel's;
//     LPM tries and arrays have a defined order anyway. Every 20 operations, every key's value.
// LRU maps: control-plane commands run with this thread pinned to CPU 0 (the kernel's LRU lists are per
// CPU) and program operations on a random CPU, so the kernel's eviction is deterministic; which keys get
// evicted is compared exactly (through the key sequence after each operation).

import { test } from "node:test";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import {
  BpfMapCommand,
  kernelMapDelete,
  kernelMapGetNextKey,
  kernelMapLookup,
  kernelMapLookupAndDelete,
  kernelMapUpdate,
  mapBatchCommand,
} from "../../src/native/bpf-map-ops.js";
import type { BatchResult } from "../../src/maps/bpf-map.js";
import { Errno } from "../../src/maps/errno.js";
import type { MapSpec } from "../../src/maps/map-spec.js";
import { MapFlag, MapType } from "../../src/maps/map-types.js";
import { possibleCpus } from "../../src/maps/possible-cpus.js";
import { allowedCpus, onCpu } from "./support/cpu-affinity.js";
import { KernelHelpers } from "./support/kernel-programs.js";
import { Differential, describeSpec, hex, makePair, rc, type MapPair } from "./support/map-pair.js";
import { Random } from "./support/random.js";

const available = kernelBpfAvailable();
const skip = available.ok ? false : available.reason;
const OPS = 1500;
/** CPU the control plane runs on (the thread is pinned there). */
const SYS_CPU = 0;
const totals = new Map<string, number>();

function record(family: string, diff: Differential): void {
  totals.set(family, (totals.get(family) ?? 0) + diff.operations);
}

/** CPUs a program may be run on: online, allowed, and within the possible count the maps are sized by. */
function programCpus(): number[] {
  const cpus = allowedCpus().filter((cpu) => cpu < possibleCpus());
  return cpus.length > 0 ? cpus : [0];
}

// ---- shared comparisons -------------------------------------------------------------------------------

/**
 * Per-CPU hash values as compared: each CPU's slot up to value_size. The kernel returns round_up(value_size,
 * 8) bytes per CPU, and for hash elements the bytes past value_size are whatever the recycled element last
 * held (a program's update writes only value_size bytes), which depends on the kernel's free-list order.
 * Arrays never recycle slots, so their padding is compared too.
 */
function comparable(pair: MapPair, values: Uint8Array): string {
  const { type, valueSize } = pair.spec;
  if (type !== MapType.PERCPU_HASH && type !== MapType.LRU_PERCPU_HASH) return hex(values);
  const stride = pair.ours.valueStride;
  const masked = values.slice();
  for (let slot = 0; slot + stride <= masked.length; slot += stride) masked.fill(0, slot + valueSize, slot + stride);
  return hex(masked);
}

function keySequence(pair: MapPair): { ours: string[]; kernel: string[] } {
  const size = pair.spec.keySize;
  const walk = (next: (key: Uint8Array | null, out: Uint8Array) => number): string[] => {
    const keys: string[] = [];
    let key: Uint8Array | null = null;
    for (let i = 0; i <= pair.spec.maxEntries * 2 + 8; i++) {
      const out = new Uint8Array(size);
      const result = next(key, out);
      if (result !== 0) {
        if (result !== -Errno.ENOENT) keys.push(`error ${rc(result)}`);
        break;
      }
      keys.push(hex(out));
      key = out;
    }
    return keys;
  };
  return { ours: walk((k, o) => pair.ours.getNextKey(k, o)), kernel: walk((k, o) => kernelMapGetNextKey(pair.fd, k, o)) };
}

function checkKeys(diff: Differential, pair: MapPair, after: string): void {
  const { ours, kernel } = keySequence(pair);
  diff.check(`keys after ${after}`, ours, kernel);
}

function checkValues(diff: Differential, pair: MapPair): void {
  const { ours: keys } = keySequence(pair);
  for (const keyHex of keys) {
    const key = Buffer.from(keyHex, "hex");
    const ourValue = new Uint8Array(pair.ours.sysValueSize);
    const kernelValue = new Uint8Array(pair.ours.sysValueSize);
    const ourResult = pair.ours.lookupElem(key, ourValue);
    const kernelResult = kernelMapLookup(pair.fd, key, kernelValue);
    diff.check(`value of ${keyHex}`, [rc(ourResult), comparable(pair, ourValue)], [rc(kernelResult), comparable(pair, kernelValue)]);
  }
}

function lookupBoth(diff: Differential, pair: MapPair, key: Uint8Array | null, flags = 0, valueIn?: Uint8Array): void {
  const size = Math.max(pair.ours.sysValueSize, 1);
  const ourValue = valueIn ? valueIn.slice() : new Uint8Array(size);
  const kernelValue = valueIn ? valueIn.slice() : new Uint8Array(size);
  const ours = pair.ours.lookupElem(key, ourValue, flags);
  const kernel = kernelMapLookup(pair.fd, key, kernelValue, flags);
  diff.check(
    `lookup ${hex(key ?? undefined)} flags ${flags}`,
    [rc(ours), ours === 0 ? comparable(pair, ourValue) : ""],
    [rc(kernel), kernel === 0 ? comparable(pair, kernelValue) : ""],
  );
}

function updateBoth(diff: Differential, pair: MapPair, key: Uint8Array | null, value: Uint8Array, flags: number): void {
  const ours = pair.ours.updateElem(key, value, flags, SYS_CPU);
  const kernel = kernelMapUpdate(pair.fd, key, value, flags);
  diff.check(`update ${hex(key ?? undefined)} = ${hex(value)} flags ${flags}`, rc(ours), rc(kernel));
}

function deleteBoth(diff: Differential, pair: MapPair, key: Uint8Array | null): void {
  diff.check(`delete ${hex(key ?? undefined)}`, rc(pair.ours.deleteElem(key, SYS_CPU)), rc(kernelMapDelete(pair.fd, key)));
}

function lookupAndDeleteBoth(diff: Differential, pair: MapPair, key: Uint8Array | null, flags: number): void {
  const size = Math.max(pair.ours.sysValueSize, 1);
  const ourValue = new Uint8Array(size);
  const kernelValue = new Uint8Array(size);
  const ours = pair.ours.lookupAndDeleteElem(key, ourValue, flags, SYS_CPU);
  const kernel = kernelMapLookupAndDelete(pair.fd, key, kernelValue, flags);
  diff.check(
    `lookup_and_delete ${hex(key ?? undefined)} flags ${flags}`,
    [rc(ours), ours === 0 ? comparable(pair, ourValue) : ""],
    [rc(kernel), kernel === 0 ? comparable(pair, kernelValue) : ""],
  );
}

function nextKeyBoth(diff: Differential, pair: MapPair, key: Uint8Array | null): void {
  const ourNext = new Uint8Array(Math.max(pair.spec.keySize, 1));
  const kernelNext = new Uint8Array(Math.max(pair.spec.keySize, 1));
  const ours = pair.ours.getNextKey(key, ourNext);
  const kernel = kernelMapGetNextKey(pair.fd, key, pair.spec.keySize === 0 ? new Uint8Array(0) : kernelNext);
  diff.check(`get_next_key ${hex(key ?? undefined)}`, [rc(ours), ours === 0 ? hex(ourNext) : ""], [rc(kernel), kernel === 0 ? hex(kernelNext) : ""]);
}

/** The helpers a program calls, on `cpu`: ours directly, the kernel's through a test-run program. */
function progLookupBoth(diff: Differential, pair: MapPair, kernel: KernelHelpers, cpu: number, key: Uint8Array): void {
  const offset = pair.ours.progLookup(key, 0, cpu);
  const ours = offset < 0 ? undefined : pair.ours.region.slice(offset, offset + pair.spec.valueSize);
  diff.check(`program lookup ${hex(key)} on cpu ${cpu}`, hex(ours), hex(kernel.lookup(cpu, key)));
}

function progUpdateBoth(diff: Differential, pair: MapPair, kernel: KernelHelpers, cpu: number, key: Uint8Array, value: Uint8Array, flags: number): void {
  const ours = pair.ours.progUpdate(key, 0, value, 0, flags, cpu);
  diff.check(`program update ${hex(key)} = ${hex(value)} flags ${flags} on cpu ${cpu}`, rc(ours), rc(kernel.update(cpu, key, value, flags)));
}

function progDeleteBoth(diff: Differential, pair: MapPair, kernel: KernelHelpers, cpu: number, key: Uint8Array): void {
  diff.check(`program delete ${hex(key)} on cpu ${cpu}`, rc(pair.ours.progDelete(key, 0, cpu)), rc(kernel.delete(cpu, key)));
}

/** A batch refused before any element was looked at: the kernel then leaves attr.count as it was given. */
const refusedBeforeStart = (r: BatchResult): boolean => r.error === -Errno.EINVAL || r.error === -Errno.ENOTSUPP || r.error === -Errno.EPERM;

/** Batch commands; `cursor` carries each side's lookup cursor between calls. */
class BatchDriver {
  ourCursor: Uint8Array | null = null;
  kernelCursor: Uint8Array | null = null;

  constructor(
    private readonly diff: Differential,
    private readonly pair: MapPair,
    private readonly rng: Random,
  ) {}

  lookup(remove: boolean): void {
    const { ours, spec } = this.pair;
    const count = 1 + this.rng.int(spec.maxEntries + 1);
    const elemFlags = this.rng.chance(0.05) ? 4 : 0;
    const flags = this.rng.chance(0.05) ? 1 : 0;
    const keyBytes = count * spec.keySize;
    const valueBytes = count * ours.sysValueSize;
    const cursorBytes = ours.batchCursorSize || 4;
    const run = (kernel: boolean): { result: BatchResult; keys: Uint8Array; values: Uint8Array; out: Uint8Array } => {
      const keys = new Uint8Array(keyBytes);
      const values = new Uint8Array(valueBytes);
      const out = new Uint8Array(cursorBytes);
      const request = { inBatch: kernel ? this.kernelCursor : this.ourCursor, outBatch: out, keys, values, count, elemFlags, flags };
      const result = kernel
        ? mapBatchCommand(remove ? BpfMapCommand.LOOKUP_AND_DELETE_BATCH : BpfMapCommand.LOOKUP_BATCH, this.pair.fd, request)
        : remove
          ? ours.lookupAndDeleteBatch(request, SYS_CPU)
          : ours.lookupBatch(request);
      return { result, keys, values, out };
    };
    const a = run(false);
    const b = run(true);
    const summary = (r: typeof a): unknown[] => {
      const early = refusedBeforeStart(r.result);
      const n = early ? 0 : r.result.count;
      return [rc(r.result.error), early ? "-" : n, hex(r.keys.subarray(0, n * spec.keySize)), comparable(this.pair, r.values.subarray(0, n * ours.sysValueSize)), n > 0 ? hex(r.out) : "-"];
    };
    this.diff.check(`${remove ? "lookup_and_delete" : "lookup"}_batch count ${count} from ${hex(this.ourCursor ?? undefined)}`, summary(a), summary(b));
    if (a.result.error === 0 && a.result.count > 0 && !this.rng.chance(0.2)) {
      this.ourCursor = a.out;
      this.kernelCursor = b.out;
    } else {
      this.ourCursor = this.kernelCursor = null;
    }
  }

  change(kind: "update" | "delete", keys: Uint8Array[], values: Uint8Array[]): void {
    const { ours, spec } = this.pair;
    const count = keys.length;
    const keyBuffer = new Uint8Array(count * spec.keySize);
    keys.forEach((key, i) => keyBuffer.set(key, i * spec.keySize));
    const valueBuffer = new Uint8Array(count * ours.sysValueSize);
    values.forEach((value, i) => valueBuffer.set(value, i * ours.sysValueSize));
    const elemFlags = this.rng.chance(0.1) ? this.rng.pick([1, 2, 4]) : 0;
    const request = (): { inBatch: null; outBatch: null; keys: Uint8Array; values: Uint8Array | null; count: number; elemFlags: number } => ({
      inBatch: null,
      outBatch: null,
      keys: keyBuffer.slice(),
      values: kind === "update" ? valueBuffer.slice() : null,
      count,
      elemFlags,
    });
    const a = kind === "update" ? ours.updateBatch(request(), SYS_CPU) : ours.deleteBatch(request(), SYS_CPU);
    const b = mapBatchCommand(kind === "update" ? BpfMapCommand.UPDATE_BATCH : BpfMapCommand.DELETE_BATCH, this.pair.fd, request());
    this.diff.check(
      `${kind}_batch ${keys.map((k) => hex(k)).join(",")} elem_flags ${elemFlags}`,
      [rc(a.error), refusedBeforeStart(a) ? "-" : a.count],
      [rc(b.error), refusedBeforeStart(b) ? "-" : b.count],
    );
  }
}

// ---- hash family ----------------------------------------------------------------------------------------

function keyOf(index: number, size: number): Uint8Array {
  const key = new Uint8Array(size);
  for (let i = 0; i < size; i++) key[i] = i < 4 ? (index >>> (8 * i)) & 0xff : (index * 37 + i * 11) & 0xff;
  return key;
}

function runHashSequence(spec: MapSpec, seed: number, family: string): void {
  const rng = new Random(seed);
  const pair = makePair(spec);
  const diff = new Differential(describeSpec(spec), seed);
  const helpers = new KernelHelpers(pair.fd, spec.valueSize);
  const batches = new BatchDriver(diff, pair, rng);
  const cpus = programCpus();
  const universe = spec.maxEntries * 2 + 3;
  const randomKey = (): Uint8Array => (rng.chance(0.05) ? rng.bytes(spec.keySize) : keyOf(rng.int(universe), spec.keySize));
  const sysValue = (): Uint8Array => rng.bytes(pair.ours.sysValueSize);
  const flags = (): number => (rng.chance(0.06) ? rng.pick([3, 4, 5, 8]) : rng.pick([0, 0, 0, 1, 2]));
  try {
    for (let step = 0; step < OPS; step++) {
      const op = rng.weighted({
        update: 28,
        lookup: 10,
        delete: 8,
        lookupAndDelete: 4,
        nextKey: 8,
        progLookup: 12,
        progUpdate: 12,
        progDelete: 4,
        batchLookup: 3,
        batchLookupAndDelete: 2,
        batchUpdate: 2,
        batchDelete: 2,
      });
      switch (op) {
        case "update":
          updateBoth(diff, pair, randomKey(), sysValue(), flags());
          break;
        case "lookup":
          lookupBoth(diff, pair, randomKey(), rng.chance(0.03) ? 4 : 0);
          break;
        case "delete":
          deleteBoth(diff, pair, randomKey());
          break;
        case "lookupAndDelete":
          lookupAndDeleteBoth(diff, pair, randomKey(), rng.chance(0.05) ? 4 : 0);
          break;
        case "nextKey":
          nextKeyBoth(diff, pair, rng.chance(0.15) ? null : randomKey());
          break;
        case "progLookup":
          progLookupBoth(diff, pair, helpers, rng.pick(cpus), randomKey());
          break;
        case "progUpdate":
          progUpdateBoth(diff, pair, helpers, rng.pick(cpus), randomKey(), rng.bytes(spec.valueSize), flags());
          break;
        case "progDelete":
          progDeleteBoth(diff, pair, helpers, rng.pick(cpus), randomKey());
          break;
        case "batchLookup":
          batches.lookup(false);
          break;
        case "batchLookupAndDelete":
          batches.lookup(true);
          break;
        case "batchUpdate": {
          const n = 1 + rng.int(4);
          batches.change("update", Array.from({ length: n }, randomKey), Array.from({ length: n }, sysValue));
          break;
        }
        case "batchDelete":
          batches.change("delete", Array.from({ length: 1 + rng.int(4) }, randomKey), []);
          break;
      }
      checkKeys(diff, pair, op);
      if (step % 20 === 19) checkValues(diff, pair);
    }
  } finally {
    helpers.close();
    pair.close();
    record(family, diff);
  }
}

const hashSpecs: Array<{ family: string; spec: MapSpec }> = [];
for (const [type, family] of [
  [MapType.HASH, "hash"],
  [MapType.PERCPU_HASH, "percpu_hash"],
  [MapType.LRU_HASH, "lru_hash"],
  [MapType.LRU_PERCPU_HASH, "lru_percpu_hash"],
] as const) {
  for (const [keySize, valueSize, maxEntries] of [
    [4, 4, 8],
    [6, 12, 31],
    [16, 8, 64],
  ] as const) {
    hashSpecs.push({ family, spec: { type, keySize, valueSize, maxEntries, flags: MapFlag.ZERO_SEED, name: "diff" } });
  }
}
for (const type of [MapType.LRU_HASH, MapType.LRU_PERCPU_HASH]) {
  for (const maxEntries of [5, 40]) {
    hashSpecs.push({
      family: type === MapType.LRU_HASH ? "lru_hash (per-CPU lists)" : "lru_percpu_hash (per-CPU lists)",
      spec: { type, keySize: 4, valueSize: 4, maxEntries, flags: MapFlag.ZERO_SEED | MapFlag.NO_COMMON_LRU, name: "diff" },
    });
  }
}

for (const { family, spec } of hashSpecs) {
  test(`differential vs kernel: ${describeSpec(spec)}`, { skip }, () => {
    onCpu(SYS_CPU, () => runHashSequence(spec, 0x5eed0000 + hashSpecs.findIndex((s) => s.spec === spec), family));
  });
}

// ---- arrays ---------------------------------------------------------------------------------------------

function runArraySequence(spec: MapSpec, seed: number): void {
  const rng = new Random(seed);
  const pair = makePair(spec);
  const diff = new Differential(describeSpec(spec), seed);
  const helpers = new KernelHelpers(pair.fd, spec.valueSize);
  const batches = new BatchDriver(diff, pair, rng);
  const cpus = programCpus();
  const key = (): Uint8Array => keyOf(rng.chance(0.9) ? rng.int(spec.maxEntries) : spec.maxEntries + rng.int(3), 4);
  const flags = (): number => (rng.chance(0.1) ? rng.pick([3, 4, 6, 8]) : rng.pick([0, 0, 1, 2]));
  try {
    for (let step = 0; step < OPS; step++) {
      const op = rng.weighted({ update: 25, lookup: 15, delete: 4, lookupAndDelete: 3, nextKey: 10, progLookup: 15, progUpdate: 15, batchLookup: 5, batchUpdate: 4, batchDelete: 2, batchLookupAndDelete: 2 });
      switch (op) {
        case "update":
          updateBoth(diff, pair, key(), rng.bytes(pair.ours.sysValueSize), flags());
          break;
        case "lookup":
          lookupBoth(diff, pair, key());
          break;
        case "delete":
          deleteBoth(diff, pair, key());
          break;
        case "lookupAndDelete":
          lookupAndDeleteBoth(diff, pair, key(), 0);
          break;
        case "nextKey":
          nextKeyBoth(diff, pair, rng.chance(0.2) ? null : key());
          break;
        case "progLookup":
          progLookupBoth(diff, pair, helpers, rng.pick(cpus), key());
          break;
        case "progUpdate":
          progUpdateBoth(diff, pair, helpers, rng.pick(cpus), key(), rng.bytes(spec.valueSize), flags());
          break;
        case "batchLookup":
          batches.lookup(false);
          break;
        case "batchLookupAndDelete":
          batches.lookup(true);
          break;
        case "batchUpdate": {
          const n = 1 + rng.int(3);
          batches.change("update", Array.from({ length: n }, key), Array.from({ length: n }, () => rng.bytes(pair.ours.sysValueSize)));
          break;
        }
        case "batchDelete":
          batches.change("delete", [key()], []);
          break;
      }
      if (step % 20 === 19) checkValues(diff, pair);
    }
    checkKeys(diff, pair, "the sequence");
  } finally {
    helpers.close();
    pair.close();
    record(spec.type === MapType.ARRAY ? "array" : "percpu_array", diff);
  }
}

for (const type of [MapType.ARRAY, MapType.PERCPU_ARRAY]) {
  for (const [valueSize, maxEntries] of [
    [4, 1],
    [12, 5],
    [8, 16],
  ] as const) {
    const spec: MapSpec = { type, keySize: 4, valueSize, maxEntries, flags: 0, name: "diff" };
    test(`differential vs kernel: ${describeSpec(spec)}`, { skip }, () => {
      onCpu(SYS_CPU, () => runArraySequence(spec, 0xa77a0000 + type * 100 + maxEntries));
    });
  }
}

// ---- queue and stack ------------------------------------------------------------------------------------

function runQueueSequence(spec: MapSpec, seed: number): void {
  const rng = new Random(seed);
  const pair = makePair(spec);
  const diff = new Differential(describeSpec(spec), seed);
  const batches = new BatchDriver(diff, pair, rng);
  try {
    for (let step = 0; step < OPS; step++) {
      const op = rng.weighted({ push: 35, pop: 25, peek: 15, delete: 3, nextKey: 3, batch: 2, badKey: 2 });
      switch (op) {
        case "push":
          updateBoth(diff, pair, null, rng.bytes(spec.valueSize), rng.chance(0.08) ? rng.pick([1, 3, 4, 8]) : rng.pick([0, 0, 2]));
          break;
        case "pop":
          lookupAndDeleteBoth(diff, pair, null, rng.chance(0.05) ? rng.pick([1, 4]) : 0);
          break;
        case "peek":
          lookupBoth(diff, pair, null, rng.chance(0.05) ? rng.pick([1, 4]) : 0);
          break;
        case "delete":
          deleteBoth(diff, pair, null);
          break;
        case "nextKey":
          nextKeyBoth(diff, pair, null);
          break;
        case "batch":
          batches.lookup(rng.chance(0.5));
          break;
        case "badKey":
          // key_size is 0: a key pointer is refused.
          updateBoth(diff, pair, new Uint8Array(4), rng.bytes(spec.valueSize), 0);
          break;
      }
    }
  } finally {
    pair.close();
    record(spec.type === MapType.QUEUE ? "queue" : "stack", diff);
  }
}

for (const type of [MapType.QUEUE, MapType.STACK]) {
  for (const [valueSize, maxEntries] of [
    [4, 1],
    [12, 4],
    [8, 9],
  ] as const) {
    const spec: MapSpec = { type, keySize: 0, valueSize, maxEntries, flags: 0, name: "diff" };
    test(`differential vs kernel: ${describeSpec(spec)}`, { skip }, () => runQueueSequence(spec, 0x9e9e0000 + type * 100 + maxEntries));
  }
}

// ---- bloom filter -----------------------------------------------------------------------------------------

function runBloomSequence(spec: MapSpec, seed: number): void {
  const rng = new Random(seed);
  const pair = makePair(spec);
  const diff = new Differential(describeSpec(spec), seed);
  // A universe larger than the filter, so peeks of values never pushed hit false positives now and then.
  const universe = Array.from({ length: spec.maxEntries * 6 }, () => rng.bytes(spec.valueSize));
  try {
    for (let step = 0; step < OPS; step++) {
      const op = rng.weighted({ push: 20, peek: 60, other: 4 });
      const value = rng.pick(universe);
      if (op === "push") updateBoth(diff, pair, null, value, rng.chance(0.1) ? rng.pick([1, 2, 4]) : 0);
      else if (op === "peek") lookupBoth(diff, pair, null, 0, value);
      else {
        deleteBoth(diff, pair, null);
        nextKeyBoth(diff, pair, null);
        lookupAndDeleteBoth(diff, pair, null, 0);
      }
    }
  } finally {
    pair.close();
    record("bloom_filter", diff);
  }
}

for (const [valueSize, maxEntries, extra] of [
  [4, 10, 0],
  [6, 50, 1],
  [16, 100, 3],
  [8, 20, 15],
] as const) {
  const spec: MapSpec = { type: MapType.BLOOM_FILTER, keySize: 0, valueSize, maxEntries, flags: MapFlag.ZERO_SEED, extra, name: "diff" };
  test(`differential vs kernel: ${describeSpec(spec)}`, { skip }, () => runBloomSequence(spec, 0xb1008000 + maxEntries));
}

// ---- LPM trie ---------------------------------------------------------------------------------------------

function runLpmSequence(spec: MapSpec, seed: number): void {
  const rng = new Random(seed);
  const pair = makePair(spec);
  const diff = new Differential(describeSpec(spec), seed);
  const batches = new BatchDriver(diff, pair, rng);
  const dataSize = spec.keySize - 4;
  const maxPrefix = dataSize * 8;
  // A few base addresses, and prefixes of them, so stored prefixes nest and split.
  const bases = Array.from({ length: 4 }, () => rng.bytes(dataSize));
  const key = (): Uint8Array => {
    const out = new Uint8Array(spec.keySize);
    const prefix = rng.chance(0.03) ? maxPrefix + 1 + rng.int(3) : rng.int(maxPrefix + 1);
    new DataView(out.buffer).setUint32(0, prefix, true);
    out.set(rng.pick(bases), 4);
    // Flip one bit now and then (anywhere: bits past the prefix are stored and returned as given).
    if (rng.chance(0.5)) {
      const bit = rng.int(maxPrefix);
      out[4 + (bit >> 3)]! ^= 0x80 >> (bit & 7);
    }
    return out;
  };
  const fullKey = (): Uint8Array => {
    const out = key();
    new DataView(out.buffer).setUint32(0, rng.chance(0.8) ? maxPrefix : rng.int(maxPrefix + 1), true);
    return out;
  };
  try {
    for (let step = 0; step < OPS; step++) {
      const op = rng.weighted({ update: 30, lookup: 25, delete: 15, nextKey: 10, lookupAndDelete: 2, batchLookup: 4, batchUpdate: 3, batchDelete: 3 });
      switch (op) {
        case "update":
          updateBoth(diff, pair, key(), rng.bytes(spec.valueSize), rng.chance(0.08) ? rng.pick([3, 4, 8]) : rng.pick([0, 0, 1, 2]));
          break;
        case "lookup":
          lookupBoth(diff, pair, fullKey());
          break;
        case "delete":
          deleteBoth(diff, pair, key());
          break;
        case "nextKey": {
          const { ours: keys } = keySequence(pair);
          const existing = keys.length > 0 && rng.chance(0.6) ? Buffer.from(rng.pick(keys), "hex") : null;
          nextKeyBoth(diff, pair, existing ?? (rng.chance(0.3) ? null : key()));
          break;
        }
        case "lookupAndDelete":
          lookupAndDeleteBoth(diff, pair, key(), 0);
          break;
        case "batchLookup":
          batches.lookup(false);
          break;
        case "batchUpdate": {
          const n = 1 + rng.int(3);
          batches.change("update", Array.from({ length: n }, key), Array.from({ length: n }, () => rng.bytes(spec.valueSize)));
          break;
        }
        case "batchDelete":
          batches.change("delete", Array.from({ length: 1 + rng.int(3) }, key), []);
          break;
      }
      checkKeys(diff, pair, op);
      if (step % 20 === 19) checkValues(diff, pair);
    }
  } finally {
    pair.close();
    record("lpm_trie", diff);
  }
}

for (const [keySize, valueSize, maxEntries] of [
  [5, 4, 8],
  [8, 8, 32],
  [20, 4, 24],
] as const) {
  const spec: MapSpec = { type: MapType.LPM_TRIE, keySize, valueSize, maxEntries, flags: MapFlag.NO_PREALLOC, name: "diff" };
  test(`differential vs kernel: ${describeSpec(spec)}`, { skip }, () => runLpmSequence(spec, 0x1b3c0000 + keySize));
}

test("differential vs kernel: BPF_F_RDONLY and BPF_F_WRONLY maps refuse the control plane with EPERM", { skip }, () => {
  for (const access of [MapFlag.RDONLY, MapFlag.WRONLY]) {
    for (const base of [
      { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 },
      { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 },
      { type: MapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 4 },
    ]) {
      const spec: MapSpec = { ...base, flags: access, name: "ro" };
      const pair = makePair(spec);
      const diff = new Differential(describeSpec(spec), 0);
      const rng = new Random(access);
      const key = spec.keySize ? keyOf(1, spec.keySize) : null;
      try {
        updateBoth(diff, pair, key, new Uint8Array(4), 0);
        lookupBoth(diff, pair, key);
        deleteBoth(diff, pair, key);
        nextKeyBoth(diff, pair, null);
        lookupAndDeleteBoth(diff, pair, key, 0);
        const batches = new BatchDriver(diff, pair, rng);
        batches.lookup(false);
        batches.lookup(true);
        if (key) batches.change("update", [key], [new Uint8Array(4)]);
        if (key) batches.change("delete", [key], []);
      } finally {
        pair.close();
        record("access flags", diff);
      }
    }
  }
});

test("differential vs kernel: operation counts", { skip }, (t) => {
  let all = 0;
  for (const [family, count] of [...totals].sort()) {
    t.diagnostic(`${family}: ${count} compared operations`);
    all += count;
  }
  t.diagnostic(`total: ${all} compared operations`);
});
