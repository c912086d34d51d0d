// Creating a map in a fresh shared buffer, for unit tests.

import type { BpfMap } from "../../../src/maps/bpf-map.js";
import { createMap, mapRegionSize } from "../../../src/maps/create-map.js";
import type { MapRuntimeOptions, MapSpec } from "../../../src/maps/map-spec.js";

export function makeMap<T extends BpfMap = BpfMap>(spec: MapSpec, options: MapRuntimeOptions = { ncpus: 2 }): T {
  return createMap(spec, new Uint8Array(new SharedArrayBuffer(mapRegionSize(spec, options))), options) as T;
}

export const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n >>> 0]).buffer);
export const readU32 = (bytes: Uint8Array, offset = 0): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset, true);
