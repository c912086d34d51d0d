// The hash family: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and HASH_OF_MAPS, with the kernel's
// structure (kernel/bpf/hashtab.c): a power-of-two array of buckets, each a chain of preallocated
// elements, the bucket picked by jhash(key, key_size, seed). Since the structure and the hash are the
// kernel's, a map created with BPF_F_ZERO_SEED iterates (get_next_key, batches) in exactly the kernel's
// order; with a random seed the order differs but the set of keys is the same.
//
// Type header (0x80..):
//   0x80 u32 n_buckets N          roundup_pow_of_two(max_entries)
//   0x84 u32 element size         bytes per element, a multiple of 8
//   0x88 u32 buckets offset B
//   0x8c u32 elements offset E
//   0x90 u32 pool size P          elements preallocated: max_entries (the kernel's BPF_F_NO_PREALLOC only
//                                 changes when memory is taken, not what the map does)
//   0x94 i32 free-list lock       (non-LRU types)
//   0x98 u32 free-list head       element index, or 0xffffffff when empty
//   0x9c u32 LRU area offset      (LRU types; 0 otherwise; see lru-list.ts)
//   0xa0 u32 key offset K         within an element: 16, or 24 for LRU types
//   0xa4 u32 value offset         K + key_stride
//   0xa8 u32 value slots          ncpus for per-CPU types, else 1
// Buckets at B, N x 8 bytes:  i32 lock, u32 first element (or the bucket's nulls marker when empty)
// Elements at E + i * element size:
//   +0  u32 next      next element of the bucket chain; a chain ends with the nulls marker
//                     0x80000000 | bucket index (hlist_nulls: a lock-free reader that ends on another
//                     bucket's marker was moved by a concurrent delete+reuse and must restart)
//   +4  u32 hash      jhash of the key
//   +8  u32 free next the free-list link, kept apart from `next` so a reader walking a freed element
//                     still finds its way back to a chain end (non-LRU types)
//   +8  16-byte LRU node instead (LRU types; see lru-list.ts)
//   +K  key, key_stride bytes
//   +K+key_stride  value: `value slots` x value_stride bytes (CPU c's copy at c * value_stride)
//
// Updates, as the kernel orders them: a new key takes an element (free list, or the LRU, which may evict),
// fills hash, key and value, then links it at the head of its bucket. Replacing the value of an existing
// key writes it in place; a plain HASH also moves the element to the bucket head (where the kernel's
// element swap puts the new one), an LRU_HASH takes a fresh element and frees the old one (as the kernel
// does, so a replacement can evict). Per-CPU values from a program touch only that CPU's slot.
//
// Concurrency contract (for native code): lookups take no lock (walk the chain, compare hash then key,
// restart on a foreign nulls marker); every change of a chain, and every value write of the control
// plane, happens under the bucket lock; the free list has its own lock; LRU lists have theirs (taken
// before a bucket lock, never after). In-place value writes mean a reader holding a value pointer may
// see a concurrent update partially (the kernel swaps in a fresh element for non-per-CPU hashes);
// programs that need atomic values use atomic instructions, as they must in the kernel too.

import { BpfMap, cpuSlot, type BatchRequest, type BatchResult } from "./bpf-map.js";
import { genericDeleteBatch, genericUpdateBatch } from "./batch.js";
import { bytesEqual, copyBytes, readU32, roundUp, roundUpPowerOfTwo, writeU32 } from "./bytes.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { jhash } from "./jhash.js";
import { LruLists, lruAreaSize, NO_ELEMENT } from "./lru-list.js";
import { accessFlagsOk, flagsOutside, KMALLOC_MAX_SIZE, PERCPU_VALUE_MAX, type MapKind } from "./map-kind.js";
import { checkInnerMapTemplate } from "./map-in-map.js";
import type { MapSpec } from "./map-spec.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const HashHeader = {
  buckets: 0x80,
  elementSize: 0x84,
  bucketsOffset: 0x88,
  elementsOffset: 0x8c,
  poolSize: 0x90,
  freeLock: 0x94,
  freeHead: 0x98,
  lruOffset: 0x9c,
  keyOffset: 0xa0,
  valueOffset: 0xa4,
  valueSlots: 0xa8,
} as const;

