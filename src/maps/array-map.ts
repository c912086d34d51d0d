// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY.
//
// Layout (after the common header, see header.ts):
//   0x80  u32  values offset V: 0x100, or 0x1000 with BPF_F_MMAPABLE so the values start on a page of
//              their own when the region is page-aligned (libbpf mmaps .data/.bss maps)
//   0x84  u32  slots per element S: ncpus for PERCPU_ARRAY, else 1
//   V     values: element i, CPU c at V + (i * S + c) * value_stride, value_stride = round_up(value_size, 8)
//
// Native lookup: index = *(u32 *)key; if index >= max_entries -> NULL; else base + V + index * S * stride
// (+ cpu * stride). Elements always exist, so there is nothing to lock: updates are plain copies, as in
// the kernel (a program that needs atomicity uses atomic instructions or a spin lock in the value).

import { genericLookupBatch, genericUpdateBatch } from "./batch.js";
import { BpfMap, cpuSlot, type BatchRequest, type BatchResult } from "./bpf-map.js";
import { copyBytes, readU32, roundUp, writeU32 } from "./bytes.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { accessFlagsOk, flagsOutside, PAGE_SIZE, PERCPU_VALUE_MAX, type MapKind } from "./map-kind.js";
import type { MapSpec } from "./map-spec.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";

export const ArrayHeader = {
  valuesOffset: 0x80,
  slotsPerElement: 0x84,
} as const;

const ARRAY_FLAGS = MapFlag.NUMA_NODE | MapFlag.MMAPABLE | MapFlag.PRESERVE_ELEMS | MapFlag.INNER_MAP;
const INT_MAX = 0x7fffffff;

/** array_map_alloc_check, shared with the fd arrays (prog_array, perf_event_array, array_of_maps). */
export function checkArraySpec(spec: MapSpec): number {
  const percpu = spec.type === MapType.PERCPU_ARRAY;
  if (spec.maxEntries === 0 || spec.keySize !== 4 || spec.valueSize === 0 || flagsOutside(spec.flags, ARRAY_FLAGS) || !accessFlagsOk(spec.flags)) {
    return -Errno.EINVAL;
  }
  if (percpu && spec.flags & MapFlag.NUMA_NODE) return -Errno.EINVAL;
  if (spec.type !== MapType.ARRAY && spec.flags & (MapFlag.MMAPABLE | MapFlag.INNER_MAP)) return -Errno.EINVAL;
  if (spec.type !== MapType.PERF_EVENT_ARRAY && spec.flags & MapFlag.PRESERVE_ELEMS) return -Errno.EINVAL;
  if (spec.valueSize > INT_MAX) return -Errno.E2BIG;
  if (percpu && roundUp(spec.valueSize, 8) > PERCPU_VALUE_MAX) return -Errno.E2BIG;
  return 0;
}

function arrayLayout(fields: HeaderFields): { valuesOffset: number; slots: number; size: number } {
  const valuesOffset = fields.flags & MapFlag.MMAPABLE ? PAGE_SIZE : Header.size;
  const slots = fields.type === MapType.PERCPU_ARRAY ? fields.ncpus : 1;
  return { valuesOffset, slots, size: valuesOffset + fields.maxEntries * slots * roundUp(fields.valueSize, 8) };
}

export class ArrayMap extends BpfMap {
  readonly valuesOffset: number;
  readonly slotsPerElement: number;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.valuesOffset = this.view.getUint32(ArrayHeader.valuesOffset, true);
    this.slotsPerElement = this.view.getUint32(ArrayHeader.slotsPerElement, true);
  }

  override get percpu(): boolean {
    return this.type === MapType.PERCPU_ARRAY;
  }

  /** Offset of element `index`'s first slot. */
  elementOffset(index: number): number {
    return this.valuesOffset + index * this.slotsPerElement * this.valueStride;
  }

  override progLookup(key: Uint8Array, keyOffset: number, cpu: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.maxEntries) return -Errno.ENOENT;
    return this.elementOffset(index) + (this.slotsPerElement === 1 ? 0 : cpuSlot(cpu, this.ncpus) * this.valueStride);
  }

  override progUpdate(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    const index = readU32(key, keyOffset);
    const error = this.checkUpdate(index, flags & ~UpdateFlag.LOCK, flags);
    if (error) return error;
    const target = this.elementOffset(index) + (this.slotsPerElement === 1 ? 0 : cpuSlot(cpu, this.ncpus) * this.valueStride);
    copyBytes(this.region, target, value, valueOffset, this.valueSize);
    return 0;
  }

  /** array_map_update_elem's checks, in its order. */
  private checkUpdate(index: number, flagsWithoutLock: number, flags: number): number {
    if (flagsWithoutLock > UpdateFlag.EXIST) return -Errno.EINVAL;
    if (index >= this.maxEntries) return -Errno.E2BIG;
    if (flags & UpdateFlag.NOEXIST) return -Errno.EEXIST;
    if (flags & UpdateFlag.LOCK) return -Errno.EINVAL;
    return 0;
  }

  override progDelete(_key: Uint8Array, _keyOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  protected override sysLookup(key: Uint8Array, value: Uint8Array): number {
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.ENOENT;
    const start = this.elementOffset(index);
    // Per-CPU values travel with their padding (the kernel copies round_up(value_size, 8) per CPU).
    const length = this.percpu ? this.slotsPerElement * this.valueStride : this.valueSize;
    value.set(this.region.subarray(start, start + length));
    return 0;
  }

  protected override sysUpdate(key: Uint8Array, value: Uint8Array, flags: number): number {
    const index = readU32(key, 0);
    // bpf_percpu_array_update has no BPF_F_LOCK case; the syscall refused that flag already.
    const error = this.checkUpdate(index, flags, flags);
    if (error) return error;
    const length = this.percpu ? this.slotsPerElement * this.valueStride : this.valueSize;
    this.region.set(value.subarray(0, length), this.elementOffset(index));
    return 0;
  }

  protected override sysDelete(_key: Uint8Array): number {
    return -Errno.EINVAL;
  }

  protected override sysGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    const index = key === null ? 0xffffffff : readU32(key, 0);
    if (index >= this.maxEntries) {
      writeU32(nextKey, 0, 0);
      return 0;
    }
    if (index === this.maxEntries - 1) return -Errno.ENOENT;
    writeU32(nextKey, 0, index + 1);
    return 0;
  }

  protected override sysLookupBatch(request: BatchRequest): BatchResult {
    return genericLookupBatch(this, request);
  }

  protected override sysUpdateBatch(request: BatchRequest, cpu: number): BatchResult {
    return genericUpdateBatch(this, request, cpu);
  }
}

export function writeArrayHeader(region: Uint8Array, fields: HeaderFields): void {
  const view = new DataView(region.buffer, region.byteOffset, region.byteLength);
  const layout = arrayLayout(fields);
  view.setUint32(ArrayHeader.valuesOffset, layout.valuesOffset, true);
  view.setUint32(ArrayHeader.slotsPerElement, layout.slots, true);
}

export const arrayKind: MapKind = {
  types: [MapType.ARRAY, MapType.PERCPU_ARRAY],
  check: checkArraySpec,
  regionSize: (fields) => arrayLayout(fields).size,
  create(region, fields) {
    writeArrayHeader(region, fields);
    return new ArrayMap(region, fields);
  },
  open: (region, fields) => new ArrayMap(region, fields),
};

/** The size an array-shaped layout needs, for the fd arrays that reuse it. */
export const arrayRegionSize = (fields: HeaderFields): number => arrayLayout(fields).size;
