// BPF_MAP_TYPE_RINGBUF with the kernel's byte layout (kernel/bpf/ringbuf.c), so a consumer written for
// the kernel's ring (libbpf's ring_buffer__consume) reads it unchanged.
//
// Region (max_entries = data size, a power of 2 and a multiple of the page size):
//   0x0000  page 0: common header (header.ts); type header at 0x80:
//             0x80 u32 data size, 0x84 u32 mask (size - 1), 0x88 i32 producer lock
//   0x1000  consumer page: u64 consumer_pos at +0 (written by the consumer only)
//   0x2000  producer page: u64 producer_pos at +0, u64 pending_pos at +8 (written under the producer lock)
//   0x3000  data, `size` bytes
//   0x3000 + size   a second `size` bytes. In the kernel (and in an arena mapped from a memfd) these pages
//           map the data pages again, so a record that wraps past the end is still contiguous. In a plain
//           buffer they are ordinary memory: a record that wraps is written contiguously through them, and
//           its commit copies the part past the end to the start of the data, so both copies read as the
//           double mapping would (a no-op where the pages really are mapped twice).
// Page offsets match the kernel's struct bpf_ringbuf (a header page, then the consumer and producer
// pages), so a record header's pg_off is the same number the kernel would write, and an arena that places
// the region page-aligned can mmap pages 1.. the way libbpf mmaps a ring buffer fd.
//
// Records: 8-byte header { u32 len; u32 pg_off } then len bytes, the whole rounded up to 8. len carries
// BUSY (bit 31) while reserved and DISCARD (bit 30) if discarded. Positions are free-running u64 byte
// counters; a record lives at data + (pos & mask).
//
// Positions are 64-bit and shared with other threads and processes, so they are read and written with
// 64-bit atomics (BigInt64Array); this is the one place in src/maps where the JS side allocates (a small
// bigint per position access). Native producers use plain 64-bit moves under the lock.

import { BpfMap } from "./bpf-map.js";
import { copyBytes, isPowerOfTwo } from "./bytes.js";
import { Errno } from "./errno.js";
import type { HeaderFields } from "./header.js";
import { PAGE_SIZE, type MapKind } from "./map-kind.js";
import { MapFlag, MapType, RingbufFlag, RingbufQuery } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const RingbufLayout = {
  dataSize: 0x80,
  mask: 0x84,
  lock: 0x88,
  consumerPos: 0x1000,
  producerPos: 0x2000,
  pendingPos: 0x2008,
  data: 0x3000,
} as const;

export const RINGBUF_BUSY_BIT = 0x80000000;
export const RINGBUF_DISCARD_BIT = 0x40000000;
export const RINGBUF_HDR_SZ = 8;
const RINGBUF_MAX_RECORD_SZ = Math.floor(0xffffffff / 4);

