// What every map offers, and the checks the kernel's bpf() makes before a map type sees a request.
//
// Two ways in, as in the kernel:
//   - The program side (helpers): `prog*` methods. Keys and values are (bytes, offset) pairs, usually the
//     program's stack, so no subarray is made; a lookup returns the byte offset of the value inside the
//     map region (the helper layer turns it into an address in the region it registered); per-CPU maps
//     act on the slot of the `cpu` given. They allocate nothing.
//   - The control plane (the bpf() commands): `lookupElem`, `updateElem`, ..., the batch commands. Values
//     of per-CPU maps are all CPUs' values, each in a slot of valueStride bytes, as the syscall copies them.
// Both return 0 (or an offset) on success and -errno on failure, with the kernel's errno for each case
// (see errno.ts). Where the kernel's answer depends on the CPU making the call (LRU local lists), the
// control-plane methods take the CPU as a last, optional argument.

import { MapError, Errno } from "./errno.js";
import { Header, readHeader, type HeaderFields } from "./header.js";
import { MapFlag, UpdateFlag } from "./map-types.js";

export interface BatchRequest {
  /** Cursor returned by the previous call (batchCursorSize bytes), or null to start at the beginning. */
  inBatch: Uint8Array | null;
  /** Receives the cursor for the next call (lookup batches). */
  outBatch: Uint8Array | null;
  /** count × keySize bytes: filled by lookups, read by updates and deletes. */
  keys: Uint8Array;
  /** count × sysValueSize bytes: filled by lookups, read by updates. */
  values: Uint8Array | null;
  /** Elements asked for. */
  count: number;
  elemFlags?: number;
  flags?: number;
}

export interface BatchResult {
  /** 0 or -errno. A lookup batch that reached the end of the map says -ENOENT, with the last elements. */
  error: number;
  /** Elements processed (their keys and values are in the request's buffers). */
  count: number;
}

export abstract class BpfMap {
  readonly region: Uint8Array;
  readonly view: DataView;
  /** The region as 32-bit words, for Atomics on lock words and counters. */
  readonly words: Int32Array;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly ncpus: number;
  readonly extra: bigint;
  readonly name: string;
  readonly seed: number;
  readonly keyStride: number;
  readonly valueStride: number;
  /** Bytes of one value as the control plane exchanges it. */
  readonly sysValueSize: number;
  /** Bytes of the opaque cursor of the lookup batch commands. */
  get batchCursorSize(): number {
    return this.keySize;
  }

  constructor(region: Uint8Array, readonly header: HeaderFields) {
    if (region.byteOffset % 8 !== 0) throw new MapError(Errno.EINVAL, "a map region must start 8-byte aligned");
    if (region.length < header.regionSize) throw new MapError(Errno.ENOMEM, `map region of ${region.length} bytes is smaller than the ${header.regionSize} its layout needs`);
    this.region = region;
    this.view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    this.words = new Int32Array(region.buffer, region.byteOffset, region.byteLength >>> 2);
    this.type = header.type;
    this.keySize = header.keySize;
    this.valueSize = header.valueSize;
    this.maxEntries = header.maxEntries;
    this.flags = header.flags;
    this.ncpus = header.ncpus;
    this.extra = header.extra;
    this.name = header.name;
    this.seed = header.seed;
    this.keyStride = this.view.getUint32(Header.keyStride, true);
    this.valueStride = this.view.getUint32(Header.valueStride, true);
    this.sysValueSize = this.percpu ? this.valueStride * this.ncpus : this.valueSize;
  }

  /** Whether values are per CPU (the control plane then sees ncpus slots of valueStride bytes). */
  get percpu(): boolean {
    return false;
  }

  /** Live elements, for the types that count them. */
  get count(): number {
    return Atomics.load(this.words, Header.count / 4) >>> 0;
  }

  protected addCount(delta: number): void {
    Atomics.add(this.words, Header.count / 4, delta);
  }

  /** Re-reads the header, e.g. to check a region another process initialised. */
  static headerOf(region: Uint8Array): HeaderFields {
    return readHeader(new DataView(region.buffer, region.byteOffset, region.byteLength));
  }

  // ---- program side -----------------------------------------------------------------------------------