export const HashElement = { next: 0, hash: 4, freeNext: 8 } as const;
const BUCKET = { lock: 0, first: 4, size: 8 } as const;
export const NULLS_BIT = 0x80000000;
/** sizeof(struct htab_elem) in the kernel's E2BIG bound on key_size + value_size. */
const KERNEL_HTAB_ELEM_SIZE = 48;

const HASH_FLAGS = MapFlag.NO_PREALLOC | MapFlag.NO_COMMON_LRU | MapFlag.NUMA_NODE | MapFlag.ZERO_SEED;

const isLru = (type: number): boolean => type === MapType.LRU_HASH || type === MapType.LRU_PERCPU_HASH;
const isPercpu = (type: number): boolean => type === MapType.PERCPU_HASH || type === MapType.LRU_PERCPU_HASH;

/** htab_map_alloc_check and the size checks of htab_map_alloc, in the kernel's order. */
function checkHashSpec(spec: MapSpec): number {
  if (spec.type === MapType.HASH_OF_MAPS && spec.valueSize !== 4) return -Errno.EINVAL;
  const lru = isLru(spec.type);
  const percpu = isPercpu(spec.type);
  const percpuLru = (spec.flags & MapFlag.NO_COMMON_LRU) !== 0;
  if (flagsOutside(spec.flags, HASH_FLAGS) || !accessFlagsOk(spec.flags)) return -Errno.EINVAL;
  if (!lru && percpuLru) return -Errno.EINVAL;
  if (lru && spec.flags & MapFlag.NO_PREALLOC) return -Errno.ENOTSUPP;
  if (spec.flags & MapFlag.NUMA_NODE && (percpu || percpuLru)) return -Errno.EINVAL;
  if (spec.maxEntries === 0 || spec.keySize === 0 || spec.valueSize === 0) return -Errno.EINVAL;
  if (spec.keySize + spec.valueSize >= KMALLOC_MAX_SIZE - KERNEL_HTAB_ELEM_SIZE) return -Errno.E2BIG;
  if (percpu && roundUp(spec.valueSize, 8) > PERCPU_VALUE_MAX) return -Errno.E2BIG;
  if (spec.maxEntries > 2 ** 31) return -Errno.E2BIG;
  if (spec.type === MapType.HASH_OF_MAPS) return checkInnerMapTemplate(spec);
  return 0;
}

interface HashLayout {
  buckets: number;
  elementSize: number;
  bucketsOffset: number;
  elementsOffset: number;
  pool: number;
  lruOffset: number;
  keyOffset: number;
  valueOffset: number;
  valueSlots: number;
  size: number;
}

function hashLayout(fields: HeaderFields): HashLayout {
  const lru = isLru(fields.type);
  const valueSlots = isPercpu(fields.type) ? fields.ncpus : 1;
  const keyOffset = lru ? 24 : 16;
  const valueOffset = keyOffset + roundUp(fields.keySize, 8);
  const elementSize = valueOffset + valueSlots * roundUp(fields.valueSize, 8);
  const buckets = roundUpPowerOfTwo(fields.maxEntries);
  const bucketsOffset = Header.size;
  const elementsOffset = bucketsOffset + buckets * BUCKET.size;
  const pool = fields.maxEntries;
  const lruOffset = lru ? elementsOffset + pool * elementSize : 0;
  const lruSize = lru ? lruAreaSize({ percpuLists: (fields.flags & MapFlag.NO_COMMON_LRU) !== 0, ncpus: fields.ncpus, elements: pool }) : 0;
  const size = (lru ? lruOffset : elementsOffset + pool * elementSize) + lruSize;
  return { buckets, elementSize, bucketsOffset, elementsOffset, pool, lruOffset, keyOffset, valueOffset, valueSlots, size };
}

