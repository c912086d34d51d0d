// BPF_MAP_TYPE_STACK_TRACE (kernel/bpf/stackmap.c): stacks of instruction pointers stored by
// bpf_get_stackid, the stack id being the bucket its hash picks. A different stack hashing to a taken
// bucket is -EEXIST unless the caller passes BPF_F_REUSE_STACKID, which replaces it.
//
// Type header:
//   0x80 u32 n_buckets      roundup_pow_of_two(max_entries)
//   0x84 i32 lock           taken by every change
//   0x88 u32 bucket stride  8 + value_size
// Buckets at 0x100, bucket i at 0x100 + i * stride:
//   +0 u32 nr    instruction pointers stored (0: empty)
//   +4 u32 hash  jhash of the stored ips
//   +8 u64 ips[value_size / 8]
//
// The control plane looks up (the ips, zero-padded), deletes, and walks the taken buckets with
// get_next_key; it cannot update (EINVAL), as in the kernel.

import { BpfMap } from "./bpf-map.js";
import { bytesEqual, readU32, roundUpPowerOfTwo, writeU32 } from "./bytes.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { jhash } from "./jhash.js";
import { accessFlagsOk, flagsOutside, type MapKind } from "./map-kind.js";
import { MapFlag, MapType } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const StackTraceHeader = { buckets: 0x80, lock: 0x84, stride: 0x88 } as const;

/** bpf_get_stackid flags. */
export const StackIdFlag = { SKIP_MASK: 0xff, USER_STACK: 1 << 8, FAST_STACK_CMP: 1 << 9, REUSE_STACKID: 1 << 10 } as const;

/** The kernel's default sysctl_perf_event_max_stack: the deepest stack a value may hold. */
export const MAX_STACK_DEPTH = 127;

export class StackTraceMap extends BpfMap {
  private readonly buckets: number;
  private readonly stride: number;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.buckets = this.view.getUint32(StackTraceHeader.buckets, true);
    this.stride = this.view.getUint32(StackTraceHeader.stride, true);
  }

  private bucketOffset(id: number): number {
    return Header.size + id * this.stride;
  }

  /**
   * bpf_get_stackid: stores `ips` (already without the skipped frames; at most value_size / 8 are kept)
   * and returns the stack id, or -errno.
   */
  storeStack(ips: readonly bigint[], flags: number): number {
    if (flags & ~(StackIdFlag.SKIP_MASK | StackIdFlag.USER_STACK | StackIdFlag.FAST_STACK_CMP | StackIdFlag.REUSE_STACKID)) return -Errno.EINVAL;
    const nr = Math.min(ips.length, this.valueSize / 8);
    if (nr === 0) return -Errno.EFAULT;
    const bytes = new Uint8Array(nr * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < nr; i++) view.setBigUint64(i * 8, BigInt.asUintN(64, ips[i]!), true);
    const hash = jhash(bytes, 0, bytes.length, 0) >>> 0;
    const id = hash & (this.buckets - 1);
    const at = this.bucketOffset(id);
    if (!tryLock(this.words, StackTraceHeader.lock >>> 2)) return -Errno.EBUSY;
    try {
      const storedNr = readU32(this.region, at);
      if (storedNr !== 0) {
        const same = storedNr === nr && readU32(this.region, at + 4) === hash && bytesEqual(this.region, at + 8, bytes, 0, bytes.length);
        if (same) return id;
        if (!(flags & StackIdFlag.REUSE_STACKID)) return -Errno.EEXIST;
      } else {
        this.addCount(1);
      }
      this.region.fill(0, at + 8, at + 8 + this.valueSize);
      this.region.set(bytes, at + 8);
      writeU32(this.region, at + 4, hash);
      writeU32(this.region, at, nr);
      return id;
    } finally {
      unlock(this.words, StackTraceHeader.lock >>> 2);
    }
  }

  protected override sysLookup(key: Uint8Array | null, value: Uint8Array): number {
    const id = readU32(key!, 0);
    if (id >= this.buckets) return -Errno.ENOENT;
    const at = this.bucketOffset(id);
    const nr = readU32(this.region, at);
    if (nr === 0) return -Errno.ENOENT;
    value.fill(0, 0, this.valueSize);
    value.set(this.region.subarray(at + 8, at + 8 + nr * 8));
    return 0;
  }

  protected override sysUpdate(): number {
    return -Errno.EINVAL;
  }

  protected override sysDelete(key: Uint8Array | null): number {
    const id = readU32(key!, 0);
    if (id >= this.buckets) return -Errno.EINVAL;
    if (!tryLock(this.words, StackTraceHeader.lock >>> 2)) return -Errno.EBUSY;
    try {
      const at = this.bucketOffset(id);
      if (readU32(this.region, at) === 0) return -Errno.ENOENT;
      writeU32(this.region, at, 0);
      this.addCount(-1);
      return 0;
    } finally {
      unlock(this.words, StackTraceHeader.lock >>> 2);
    }
  }

  protected override sysGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    let id = key === null ? 0 : readU32(key, 0) + 1;
    if (key !== null && readU32(key, 0) >= this.buckets) id = 0;
    for (; id < this.buckets; id++) {
      if (readU32(this.region, this.bucketOffset(id)) !== 0) {
        writeU32(nextKey, 0, id);
        return 0;
      }
    }
    return -Errno.ENOENT;
  }
}

export const stackTraceKind: MapKind = {
  types: [MapType.STACK_TRACE],
  check(spec) {
    if (spec.keySize !== 4 || spec.valueSize < 8 || spec.valueSize % 8 !== 0 || spec.maxEntries === 0) return -Errno.EINVAL;
    if (flagsOutside(spec.flags, MapFlag.NUMA_NODE | MapFlag.STACK_BUILD_ID) || !accessFlagsOk(spec.flags)) return -Errno.EINVAL;
    if (spec.flags & MapFlag.STACK_BUILD_ID) return -Errno.EINVAL; // build-id stacks need the kernel's file table
    if (spec.valueSize / 8 > MAX_STACK_DEPTH) return -Errno.EINVAL;
    return 0;
  },
  regionSize: (fields) => Header.size + roundUpPowerOfTwo(fields.maxEntries) * (8 + fields.valueSize),
  create(region, fields) {
    const view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    view.setUint32(StackTraceHeader.buckets, roundUpPowerOfTwo(fields.maxEntries), true);
    view.setUint32(StackTraceHeader.stride, 8 + fields.valueSize, true);
    return new StackTraceMap(region, fields);
  },
  open: (region, fields) => new StackTraceMap(region, fields),
};
