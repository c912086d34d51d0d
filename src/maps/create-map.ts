// Making maps: validate a spec as BPF_MAP_CREATE would, size its region, lay it out, and attach to a
// region another process initialised.
//
// A region is a Uint8Array handed over by an allocator (an ArrayBuffer, a SharedArrayBuffer, or later a
// slice of a memfd mapped into several processes). It must start 8-byte aligned in its buffer (ring
// buffers and mmapable arrays also want 4096-byte alignment in memory for the kernel's page layout, which
// mapRegionAlignment reports) and be at least mapRegionSize(spec) bytes. createMap clears those bytes
// first (an arena may hand out reused memory), since a new map's values start at zero, as the kernel's do.

import { arrayKind } from "./array-map.js";
import type { BpfMap } from "./bpf-map.js";
import { bloomFilterKind } from "./bloom-filter-map.js";
import { Errno, MapError } from "./errno.js";
import { fdArrayKind } from "./fd-array-map.js";
import { hashKind } from "./hash-map.js";
import { Header, headerFieldsOf, publishHeader, readHeader, writeHeader, type HeaderFields } from "./header.js";
import { lpmTrieKind } from "./lpm-trie-map.js";
import { accessFlagsOk, PAGE_SIZE, type MapKind } from "./map-kind.js";
import type { MapRuntimeOptions, MapSpec } from "./map-spec.js";
import { specExtra } from "./map-spec.js";
import { MapFlag, MapType, mapTypeName } from "./map-types.js";
import { perfEventArrayKind } from "./perf-event-array-map.js";
import { possibleCpus } from "./possible-cpus.js";
import { queueStackKind } from "./queue-stack-map.js";
import { ringbufKind } from "./ringbuf-map.js";
import { stackTraceKind } from "./stack-trace-map.js";

const kinds = new Map<number, MapKind>();
for (const kind of [arrayKind, fdArrayKind, hashKind, queueStackKind, bloomFilterKind, lpmTrieKind, ringbufKind, perfEventArrayKind, stackTraceKind]) {
  for (const type of kind.types) kinds.set(type, kind);
}

/** Map types this runtime implements. */
export const SUPPORTED_MAP_TYPES: readonly number[] = [...kinds.keys()].sort((a, b) => a - b);

/** Regions are addressed with 32-bit offsets (and by the interpreter as one 4 GiB region at most). */
const MAX_REGION_SIZE = 0xffffffff;

function ncpusOf(options: MapRuntimeOptions): number {
  const ncpus = options.ncpus ?? possibleCpus();
  if (!Number.isInteger(ncpus) || ncpus < 1 || ncpus > 0xffff) throw new MapError(Errno.EINVAL, `ncpus must be an integer in 1..65535, not ${ncpus}`);
  return ncpus;
}

function kindOf(type: number): MapKind | undefined {
  return kinds.get(type);
}

/**
 * The kernel's BPF_MAP_CREATE checks for a spec: 0, or -errno as the syscall would fail (unknown flags,
 * sizes a type does not allow, ...). A type the kernel knows but this runtime does not run is -EINVAL
 * too; `describeSpecError` says which.
 */
export function validateMapSpec(spec: MapSpec, options: MapRuntimeOptions = {}): number {
  const extra = specExtra(spec);
  if (extra < 0n || extra > 0xffffffffffffffffn) return -Errno.EINVAL;
  if (spec.type !== MapType.BLOOM_FILTER && extra !== 0n) return -Errno.EINVAL;
  if (spec.flags & MapFlag.RDONLY && spec.flags & MapFlag.WRONLY) return -Errno.EINVAL;
  for (const field of [spec.keySize, spec.valueSize, spec.maxEntries, spec.flags]) {
    if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) return -Errno.EINVAL;
  }
  const kind = kindOf(spec.type);
  if (!kind) return -Errno.EINVAL;
  if (!accessFlagsOk(spec.flags)) return -Errno.EINVAL;
  return kind.check(spec, ncpusOf(options));
}

/** One line saying why validateMapSpec refused a spec. */
export function describeSpecError(spec: MapSpec, error: number): string {
  const what = `map '${spec.name}' (${mapTypeName(spec.type)}, key ${spec.keySize}, value ${spec.valueSize}, max_entries ${spec.maxEntries}, flags 0x${spec.flags.toString(16)})`;
  if (!kindOf(spec.type)) return `${what}: map type ${spec.type} is not supported in userspace`;
  return `${what} is rejected as the kernel would reject it`;
}

function resolve(spec: MapSpec, options: MapRuntimeOptions): { kind: MapKind; fields: HeaderFields } {
  const error = validateMapSpec(spec, options);
  if (error) throw new MapError(-error, describeSpecError(spec, error));
  const kind = kindOf(spec.type)!;
  const seed = spec.flags & MapFlag.ZERO_SEED ? 0 : (options.seed ?? randomSeed());
  const fields = headerFieldsOf(spec, ncpusOf(options), seed);
  kind.adjust?.(fields);
  const size = kind.regionSize(fields, options);
  if (size > MAX_REGION_SIZE) throw new MapError(Errno.ENOMEM, `map '${spec.name}' needs ${size} bytes, more than one region can hold`);
  fields.regionSize = size;
  return { kind, fields };
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Bytes a map needs, so the arena can allocate its region first. Throws MapError for an invalid spec. */
export function mapRegionSize(spec: MapSpec, options: MapRuntimeOptions = {}): number {
  return resolve(spec, options).fields.regionSize;
}

/** Alignment the region wants in memory: a page for the types whose layout follows the kernel's pages. */
export function mapRegionAlignment(spec: MapSpec): number {
  if (spec.type === MapType.RINGBUF || spec.type === MapType.PERF_EVENT_ARRAY) return PAGE_SIZE;
  if (spec.type === MapType.ARRAY && spec.flags & MapFlag.MMAPABLE) return PAGE_SIZE;
  return 8;
}

/** Lays a new map out in `region` (at least mapRegionSize bytes). Throws MapError. */
export function createMap(spec: MapSpec, region: Uint8Array, options: MapRuntimeOptions = {}): BpfMap {
  const { kind, fields } = resolve(spec, options);
  if (region.byteOffset % 8 !== 0) throw new MapError(Errno.EINVAL, "a map region must start 8-byte aligned");
  if (region.length < fields.regionSize) {
    throw new MapError(Errno.ENOMEM, `map '${spec.name}' needs ${fields.regionSize} bytes, the region has ${region.length}`);
  }
  region.fill(0, 0, fields.regionSize);
  const view = new DataView(region.buffer, region.byteOffset, region.byteLength);
  writeHeader(view, fields);
  const map = kind.create(region, fields, options);
  publishHeader(map.words);
  return map;
}

/** Attaches to a region holding a map that some process created. Throws MapError(EINVAL) if it holds none. */
export function openMap(region: Uint8Array): BpfMap {
  if (region.byteOffset % 8 !== 0) throw new MapError(Errno.EINVAL, "a map region must start 8-byte aligned");
  const fields = readHeader(new DataView(region.buffer, region.byteOffset, region.byteLength));
  const kind = kindOf(fields.type);
  if (!kind) throw new MapError(Errno.EINVAL, `region holds a map of unsupported type ${fields.type}`);
  if (region.length < Header.size || region.length < fields.regionSize) {
    throw new MapError(Errno.EINVAL, `region of ${region.length} bytes is smaller than its map's ${fields.regionSize}`);
  }
  return kind.open(region, fields);
}
