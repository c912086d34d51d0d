// The kernel's generic batch commands (generic_map_lookup_batch, generic_map_update_batch,
// generic_map_delete_batch in kernel/bpf/syscall.c), which array-like maps and the LPM trie use. They are
// loops over the single-element operations; the cursor of a lookup batch is the last key returned, and
// a cursor the map does not know restarts the walk from the first key (as get_next_key does).

import type { BatchRequest, BatchResult, BpfMap } from "./bpf-map.js";
import { Errno } from "./errno.js";

function badElemFlags(request: BatchRequest): boolean {
  // Only BPF_F_LOCK is defined, and no value here holds a bpf_spin_lock.
  return (request.elemFlags ?? 0) !== 0;
}

function bufferTooSmall(buffer: Uint8Array | null, bytes: number): boolean {
  return buffer === null ? bytes > 0 : buffer.length < bytes;
}

export function genericLookupBatch(map: BpfMap, request: BatchRequest): BatchResult {
  if (badElemFlags(request)) return { error: -Errno.EINVAL, count: 0 };
  const max = request.count;
  if (max === 0) return { error: 0, count: 0 };
  const keySize = map.keySize;
  const valueSize = map.sysValueSize;
  if (bufferTooSmall(request.keys, max * keySize) || bufferTooSmall(request.values, max * valueSize)) return { error: -Errno.EFAULT, count: 0 };
  let previous: Uint8Array | null = request.inBatch ? request.inBatch.slice(0, keySize) : null;
  const key = new Uint8Array(keySize);
  const value = new Uint8Array(valueSize);
  let count = 0;
  let error = 0;
  while (count < max) {
    error = map.batchGetNextKey(previous, key);
    if (error) break;
    error = map.batchCopyValue(key, value);
    if (error === 0) {
      request.keys.set(key, count * keySize);
      request.values!.set(value, count * valueSize);
      count++;
    } else if (error !== -Errno.ENOENT) {
      return { error, count: 0 };
    }
    previous ??= new Uint8Array(keySize);
    previous.set(key);
  }
  if (count > 0 && previous && request.outBatch) request.outBatch.set(previous.subarray(0, keySize));
  return { error, count };
}

export function genericUpdateBatch(map: BpfMap, request: BatchRequest, cpu: number): BatchResult {
  if (badElemFlags(request)) return { error: -Errno.EINVAL, count: 0 };
  const max = request.count;
  if (max === 0) return { error: 0, count: 0 };
  const keySize = map.keySize;
  const valueSize = map.sysValueSize;
  let count = 0;
  let error = 0;
  for (; count < max; count++) {
    if (bufferTooSmall(request.keys, (count + 1) * keySize) || bufferTooSmall(request.values, (count + 1) * valueSize)) {
      error = -Errno.EFAULT;
      break;
    }
    const key = request.keys.subarray(count * keySize, (count + 1) * keySize);
    const value = request.values!.subarray(count * valueSize, (count + 1) * valueSize);
    error = map.batchUpdate(key, value, 0, cpu);
    if (error) break;
  }
  return { error, count };
}

export function genericDeleteBatch(map: BpfMap, request: BatchRequest, cpu: number): BatchResult {
  if (badElemFlags(request)) return { error: -Errno.EINVAL, count: 0 };
  const max = request.count;
  if (max === 0) return { error: 0, count: 0 };
  const keySize = map.keySize;
  let count = 0;
  let error = 0;
  for (; count < max; count++) {
    if (bufferTooSmall(request.keys, (count + 1) * keySize)) {
      error = -Errno.EFAULT;
      break;
    }
    error = map.batchDelete(request.keys.subarray(count * keySize, (count + 1) * keySize), cpu);
    if (error) break;
  }
  return { error, count };
}
