// BPF_MAP_TYPE_PROG_ARRAY and BPF_MAP_TYPE_ARRAY_OF_MAPS: arrays whose values name other objects. In the
// kernel the control plane stores file descriptors and reads back ids; here the values are the ids
// themselves (program ids of the session's object table for prog arrays, inner map ids for map-in-map),
// and 0 marks an empty slot, since ids start at 1.
//
// Layout: exactly the array layout (array-map.ts) with value_size 4: slot i is the u32 id at
// V + i * 8 (value_stride 8). A tail call reads the id at that offset; 0 means "no program, fall through".
// The checks of map-in-map inner shapes happen where the ids are resolved (the object table), since a
// map region knows no other map; the inner map template is kept in the common header (0x50..0x67).

import { arrayRegionSize, ArrayMap, checkArraySpec, writeArrayHeader } from "./array-map.js";
import { genericLookupBatch } from "./batch.js";
import type { BatchRequest, BatchResult } from "./bpf-map.js";
import { readU32, writeU32 } from "./bytes.js";
import { Errno } from "./errno.js";
import type { HeaderFields } from "./header.js";
import type { MapKind } from "./map-kind.js";
import { checkInnerMapTemplate } from "./map-in-map.js";
import type { MapSpec } from "./map-spec.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";

/** fd_array_map_alloc_check (also used by perf_event_array). */
export function checkFdArraySpec(spec: MapSpec): number {
  if (spec.valueSize !== 4) return -Errno.EINVAL;
  if (spec.flags & (MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG)) return -Errno.EINVAL;
  return checkArraySpec(spec);
}

/**
 * bpf_fd_array_map_update_elem's checks, shared by the arrays of ids and the perf event array: BPF_ANY
 * only, an index in range, and an id naming something (0 is where the kernel would find a bad fd).
 */
export function fdSlotUpdateError(index: number, id: number, flags: number, maxEntries: number): number {
  if (flags !== UpdateFlag.ANY) return -Errno.EINVAL;
  if (index >= maxEntries) return -Errno.E2BIG;
  if (id === 0) return -Errno.EBADF;
  return 0;
}

export class FdArrayMap extends ArrayMap {
  /** The id stored at `index`, or 0 when the slot is empty or out of range (what a tail call follows). */
  idAt(index: number): number {
    if (index >= this.maxEntries || index < 0) return 0;
    return this.view.getUint32(this.elementOffset(index), true);
  }

  /** The inner map of an array_of_maps: the id's offset, as bpf_map_lookup_elem returns the inner map. */
  override progLookup(key: Uint8Array, keyOffset: number, _cpu: number): number {
    if (this.type !== MapType.ARRAY_OF_MAPS) return -Errno.EOPNOTSUPP;
    const index = readU32(key, keyOffset);
    return this.idAt(index) === 0 ? -Errno.ENOENT : this.elementOffset(index);
  }

  override progUpdate(_key: Uint8Array, _keyOffset: number, _value: Uint8Array, _valueOffset: number, _flags: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  protected override sysLookup(key: Uint8Array, value: Uint8Array): number {
    const index = readU32(key, 0);
    const id = this.idAt(index);
    if (id === 0) return -Errno.ENOENT;
    writeU32(value, 0, id);
    return 0;
  }

  /** Stores an id where the kernel would resolve a file descriptor. */
  protected override sysUpdate(key: Uint8Array, value: Uint8Array, flags: number): number {
    const index = readU32(key, 0);
    const id = readU32(value, 0);
    const error = fdSlotUpdateError(index, id, flags, this.maxEntries);
    if (error) return error;
    Atomics.store(this.words, this.elementOffset(index) / 4, id | 0);
    return 0;
  }

  protected override sysDelete(key: Uint8Array): number {
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const old = Atomics.exchange(this.words, this.elementOffset(index) / 4, 0);
    return old === 0 ? -Errno.ENOENT : 0;
  }

  override progDelete(_key: Uint8Array, _keyOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  protected override sysLookupBatch(request: BatchRequest): BatchResult {
    if (this.type !== MapType.ARRAY_OF_MAPS) return { error: -Errno.ENOTSUPP, count: 0 };
    return genericLookupBatch(this, request);
  }

  protected override sysUpdateBatch(): BatchResult {
    return { error: -Errno.ENOTSUPP, count: 0 };
  }
}

export const fdArrayKind: MapKind = {
  types: [MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS],
  check(spec) {
    const error = checkFdArraySpec(spec);
    if (error || spec.type !== MapType.ARRAY_OF_MAPS) return error;
    return checkInnerMapTemplate(spec);
  },
  regionSize: (fields: HeaderFields) => arrayRegionSize(fields),
  create(region, fields) {
    writeArrayHeader(region, fields);
    return new FdArrayMap(region, fields);
  },
  open: (region, fields) => new FdArrayMap(region, fields),
};