export class HashMap extends BpfMap {
  readonly buckets: number;
  readonly elementSize: number;
  readonly bucketsOffset: number;
  readonly elementsOffset: number;
  readonly pool: number;
  readonly keyOffset: number;
  readonly valueOffset: number;
  readonly valueSlots: number;
  private readonly lru: LruLists | undefined;
  /** Replacing a value moves its element to the bucket head, as the kernel's element swap does. */
  private readonly relinkOnReplace: boolean;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    const v = this.view;
    this.buckets = v.getUint32(HashHeader.buckets, true);
    this.elementSize = v.getUint32(HashHeader.elementSize, true);
    this.bucketsOffset = v.getUint32(HashHeader.bucketsOffset, true);
    this.elementsOffset = v.getUint32(HashHeader.elementsOffset, true);
    this.pool = v.getUint32(HashHeader.poolSize, true);
    this.keyOffset = v.getUint32(HashHeader.keyOffset, true);
    this.valueOffset = v.getUint32(HashHeader.valueOffset, true);
    this.valueSlots = v.getUint32(HashHeader.valueSlots, true);
    const lruOffset = v.getUint32(HashHeader.lruOffset, true);
    this.lru = lruOffset
      ? new LruLists(v, this.words, lruOffset, this.elementsOffset, this.elementSize, this.pool, this.ncpus, (element) => this.evict(element))
      : undefined;
    this.relinkOnReplace = this.type === MapType.HASH;
  }

  override get percpu(): boolean {
    return isPercpu(this.type);
  }

  /** Puts every element on the free list (or the LRU free lists) and empties the buckets. */
  initialize(): void {
    for (let b = 0; b < this.buckets; b++) this.view.setUint32(this.bucketOffset(b) + BUCKET.first, (NULLS_BIT | b) >>> 0, true);
    if (this.lru) {
      this.lru.populate();
      return;
    }
    for (let i = 0; i < this.pool; i++) {
      this.view.setUint32(this.elementOffset(i) + HashElement.freeNext, i + 1 < this.pool ? i + 1 : NO_ELEMENT, true);
    }
    this.view.setUint32(HashHeader.freeHead, this.pool > 0 ? 0 : NO_ELEMENT, true);
  }

  elementOffset(element: number): number {
    return this.elementsOffset + element * this.elementSize;
  }

  private bucketOffset(bucket: number): number {
    return this.bucketsOffset + bucket * BUCKET.size;
  }

  private bucketLock(bucket: number): number {
    return (this.bucketOffset(bucket) + BUCKET.lock) >>> 2;
  }

  private first(bucket: number): number {
    return Atomics.load(this.words, (this.bucketOffset(bucket) + BUCKET.first) >>> 2) >>> 0;
  }

  private setFirst(bucket: number, link: number): void {
    Atomics.store(this.words, (this.bucketOffset(bucket) + BUCKET.first) >>> 2, link | 0);
  }

  private next(element: number): number {
    return Atomics.load(this.words, (this.elementOffset(element) + HashElement.next) >>> 2) >>> 0;
  }

  private setNext(element: number, link: number): void {
    Atomics.store(this.words, (this.elementOffset(element) + HashElement.next) >>> 2, link | 0);
  }

  hashOf(key: Uint8Array, keyOffset: number): number {
    return jhash(key, keyOffset, this.keySize, this.seed);
  }

  /** The element holding `key`, or -1 (lock-free: restarts when the walk ends in another bucket). */
  private find(hash: number, key: Uint8Array, keyOffset: number): number {
    const bucket = hash & (this.buckets - 1);
    for (;;) {
      let link = this.first(bucket);
      while (link < NULLS_BIT) {
        const at = this.elementOffset(link);
        if (this.view.getUint32(at + HashElement.hash, true) === hash && bytesEqual(this.region, at + this.keyOffset, key, keyOffset, this.keySize)) {
          return link;
        }
        link = this.next(link);
      }
      if (link === (NULLS_BIT | bucket) >>> 0) return -1;
    }
  }

  /** Links `element` at the head of its bucket (bucket lock held). */
  private linkHead(bucket: number, element: number): void {
    this.setNext(element, this.first(bucket));
    this.setFirst(bucket, element);
  }

  /** Unlinks `element` from its bucket (bucket lock held); false if it is not in the chain. */
  private unlinkFrom(bucket: number, element: number): boolean {
    let link = this.first(bucket);
    if (link === element) {
      this.setFirst(bucket, this.next(element));
      return true;
    }
    while (link < NULLS_BIT) {
      const following = this.next(link);
      if (following === element) {
        this.setNext(link, this.next(element));
        return true;
      }
      link = following;
    }
    return false;
  }

  /** The LRU's eviction callback (htab_lru_map_delete_node): removes the element if it is linked. */
  private evict(element: number): boolean {
    const bucket = this.view.getUint32(this.elementOffset(element) + HashElement.hash, true) & (this.buckets - 1);
    const lock = this.bucketLock(bucket);
    if (!tryLock(this.words, lock)) return false;
    const removed = this.unlinkFrom(bucket, element);
    if (removed) this.addCount(-1);
    unlock(this.words, lock);
    return removed;
  }

  private popFree(): number {
    const lock = HashHeader.freeLock >>> 2;
    if (!tryLock(this.words, lock)) return NO_ELEMENT;
    const head = this.view.getUint32(HashHeader.freeHead, true);
    if (head !== NO_ELEMENT) this.view.setUint32(HashHeader.freeHead, this.view.getUint32(this.elementOffset(head) + HashElement.freeNext, true), true);
    unlock(this.words, lock);
    return head;
  }

  private pushFree(element: number): void {
    if (this.lru) {
      this.lru.pushFree(element);
      return;
    }
    const lock = HashHeader.freeLock >>> 2;
    if (!tryLock(this.words, lock)) return;
    this.view.setUint32(this.elementOffset(element) + HashElement.freeNext, this.view.getUint32(HashHeader.freeHead, true), true);
    this.view.setUint32(HashHeader.freeHead, element, true);
    unlock(this.words, lock);
  }

  // ---- values ---------------------------------------------------------------------------------------------

  private valueAt(element: number): number {
    return this.elementOffset(element) + this.valueOffset;
  }

  /**
   * Writes a value into an element. From the control plane (`allCpus`) a per-CPU value holds every CPU's
   * slot and is copied with its padding, as the kernel does; from a program it is this CPU's value, and a
   * new element's other CPUs start at zero (pcpu_init_value).
   */
  private writeValue(element: number, value: Uint8Array, valueOffset: number, allCpus: boolean, cpu: number, fresh: boolean): void {
    const target = this.valueAt(element);
    if (this.valueSlots === 1) {
      copyBytes(this.region, target, value, valueOffset, this.valueSize);
      return;
    }
    if (allCpus) {
      copyBytes(this.region, target, value, valueOffset, this.valueSlots * this.valueStride);
      return;
    }
    if (fresh) this.region.fill(0, target, target + this.valueSlots * this.valueStride);
    copyBytes(this.region, target + cpuSlot(cpu, this.ncpus) * this.valueStride, value, valueOffset, this.valueSize);
  }

  private readValue(element: number, out: Uint8Array): void {
    const source = this.valueAt(element);
    out.set(this.region.subarray(source, source + this.sysValueSize));
  }

  // ---- the operations --------------------------------------------------------------------------------------

  override progLookup(key: Uint8Array, keyOffset: number, cpu: number): number {
    const element = this.find(this.hashOf(key, keyOffset), key, keyOffset);
    if (element < 0) return -Errno.ENOENT;
    if (this.lru) this.lru.setRef(element);
    return this.valueAt(element) + (this.valueSlots === 1 ? 0 : cpuSlot(cpu, this.ncpus) * this.valueStride);
  }

  override progUpdate(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    if (this.type === MapType.HASH_OF_MAPS) return -Errno.EINVAL;
    return this.update(key, keyOffset, value, valueOffset, flags, cpu, false);
  }

  override progDelete(key: Uint8Array, keyOffset: number, _cpu: number): number {
    if (this.type === MapType.HASH_OF_MAPS) return -Errno.EINVAL;
    return this.remove(key, keyOffset, null);
  }

  protected override sysLookup(key: Uint8Array, value: Uint8Array): number {
    const element = this.find(this.hashOf(key, 0), key, 0);
    if (element < 0) return -Errno.ENOENT;
    // The control plane's lookups leave LRU ref bits alone (htab_lru_map_lookup_elem_sys).
    this.readValue(element, value);
    return 0;
  }

  protected override sysUpdate(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    // A hash of maps stores inner map ids; 0 names no map (where the kernel would see a bad fd).
    if (this.type === MapType.HASH_OF_MAPS && readU32(value, 0) === 0) return -Errno.EBADF;
    return this.update(key, 0, value, 0, flags, cpu, true);
  }

  protected override sysDelete(key: Uint8Array): number {
    return this.remove(key, 0, null);
  }

  protected override sysLookupAndDelete(key: Uint8Array, value: Uint8Array): number {
    return this.remove(key, 0, value);
  }

  private checkFlags(exists: boolean, flags: number): number {
    const mode = flags & ~UpdateFlag.LOCK;
    if (exists && mode === UpdateFlag.NOEXIST) return -Errno.EEXIST;
    if (!exists && mode === UpdateFlag.EXIST) return -Errno.ENOENT;
    return 0;
  }

  private update(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number, allCpus: boolean): number {
    // No value here holds a bpf_spin_lock, so BPF_F_LOCK is refused along with unknown flags.
    if ((flags & ~UpdateFlag.LOCK) > UpdateFlag.EXIST || flags & UpdateFlag.LOCK) return -Errno.EINVAL;
    const hash = this.hashOf(key, keyOffset);
    if (this.lru) {
      return this.valueSlots === 1
        ? this.lruUpdate(hash, key, keyOffset, value, valueOffset, flags, cpu)
        : this.lruPercpuUpdate(hash, key, keyOffset, value, valueOffset, flags, cpu, allCpus);
    }
    const bucket = hash & (this.buckets - 1);
    const lock = this.bucketLock(bucket);
    if (!tryLock(this.words, lock)) return -Errno.EBUSY;
    const old = this.find(hash, key, keyOffset);
    const error = this.checkFlags(old >= 0, flags);
    if (error) {
      unlock(this.words, lock);
      return error;
    }
    if (old >= 0) {
      this.writeValue(old, value, valueOffset, allCpus, cpu, false);
      if (this.relinkOnReplace && this.first(bucket) !== old) {
        this.unlinkFrom(bucket, old);
        this.linkHead(bucket, old);
      }
      unlock(this.words, lock);
      return 0;
    }
    const element = this.popFree();
    if (element === NO_ELEMENT) {
      unlock(this.words, lock);
      return -Errno.E2BIG;
    }
    this.fillElement(element, hash, key, keyOffset);
    this.writeValue(element, value, valueOffset, allCpus, cpu, true);
    this.linkHead(bucket, element);
    this.addCount(1);
    unlock(this.words, lock);
    return 0;
  }

  private fillElement(element: number, hash: number, key: Uint8Array, keyOffset: number): void {
    const at = this.elementOffset(element);
    this.view.setUint32(at + HashElement.hash, hash, true);
    copyBytes(this.region, at + this.keyOffset, key, keyOffset, this.keySize);
  }

  /**
   * htab_lru_map_update_elem: an element is taken from the LRU *before* the flags are checked, so even an
   * update that fails, or replaces an existing key, may evict another key, exactly as in the kernel.
   */
  private lruUpdate(hash: number, key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    const lru = this.lru!;
    const element = lru.popFree(cpuSlot(cpu, this.ncpus), hash);
    if (element === NO_ELEMENT) return -Errno.ENOMEM;
    this.fillElement(element, hash, key, keyOffset);
    this.writeValue(element, value, valueOffset, true, cpu, true);
    const bucket = hash & (this.buckets - 1);
    const lock = this.bucketLock(bucket);
    if (!tryLock(this.words, lock)) {
      lru.pushFree(element);
      return -Errno.EBUSY;
    }
    const old = this.find(hash, key, keyOffset);
    const error = this.checkFlags(old >= 0, flags);
    if (error) {
      unlock(this.words, lock);
      lru.pushFree(element);
      return error;
    }
    this.linkHead(bucket, element);
    if (old >= 0) {
      lru.setRef(element);
      this.unlinkFrom(bucket, old);
    } else {
      this.addCount(1);
    }
    unlock(this.words, lock);
    if (old >= 0) lru.pushFree(old);
    return 0;
  }

  /** __htab_lru_percpu_map_update_elem: values change in place; BPF_EXIST takes no element first. */
  private lruPercpuUpdate(
    hash: number,
    key: Uint8Array,
    keyOffset: number,
    value: Uint8Array,
    valueOffset: number,
    flags: number,
    cpu: number,
    allCpus: boolean,
  ): number {
    const lru = this.lru!;
    let element = NO_ELEMENT;
    if (flags !== UpdateFlag.EXIST) {
      element = lru.popFree(cpuSlot(cpu, this.ncpus), hash);
      if (element === NO_ELEMENT) return -Errno.ENOMEM;
    }
    const bucket = hash & (this.buckets - 1);
    const lock = this.bucketLock(bucket);
    if (!tryLock(this.words, lock)) {
      if (element !== NO_ELEMENT) lru.pushFree(element);
      return -Errno.EBUSY;
    }
    const old = this.find(hash, key, keyOffset);
    const error = this.checkFlags(old >= 0, flags);
    if (!error) {
      if (old >= 0) {
        lru.setRef(old);
        this.writeValue(old, value, valueOffset, allCpus, cpu, false);
      } else {
        this.fillElement(element, hash, key, keyOffset);
        this.writeValue(element, value, valueOffset, allCpus, cpu, true);
        this.linkHead(bucket, element);
        this.addCount(1);
        element = NO_ELEMENT;
      }
    }
    unlock(this.words, lock);
    if (element !== NO_ELEMENT) lru.pushFree(element);
    return error;
  }

  /** Delete, copying the value out first when `value` is given (lookup_and_delete). */
  private remove(key: Uint8Array, keyOffset: number, value: Uint8Array | null): number {
    const hash = this.hashOf(key, keyOffset);
    const bucket = hash & (this.buckets - 1);
    const lock = this.bucketLock(bucket);
    if (!tryLock(this.words, lock)) return -Errno.EBUSY;
    const element = this.find(hash, key, keyOffset);
    if (element < 0) {
      unlock(this.words, lock);
      return -Errno.ENOENT;
    }
    if (value) this.readValue(element, value);
    this.unlinkFrom(bucket, element);
    this.addCount(-1);
    unlock(this.words, lock);
    this.pushFree(element);
    return 0;
  }

  protected override sysGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    let bucket = 0;
    if (key !== null) {
      const hash = this.hashOf(key, 0);
      const element = this.find(hash, key, 0);
      if (element >= 0) {
        const following = this.next(element);
        if (following < NULLS_BIT) return this.copyKey(following, nextKey);
        bucket = (hash & (this.buckets - 1)) + 1;
      }
    }
    for (; bucket < this.buckets; bucket++) {
      const first = this.first(bucket);
      if (first < NULLS_BIT) return this.copyKey(first, nextKey);
    }
    return -Errno.ENOENT;
  }

  private copyKey(element: number, out: Uint8Array): number {
    const at = this.elementOffset(element) + this.keyOffset;
    out.set(this.region.subarray(at, at + this.keySize));
    return 0;
  }

  // ---- batches (htab_map_lookup_batch: the cursor is a bucket index) ------------------------------------------

  override get batchCursorSize(): number {
    return 4;
  }

  protected override sysLookupBatch(request: BatchRequest): BatchResult {
    return this.bucketBatch(request, false, 0);
  }

  protected override sysLookupAndDeleteBatch(request: BatchRequest, cpu: number): BatchResult {
    if (this.type === MapType.HASH_OF_MAPS) return { error: -Errno.ENOTSUPP, count: 0 };
    return this.bucketBatch(request, true, cpu);
  }

  protected override sysUpdateBatch(request: BatchRequest, cpu: number): BatchResult {
    if (this.type === MapType.HASH_OF_MAPS) return { error: -Errno.ENOTSUPP, count: 0 };
    return genericUpdateBatch(this, request, cpu);
  }

  protected override sysDeleteBatch(request: BatchRequest, cpu: number): BatchResult {
    if (this.type === MapType.HASH_OF_MAPS) return { error: -Errno.ENOTSUPP, count: 0 };
    return genericDeleteBatch(this, request, cpu);
  }

  /** Whole buckets at a time; a bucket that does not fit ends the batch (ENOSPC if it is the first). */
  private bucketBatch(request: BatchRequest, remove: boolean, _cpu: number): BatchResult {
    if ((request.elemFlags ?? 0) !== 0 || (request.flags ?? 0) !== 0) return { error: -Errno.EINVAL, count: 0 };
    const max = request.count;
    if (max === 0) return { error: 0, count: 0 };
    let bucket = request.inBatch ? readU32(request.inBatch, 0) : 0;
    if (bucket >= this.buckets) return { error: -Errno.ENOENT, count: 0 };
    const keySize = this.keySize;
    const valueSize = this.sysValueSize;
    if (request.keys.length < max * keySize || (request.values?.length ?? 0) < max * valueSize) return { error: -Errno.EFAULT, count: 0 };
    let total = 0;
    let error = 0;
    for (;;) {
      const lock = this.bucketLock(bucket);
      if (!tryLock(this.words, lock)) return { error: -Errno.EBUSY, count: total };
      let inBucket = 0;
      for (let link = this.first(bucket); link < NULLS_BIT; link = this.next(link)) inBucket++;
      if (inBucket > max - total) {
        unlock(this.words, lock);
        if (total === 0) error = -Errno.ENOSPC;
        break;
      }
      const freed: number[] = [];
      for (let link = this.first(bucket); link < NULLS_BIT; link = this.next(link)) {
        const at = this.elementOffset(link);
        request.keys.set(this.region.subarray(at + this.keyOffset, at + this.keyOffset + keySize), total * keySize);
        request.values!.set(this.region.subarray(at + this.valueOffset, at + this.valueOffset + valueSize), total * valueSize);
        total++;
        // Removed elements are released after the unlock, most recently visited first, as the kernel does.
        if (remove) freed.unshift(link);
      }
      if (remove && inBucket > 0) {
        this.setFirst(bucket, (NULLS_BIT | bucket) >>> 0);
        this.addCount(-inBucket);
      }
      unlock(this.words, lock);
      for (const element of freed) this.pushFree(element);
      bucket++;
      if (bucket >= this.buckets) {
        error = -Errno.ENOENT;
        break;
      }
    }
    if (request.outBatch) writeU32(request.outBatch, 0, bucket);
    return { error, count: total };
  }
}