  /** bpf_map_lookup_elem: the value's offset in the region, or -errno (the helper returns NULL). */
  progLookup(_key: Uint8Array, _keyOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  /** bpf_map_update_elem. */
  progUpdate(_key: Uint8Array, _keyOffset: number, _value: Uint8Array, _valueOffset: number, _flags: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  /** bpf_map_delete_elem. */
  progDelete(_key: Uint8Array, _keyOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  /** bpf_map_push_elem (queue, stack, bloom filter). */
  progPush(_value: Uint8Array, _valueOffset: number, _flags: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  /** bpf_map_pop_elem: copies valueSize bytes to out[outOffset]. */
  progPop(_out: Uint8Array, _outOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  /** bpf_map_peek_elem; for bloom filters `out` holds the value to test and is not written. */
  progPeek(_out: Uint8Array, _outOffset: number, _cpu: number): number {
    return -Errno.EINVAL;
  }

  // ---- control plane: what each type implements ------------------------------------------------------

  protected sysLookup(_key: Uint8Array | null, _value: Uint8Array): number {
    return -Errno.ENOTSUPP;
  }

  protected sysUpdate(_key: Uint8Array | null, _value: Uint8Array, _flags: number, _cpu: number): number {
    return -Errno.ENOTSUPP;
  }

  protected sysDelete(_key: Uint8Array | null, _cpu: number): number {
    return -Errno.ENOTSUPP;
  }

  protected sysGetNextKey(_key: Uint8Array | null, _nextKey: Uint8Array): number {
    return -Errno.ENOTSUPP;
  }

  protected sysLookupAndDelete(_key: Uint8Array | null, _value: Uint8Array, _flags: number, _cpu: number): number {
    return -Errno.ENOTSUPP;
  }

  // ---- control plane: the bpf() commands ---------------------------------------------------------------

  /** Whether `key` is acceptable for a command that needs one: the kernel copies key_size bytes, or none. */
  private badKey(key: Uint8Array | null, optional: boolean): number {
    if (this.keySize === 0) return key === null || key.length === 0 ? 0 : -Errno.EINVAL;
    if (key === null) return optional ? 0 : -Errno.EFAULT;
    return key.length < this.keySize ? -Errno.EFAULT : 0;
  }

  private badValue(value: Uint8Array): number {
    return value.length < this.sysValueSize ? -Errno.EFAULT : 0;
  }

  /** -EPERM when the control plane may not read (BPF_F_WRONLY) or write (BPF_F_RDONLY) this map. */
  private denied(read: boolean, write: boolean): number {
    if (read && this.flags & MapFlag.WRONLY) return -Errno.EPERM;
    if (write && this.flags & MapFlag.RDONLY) return -Errno.EPERM;
    return 0;
  }

  /** BPF_MAP_LOOKUP_ELEM. */
  lookupElem(key: Uint8Array | null, value: Uint8Array, flags = 0): number {
    // No value here ever holds a bpf_spin_lock (there is no BTF for it), so BPF_F_LOCK is always refused.
    if (flags !== 0) return -Errno.EINVAL;
    return this.denied(true, false) || this.badKey(key, false) || this.badValue(value) || this.sysLookup(key, value);
  }

  /** BPF_MAP_UPDATE_ELEM (for queue, stack and bloom filter: a push). */
  updateElem(key: Uint8Array | null, value: Uint8Array, flags = 0, cpu = 0): number {
    const denied = this.denied(false, true);
    if (denied) return denied;
    if (flags & UpdateFlag.LOCK) return -Errno.EINVAL;
    return this.badKey(key, false) || this.badValue(value) || this.sysUpdate(key, value, flags, cpu);
  }

  /** BPF_MAP_DELETE_ELEM. */
  deleteElem(key: Uint8Array | null, cpu = 0): number {
    return this.denied(false, true) || this.badKey(key, false) || this.sysDelete(key, cpu);
  }

  /** BPF_MAP_GET_NEXT_KEY; a null key asks for the first one. */
  getNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    if (nextKey.length < this.keySize) return -Errno.EFAULT;
    return this.denied(true, false) || this.badKey(key, true) || this.sysGetNextKey(key, nextKey);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_ELEM (for queue and stack: a pop). */
  lookupAndDeleteElem(key: Uint8Array | null, value: Uint8Array, flags = 0, cpu = 0): number {
    // Only BPF_F_LOCK is defined here (never for queue and stack), and no value holds a spin lock.
    if (flags !== 0) return -Errno.EINVAL;
    return this.denied(true, true) || this.badKey(key, false) || this.badValue(value) || this.sysLookupAndDelete(key, value, flags, cpu);
  }

  /** BPF_MAP_LOOKUP_BATCH. */
  lookupBatch(request: BatchRequest): BatchResult {
    const denied = this.denied(true, false);
    return denied ? { error: denied, count: 0 } : this.sysLookupBatch(request);
  }

  /** BPF_MAP_LOOKUP_AND_DELETE_BATCH. */
  lookupAndDeleteBatch(request: BatchRequest, cpu = 0): BatchResult {
    const denied = this.denied(true, true);
    return denied ? { error: denied, count: 0 } : this.sysLookupAndDeleteBatch(request, cpu);
  }

  /** BPF_MAP_UPDATE_BATCH. */
  updateBatch(request: BatchRequest, cpu = 0): BatchResult {
    const denied = this.denied(false, true);
    return denied ? { error: denied, count: 0 } : this.sysUpdateBatch(request, cpu);
  }

  /** BPF_MAP_DELETE_BATCH. */
  deleteBatch(request: BatchRequest, cpu = 0): BatchResult {
    const denied = this.denied(false, true);
    return denied ? { error: denied, count: 0 } : this.sysDeleteBatch(request, cpu);
  }

  // Batch commands a type supports; the kernel answers ENOTSUPP for the ones its map ops leave out.
  protected sysLookupBatch(_request: BatchRequest): BatchResult {
    return { error: -Errno.ENOTSUPP, count: 0 };
  }

  protected sysLookupAndDeleteBatch(_request: BatchRequest, _cpu: number): BatchResult {
    return { error: -Errno.ENOTSUPP, count: 0 };
  }

  protected sysUpdateBatch(_request: BatchRequest, _cpu: number): BatchResult {
    return { error: -Errno.ENOTSUPP, count: 0 };
  }

  protected sysDeleteBatch(_request: BatchRequest, _cpu: number): BatchResult {
    return { error: -Errno.ENOTSUPP, count: 0 };
  }

  // ---- for the generic batch commands ------------------------------------------------------------------

  /** Lookup as the batch commands do it (bpf_map_copy_value), without the per-command checks. */
  batchCopyValue(key: Uint8Array, value: Uint8Array): number {
    return this.sysLookup(key, value);
  }

  batchGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    return this.sysGetNextKey(key, nextKey);
  }

  batchUpdate(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    return this.sysUpdate(key, value, flags, cpu);
  }

  batchDelete(key: Uint8Array, cpu: number): number {
    return this.sysDelete(key, cpu);
  }
}

/** `cpu` folded into [0, ncpus): a caller on a CPU the map was not sized for still gets a slot. */
export function cpuSlot(cpu: number, ncpus: number): number {
  return cpu >= 0 && cpu < ncpus ? cpu : ((cpu % ncpus) + ncpus) % ncpus;
}
