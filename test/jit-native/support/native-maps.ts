// Maps in native memory for the native-library tests: a map created exactly as the JIT runtime places
// them, and a scratch buffer to hand keys and values to native routines by address.

import assert from "node:assert/strict";
import type { BpfMap } from "../../../src/maps/bpf-map.js";
import { createMap, mapRegionSize } from "../../../src/maps/create-map.js";
import type { MapRuntimeOptions, MapSpec } from "../../../src/maps/map-spec.js";
import { SharedMemory } from "../../../src/jit/native/shared-memory.js";

export interface NativeMap {
  readonly map: BpfMap;
  readonly address: bigint;
  free(): void;
}

export function nativeMap(spec: MapSpec, options: MapRuntimeOptions = {}): NativeMap {
  const size = mapRegionSize(spec, options);
  const memory = SharedMemory.shared(size);
  const map = createMap(spec, memory.bytes(0, size), options);
  return { map, address: memory.address, free: () => memory.free() };
}

/** Native bytes at known addresses, for keys, values and output buffers. */
export class Scratch {
  private readonly memory: SharedMemory;
  readonly bytes: Uint8Array;

  constructor(size = 1 << 16) {
    this.memory = SharedMemory.shared(size);
    this.bytes = this.memory.bytes();
  }

  get address(): bigint {
    return this.memory.address;
  }

  /** Copies `data` to `offset` and returns its address. */
  put(offset: number, data: Uint8Array): bigint {
    this.bytes.set(data, offset);
    return this.memory.address + BigInt(offset);
  }

  at(offset: number): bigint {
    return this.memory.address + BigInt(offset);
  }

  free(): void {
    this.memory.free();
  }
}

/** A u32 little-endian key. */
export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

export function u64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return out;
}

/** A signed result of a native routine (rax as -errno). */
export const signed = (value: bigint): number => Number(BigInt.asIntN(64, value));

/**
 * Fails unless two regions hold the same bytes. (Not assert.deepEqual: a failing comparison would make
 * the test runner serialize the native-memory views.)
 */
export function assertSameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0) return;
  let first = 0;
  while (first < a.length && a[first] === b[first]) first++;
  assert.fail(`${what}: the bytes differ first at 0x${first.toString(16)} (${a[first]} vs ${b[first]}; lengths ${a.length}, ${b.length})`);
}