export const hashKind: MapKind = {
  types: [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.HASH_OF_MAPS],
  check: checkHashSpec,
  adjust(fields) {
    // Per-CPU LRU lists each get the same number of elements, at least one (htab_map_alloc).
    if (isLru(fields.type) && fields.flags & MapFlag.NO_COMMON_LRU) {
      const rounded = Math.ceil(fields.maxEntries / fields.ncpus) * fields.ncpus;
      fields.maxEntries = rounded <= 0xffffffff ? rounded : Math.floor(fields.maxEntries / fields.ncpus) * fields.ncpus;
    }
  },
  regionSize: (fields) => hashLayout(fields).size,
  create(region, fields) {
    const layout = hashLayout(fields);
    const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
    v.setUint32(HashHeader.buckets, layout.buckets, true);
    v.setUint32(HashHeader.elementSize, layout.elementSize, true);
    v.setUint32(HashHeader.bucketsOffset, layout.bucketsOffset, true);
    v.setUint32(HashHeader.elementsOffset, layout.elementsOffset, true);
    v.setUint32(HashHeader.poolSize, layout.pool, true);
    v.setUint32(HashHeader.freeHead, NO_ELEMENT, true);
    v.setUint32(HashHeader.lruOffset, layout.lruOffset, true);
    v.setUint32(HashHeader.keyOffset, layout.keyOffset, true);
    v.setUint32(HashHeader.valueOffset, layout.valueOffset, true);
    v.setUint32(HashHeader.valueSlots, layout.valueSlots, true);
    if (layout.lruOffset) {
      LruLists.initialize(v, layout.lruOffset, {
        percpuLists: (fields.flags & MapFlag.NO_COMMON_LRU) !== 0,
        ncpus: fields.ncpus,
        elements: layout.pool,
      });
    }
    const map = new HashMap(region, fields);
    map.initialize();
    return map;
  },
  open: (region, fields) => new HashMap(region, fields),
};