export class RingbufMap extends BpfMap {
  private readonly size: number;
  private readonly mask: number;
  private readonly positions: BigInt64Array;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.size = this.view.getUint32(RingbufLayout.dataSize, true);
    this.mask = this.view.getUint32(RingbufLayout.mask, true);
    this.positions = new BigInt64Array(region.buffer, region.byteOffset, RingbufLayout.data / 8);
  }

  override get batchCursorSize(): number {
    return 0;
  }

  private load(offset: number): number {
    return Number(Atomics.load(this.positions, offset / 8));
  }

  private store(offset: number, value: number): void {
    Atomics.store(this.positions, offset / 8, BigInt(value));
  }

  private headerAt(pos: number): number {
    return RingbufLayout.data + (pos & this.mask);
  }

  /**
   * bpf_ringbuf_reserve: the offset (in the region) of `size` writable bytes, or -errno (the helper then
   * returns NULL; it takes no flags). The record stays BUSY, holding back consumers, until it is
   * submitted or discarded.
   */
  reserve(size: number, flags = 0): number {
    if (flags !== 0) return -Errno.EINVAL;
    if (size > RINGBUF_MAX_RECORD_SZ) return -Errno.E2BIG;
    const length = (size + RINGBUF_HDR_SZ + 7) & ~7;
    if (length > this.size) return -Errno.E2BIG;
    const consumer = this.load(RingbufLayout.consumerPos);
    const lock = RingbufLayout.lock >>> 2;
    if (!tryLock(this.words, lock)) return -Errno.EBUSY;
    let pending = this.load(RingbufLayout.pendingPos);
    const producer = this.load(RingbufLayout.producerPos);
    // Skip past records committed since the last reserve: the oldest still BUSY bounds the free space.
    while (pending < producer) {
      const len = Atomics.load(this.words, this.headerAt(pending) >>> 2) >>> 0;
      if (len & RINGBUF_BUSY_BIT) break;
      pending += ((len & ~RINGBUF_DISCARD_BIT) + RINGBUF_HDR_SZ + 7) & ~7;
    }
    this.store(RingbufLayout.pendingPos, pending);
    const next = producer + length;
    if (next - consumer > this.mask || next - pending > this.mask) {
      unlock(this.words, lock);
      return -Errno.EAGAIN;
    }
    const header = this.headerAt(producer);
    this.view.setUint32(header + 4, header >>> 12, true);
    Atomics.store(this.words, header >>> 2, (size | RINGBUF_BUSY_BIT) | 0);
    this.store(RingbufLayout.producerPos, next);
    unlock(this.words, lock);
    return header + RINGBUF_HDR_SZ;
  }

  /**
   * bpf_ringbuf_submit / bpf_ringbuf_discard of a sample at region offset `sample`. Their flags only ask
   * for (or against) waking a sleeping consumer, which polls here, so there are none to take.
   */
  commit(sample: number, discard: boolean): void {
    const word = (sample - RINGBUF_HDR_SZ) >>> 2;
    const len = Atomics.load(this.words, word) >>> 0;
    // A record that ran past the end of the data was written into the second copy; put its tail where
    // the double mapping would have, so the data area holds exactly the kernel's bytes.
    const end = sample + (len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT));
    const dataEnd = RingbufLayout.data + this.size;
    if (end > dataEnd) this.region.copyWithin(RingbufLayout.data, dataEnd, end);
    let committed = (len ^ RINGBUF_BUSY_BIT) >>> 0;
    if (discard) committed = (committed | RINGBUF_DISCARD_BIT) >>> 0;
    Atomics.exchange(this.words, word, committed | 0);
  }

  /** bpf_ringbuf_output: copies `size` bytes in one record; 0, or -EINVAL / -EAGAIN as the kernel. */
  output(data: Uint8Array, dataOffset: number, size: number, flags: number): number {
    if (flags & ~(RingbufFlag.NO_WAKEUP | RingbufFlag.FORCE_WAKEUP)) return -Errno.EINVAL;
    const sample = this.reserve(size);
    if (sample < 0) return -Errno.EAGAIN;
    copyBytes(this.region, sample, data, dataOffset, size);
    this.commit(sample, false);
    return 0;
  }

  /** bpf_ringbuf_query; unknown selectors give 0. */
  query(flags: number): number {
    switch (flags) {
      case RingbufQuery.AVAIL_DATA:
        return this.load(RingbufLayout.producerPos) - this.load(RingbufLayout.consumerPos);
      case RingbufQuery.RING_SIZE:
        return this.size;
      case RingbufQuery.CONS_POS:
        return this.load(RingbufLayout.consumerPos);
      case RingbufQuery.PROD_POS:
        return this.load(RingbufLayout.producerPos);
      default:
        return 0;
    }
  }

  /**
   * The consumer: hands each committed record (not discarded ones) to `onRecord` in order, advancing
   * consumer_pos past it, and stops at the first record still BUSY or when the ring is empty. Returns the
   * number of records delivered. `onRecord` gets a view into the region, valid until it returns.
   */
  consume(onRecord: (sample: Uint8Array) => void, limit = Infinity): number {
    let consumer = this.load(RingbufLayout.consumerPos);
    let delivered = 0;
    for (;;) {
      const producer = this.load(RingbufLayout.producerPos);
      let progressed = false;
      while (consumer < producer && delivered < limit) {
        const header = this.headerAt(consumer);
        const len = Atomics.load(this.words, header >>> 2) >>> 0;
        if (len & RINGBUF_BUSY_BIT) return delivered;
        progressed = true;
        const length = (len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
        consumer += (length + RINGBUF_HDR_SZ + 7) & ~7;
        if (!(len & RINGBUF_DISCARD_BIT)) {
          onRecord(this.region.subarray(header + RINGBUF_HDR_SZ, header + RINGBUF_HDR_SZ + length));
          delivered++;
        }
        this.store(RingbufLayout.consumerPos, consumer);
      }
      if (!progressed || delivered >= limit) return delivered;
    }
  }
}

export const ringbufKind: MapKind = {
  types: [MapType.RINGBUF],
  check(spec) {
    if (spec.flags & ~MapFlag.NUMA_NODE) return -Errno.EINVAL;
    if (spec.keySize !== 0 || spec.valueSize !== 0 || !isPowerOfTwo(spec.maxEntries) || spec.maxEntries % PAGE_SIZE !== 0) return -Errno.EINVAL;
    return 0;
  },
  regionSize: (fields) => RingbufLayout.data + 2 * fields.maxEntries,
  create(region, fields) {
    const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
    v.setUint32(RingbufLayout.dataSize, fields.maxEntries, true);
    v.setUint32(RingbufLayout.mask, fields.maxEntries - 1, true);
    return new RingbufMap(region, fields);
  },
  open: (region, fields) => new RingbufMap(region, fields),
};
