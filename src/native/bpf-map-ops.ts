// bpf() map commands that bpf-syscall.ts does not cover, in the shape the differential tests need: every
// call returns 0 or -errno instead of throwing, keys may be NULL (queue, stack and bloom filter maps have
// key_size 0, and the kernel rejects a non-NULL key for them), and the batch commands are here with their
// count and cursor. The numbers follow the same convention as the userspace maps in src/maps/, so a test
// compares results with ===.
//
// union bpf_attr layouts (include/uapi/linux/bpf.h):
//   element commands:  u32 map_fd @0, u64 key @8, u64 value|next_key @16, u64 flags @24      (32 bytes)
//   batch commands:    u64 in_batch @0, u64 out_batch @8, u64 keys @16, u64 values @24,
//                      u32 count @32, u32 map_fd @36, u64 elem_flags @40, u64 flags @48       (56 bytes)
//   BPF_OBJ_GET_INFO_BY_FD: u32 bpf_fd @0, u32 info_len @4, u64 info @8                        (16 bytes)

import type { BatchRequest } from "../maps/bpf-map.js";
import { BpfCommand, SYS_BPF_X86_64 } from "./bpf-constants.js";
import { BpfError, createMap, type MapCreateOptions } from "./bpf-syscall.js";
import { lastErrno, syscall } from "./libc.js";
import { scratchSlices, type NativeSlice } from "./native-scratch.js";

/** Map commands by number, including the ones bpf-constants.ts does not list. */
export const BpfMapCommand = {
  LOOKUP_ELEM: BpfCommand.MAP_LOOKUP_ELEM,
  UPDATE_ELEM: BpfCommand.MAP_UPDATE_ELEM,
  DELETE_ELEM: BpfCommand.MAP_DELETE_ELEM,
  GET_NEXT_KEY: BpfCommand.MAP_GET_NEXT_KEY,
  OBJ_GET_INFO_BY_FD: 15,
  LOOKUP_AND_DELETE_ELEM: 21,
  LOOKUP_BATCH: 24,
  LOOKUP_AND_DELETE_BATCH: 25,
  UPDATE_BATCH: 26,
  DELETE_BATCH: 27,
} as const;

const ELEM_ATTR = { mapFd: 0, key: 8, valueOrNextKey: 16, flags: 24, size: 32 } as const;
const BATCH_ATTR = { inBatch: 0, outBatch: 8, keys: 16, values: 24, count: 32, mapFd: 36, elemFlags: 40, flags: 48, size: 56 } as const;

function rawBpf(command: number, attr: NativeSlice): number {
  const result = Number(syscall(SYS_BPF_X86_64, "long", command, "void *", attr.address, "unsigned long", attr.bytes.length));
  return result < 0 ? -lastErrno() : result;
}

/**
 * One element command. `key` null passes a NULL key pointer; `value` is copied in before the call and
 * (for the commands that fill it: lookups, get_next_key, lookup_and_delete) copied back after it.
 */
export function mapElemCommand(command: number, fd: number, key: Uint8Array | null, value: Uint8Array | null, flags = 0): number {
  const [attr, keySlice, valueSlice] = scratchSlices([ELEM_ATTR.size, key?.length ?? 0, value?.length ?? 0]) as [
    NativeSlice,
    NativeSlice,
    NativeSlice,
  ];
  attr.view.setUint32(ELEM_ATTR.mapFd, fd, true);
  if (key) {
    keySlice.bytes.set(key);
    attr.view.setBigUint64(ELEM_ATTR.key, keySlice.address, true);
  }
  if (value) {
    valueSlice.bytes.set(value);
    attr.view.setBigUint64(ELEM_ATTR.valueOrNextKey, valueSlice.address, true);
  }
  attr.view.setBigUint64(ELEM_ATTR.flags, BigInt(flags), true);
  const result = rawBpf(command, attr);
  if (result === 0 && value) value.set(valueSlice.bytes);
  return result;
}

export const kernelMapLookup = (fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): number =>
  mapElemCommand(BpfMapCommand.LOOKUP_ELEM, fd, key, value, flags);
export const kernelMapUpdate = (fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): number =>
  mapElemCommand(BpfMapCommand.UPDATE_ELEM, fd, key, value, flags);
export const kernelMapDelete = (fd: number, key: Uint8Array | null): number => mapElemCommand(BpfMapCommand.DELETE_ELEM, fd, key, null);
export const kernelMapGetNextKey = (fd: number, key: Uint8Array | null, nextKey: Uint8Array): number =>
  mapElemCommand(BpfMapCommand.GET_NEXT_KEY, fd, key, nextKey);
/** Also the pop of queue and stack maps (key NULL). */
export const kernelMapLookupAndDelete = (fd: number, key: Uint8Array | null, value: Uint8Array, flags = 0): number =>
  mapElemCommand(BpfMapCommand.LOOKUP_AND_DELETE_ELEM, fd, key, value, flags);

/** The same request the userspace maps take: cursors, key/value buffers, count and flags. */
export type KernelBatchRequest = BatchRequest;

/** A batch command: `error` is 0 or -errno, `count` the elements the kernel reports as done. */
export function mapBatchCommand(command: number, fd: number, request: KernelBatchRequest): { error: number; count: number } {
  const inBatch = request.inBatch;
  const [attr, inSlice, outSlice, keySlice, valueSlice] = scratchSlices([
    BATCH_ATTR.size,
    inBatch?.length ?? 0,
    request.outBatch?.length ?? 0,
    request.keys.length,
    request.values?.length ?? 0,
  ]) as [NativeSlice, NativeSlice, NativeSlice, NativeSlice, NativeSlice];
  const v = attr.view;
  if (inBatch) {
    inSlice.bytes.set(inBatch);
    v.setBigUint64(BATCH_ATTR.inBatch, inSlice.address, true);
  }
  if (request.outBatch) {
    outSlice.bytes.set(request.outBatch);
    v.setBigUint64(BATCH_ATTR.outBatch, outSlice.address, true);
  }
  keySlice.bytes.set(request.keys);
  v.setBigUint64(BATCH_ATTR.keys, keySlice.address, true);
  if (request.values) {
    valueSlice.bytes.set(request.values);
    v.setBigUint64(BATCH_ATTR.values, valueSlice.address, true);
  }
  v.setUint32(BATCH_ATTR.count, request.count, true);
  v.setUint32(BATCH_ATTR.mapFd, fd, true);
  v.setBigUint64(BATCH_ATTR.elemFlags, BigInt(request.elemFlags ?? 0), true);
  v.setBigUint64(BATCH_ATTR.flags, BigInt(request.flags ?? 0), true);
  const error = rawBpf(command, attr);
  // The kernel writes keys, values, the cursor and the count even when it returns ENOENT at the end of
  // the map, so they are copied back whatever the result.
  if (request.outBatch) request.outBatch.set(outSlice.bytes);
  request.keys.set(keySlice.bytes);
  if (request.values) request.values.set(valueSlice.bytes);
  return { error, count: v.getUint32(BATCH_ATTR.count, true) };
}

/** BPF_MAP_CREATE returning the fd, or -errno where createMap would throw. */
export function tryCreateMap(options: MapCreateOptions): number {
  try {
    return createMap(options);
  } catch (error) {
    if (error instanceof BpfError) return -error.errno;
    throw error;
  }
}

/** The fields of struct bpf_map_info the tests look at (the kernel may adjust max_entries at creation). */
export interface KernelMapInfo {
  type: number;
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
}

const MAP_INFO = { type: 0, id: 4, keySize: 8, valueSize: 12, maxEntries: 16, flags: 20, size: 88 } as const;

export function kernelMapInfo(fd: number): KernelMapInfo {
  const [attr, info] = scratchSlices([16, MAP_INFO.size]) as [NativeSlice, NativeSlice];
  attr.view.setUint32(0, fd, true);
  attr.view.setUint32(4, MAP_INFO.size, true);
  attr.view.setBigUint64(8, info.address, true);
  const result = rawBpf(BpfMapCommand.OBJ_GET_INFO_BY_FD, attr);
  if (result < 0) throw new BpfError(BpfMapCommand.OBJ_GET_INFO_BY_FD, -result);
  const v = info.view;
  return {
    type: v.getUint32(MAP_INFO.type, true),
    id: v.getUint32(MAP_INFO.id, true),
    keySize: v.getUint32(MAP_INFO.keySize, true),
    valueSize: v.getUint32(MAP_INFO.valueSize, true),
    maxEntries: v.getUint32(MAP_INFO.maxEntries, true),
    flags: v.getUint32(MAP_INFO.flags, true),
  };
}
