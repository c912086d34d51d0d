// BPF_MAP_TYPE_PERF_EVENT_ARRAY: one perf ring per slot (usually per CPU), in the kernel's perf mmap
// format, so a consumer written for perf buffers (libbpf's perf_buffer) reads the rings unchanged. In the
// kernel each slot holds a perf event fd whose ring lives elsewhere; here the rings live in the map region.
//
// Type header:
//   0x80 u32 data pages per ring (a power of 2)
//   0x84 u32 ring stride: (1 + data pages) * 4096
//   0x88 u32 rings offset R (page-aligned)
// Slot table at 0x100, max_entries x 16 bytes:
//   +0 u32 installed   0: no consumer (bpf_perf_event_output returns -ENOENT); else the id the control
//                      plane stored (where the kernel stores a perf event fd)
//   +4 i32 lock        producers of this ring
//   +8 u64 lost        records dropped since the last PERF_RECORD_LOST was written
// Ring i at R + i * stride:
//   +0     struct perf_event_mmap_page (4096 bytes): data_head u64 at 1024, data_tail u64 at 1032,
//          data_offset u64 at 1040 (= 4096), data_size u64 at 1048, size u32 at 72, capabilities at 40
//   +4096  data, data pages * 4096 bytes; records wrap byte-wise at the end
//
// Records (8-byte aligned): struct perf_event_header { u32 type; u16 misc; u16 size } then
//   PERF_RECORD_SAMPLE (9), sample_type PERF_SAMPLE_RAW: u32 raw_size, raw_size bytes (the data padded
//                          with zeros so that 4 + raw_size is a multiple of 8)
//   PERF_RECORD_LOST (2): u64 id, u64 lost     -- written before the next sample that fits after a drop
// A sample that does not fit is dropped and counted, and the helper returns -ENOSPC, as in the kernel.

import { BpfMap, cpuSlot } from "./bpf-map.js";
import { copyBytes, isPowerOfTwo, readU32, roundUp, writeU32 } from "./bytes.js";
import { Errno, MapError } from "./errno.js";
import { checkFdArraySpec, fdSlotUpdateError } from "./fd-array-map.js";
import { Header, type HeaderFields } from "./header.js";
import { PAGE_SIZE, type MapKind } from "./map-kind.js";
import type { MapRuntimeOptions } from "./map-spec.js";
import { MapType, PERF_CURRENT_CPU, PERF_INDEX_MASK } from "./map-types.js";
import { tryLock, unlock } from "./spinlock.js";

export const PerfHeader = { ringPages: 0x80, ringStride: 0x84, ringsOffset: 0x88 } as const;
const SLOT = { installed: 0, lock: 4, lost: 8, size: 16 } as const;
/** Offsets in struct perf_event_mmap_page. */
export const PerfMmapPage = { capabilities: 40, size: 72, dataHead: 1024, dataTail: 1032, dataOffset: 1040, dataSize: 1048 } as const;
export const PerfRecordType = { LOST: 2, SAMPLE: 9 } as const;
const PERF_RECORD_MISC_USER = 2;
const PERF_HEADER_SIZE = 8;
const LOST_RECORD_SIZE = 24;
const MAX_RECORD_SIZE = 0xffff;
/** offsetof(struct perf_event_mmap_page, __reserved), which the kernel reports as the page's `size`. */
const MMAP_PAGE_SIZE_FIELD = 96;
/** cap_bit0_is_deprecated, as the kernel sets it. */
const MMAP_PAGE_CAPABILITIES = 2;
export const DEFAULT_PERF_RING_PAGES = 8;

function perfLayout(fields: HeaderFields, ringPages: number): { stride: number; ringsOffset: number; size: number } {
  const stride = (1 + ringPages) * PAGE_SIZE;
  const ringsOffset = roundUp(Header.size + fields.maxEntries * SLOT.size, PAGE_SIZE);
  return { stride, ringsOffset, size: ringsOffset + fields.maxEntries * stride };
}

function ringPagesOf(options: MapRuntimeOptions): number {
  const pages = options.perfRingPages ?? DEFAULT_PERF_RING_PAGES;
  if (!isPowerOfTwo(pages)) throw new MapError(Errno.EINVAL, `perf ring pages must be a power of 2, not ${pages}`);
  return pages;
}

export class PerfEventArrayMap extends BpfMap {
  private readonly ringsOffset: number;
  private readonly ringStride: number;
  private readonly dataSize: number;
  private readonly positions: BigInt64Array;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.ringsOffset = this.view.getUint32(PerfHeader.ringsOffset, true);
    this.ringStride = this.view.getUint32(PerfHeader.ringStride, true);
    this.dataSize = (this.view.getUint32(PerfHeader.ringPages, true) * PAGE_SIZE) >>> 0;
    this.positions = new BigInt64Array(region.buffer, region.byteOffset, Math.floor(region.byteLength / 8));
  }

  initialize(): void {
    for (let i = 0; i < this.maxEntries; i++) {
      const page = this.ringOffset(i);
      this.view.setBigUint64(page + PerfMmapPage.capabilities, BigInt(MMAP_PAGE_CAPABILITIES), true);
      this.view.setUint32(page + PerfMmapPage.size, MMAP_PAGE_SIZE_FIELD, true);
      this.view.setBigUint64(page + PerfMmapPage.dataOffset, BigInt(PAGE_SIZE), true);
      this.view.setBigUint64(page + PerfMmapPage.dataSize, BigInt(this.dataSize), true);
    }
  }

  /** Offset of ring i's perf_event_mmap_page. */
  ringOffset(index: number): number {
    return this.ringsOffset + index * this.ringStride;
  }

  private slotOffset(index: number): number {
    return Header.size + index * SLOT.size;
  }

  private load(offset: number): number {
    return Number(Atomics.load(this.positions, offset / 8));
  }

  private store(offset: number, value: number): void {
    Atomics.store(this.positions, offset / 8, BigInt(value));
  }

  /** Records dropped on ring `index` and not yet reported by a PERF_RECORD_LOST. */
  lost(index: number): number {
    return this.load(this.slotOffset(index) + SLOT.lost);
  }

  /**
   * bpf_perf_event_output: `flags` low 32 bits pick the ring (PERF_CURRENT_CPU: the caller's `cpu`);
   * writes one PERF_RECORD_SAMPLE holding `size` bytes of `data`. 0 or -errno.
   */
  output(flags: number, cpu: number, data: Uint8Array, dataOffset: number, size: number): number {
    if (flags > PERF_INDEX_MASK || flags < 0) return -Errno.EINVAL;
    const index = flags === PERF_CURRENT_CPU ? cpuSlot(cpu, this.ncpus) : flags;
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const slot = this.slotOffset(index);
    if (this.view.getUint32(slot + SLOT.installed, true) === 0) return -Errno.ENOENT;
    const rawSize = roundUp(size + 4, 8) - 4;
    const recordSize = PERF_HEADER_SIZE + 4 + rawSize;
    if (recordSize > MAX_RECORD_SIZE) return -Errno.E2BIG;
    const lock = (slot + SLOT.lock) >>> 2;
    if (!tryLock(this.words, lock)) return -Errno.EBUSY;
    const page = this.ringOffset(index);
    const head = this.load(page + PerfMmapPage.dataHead);
    const tail = this.load(page + PerfMmapPage.dataTail);
    const lost = this.load(slot + SLOT.lost);
    const needed = recordSize + (lost > 0 ? LOST_RECORD_SIZE : 0);
    // CIRC_SPACE: one byte always stays free, so a full ring is never mistaken for an empty one.
    if (this.dataSize - 1 - (head - tail) < needed) {
      this.store(slot + SLOT.lost, lost + 1);
      unlock(this.words, lock);
      return -Errno.ENOSPC;
    }
    const ringData = page + PAGE_SIZE;
    let at = head;
    if (lost > 0) {
      this.putHeader(ringData, at, PerfRecordType.LOST, 0, LOST_RECORD_SIZE);
      this.putU64(ringData, at + 8, this.view.getUint32(slot + SLOT.installed, true));
      this.putU64(ringData, at + 16, lost);
      at += LOST_RECORD_SIZE;
      this.store(slot + SLOT.lost, 0);
    }
    this.putHeader(ringData, at, PerfRecordType.SAMPLE, PERF_RECORD_MISC_USER, recordSize);
    this.putU32(ringData, at + 8, rawSize);
    this.putBytes(ringData, at + 12, data, dataOffset, size);
    this.putZeros(ringData, at + 12 + size, rawSize - size);
    this.store(page + PerfMmapPage.dataHead, at + recordSize);
    unlock(this.words, lock);
    return 0;
  }

  // Records are 8-byte aligned in a ring whose size is a multiple of 8, so headers and u32/u64 fields at
  // 8-byte-aligned record offsets never straddle the end; only the raw bytes can wrap.
  private ringByte(ringData: number, pos: number): number {
    return ringData + (pos % this.dataSize);
  }

  private putHeader(ringData: number, pos: number, type: number, misc: number, size: number): void {
    const at = this.ringByte(ringData, pos);
    this.view.setUint32(at, type, true);
    this.view.setUint16(at + 4, misc, true);
    this.view.setUint16(at + 6, size, true);
  }

  private putU32(ringData: number, pos: number, value: number): void {
    this.view.setUint32(this.ringByte(ringData, pos), value, true);
  }

  private putU64(ringData: number, pos: number, value: number): void {
    this.view.setBigUint64(this.ringByte(ringData, pos), BigInt(value), true);
  }

  private putBytes(ringData: number, pos: number, data: Uint8Array, offset: number, length: number): void {
    const start = pos % this.dataSize;
    const first = Math.min(length, this.dataSize - start);
    copyBytes(this.region, ringData + start, data, offset, first);
    if (first < length) copyBytes(this.region, ringData, data, offset + first, length - first);
  }

  private putZeros(ringData: number, pos: number, length: number): void {
    for (let i = 0; i < length; i++) this.region[this.ringByte(ringData, pos + i)] = 0;
  }

  /**
   * Reads ring `index` as a perf buffer consumer does: every record from data_tail to data_head, in order,
   * then advances data_tail. Samples get their raw bytes (the padded raw size, as libbpf passes them);
   * lost records their count. Returns the number of records read.
   */
  consume(index: number, onSample: (raw: Uint8Array) => void, onLost?: (count: number) => void): number {
    const page = this.ringOffset(index);
    const ringData = page + PAGE_SIZE;
    const head = this.load(page + PerfMmapPage.dataHead);
    let tail = this.load(page + PerfMmapPage.dataTail);
    let records = 0;
    while (tail < head) {
      const at = this.ringByte(ringData, tail);
      const type = this.view.getUint32(at, true);
      const size = this.view.getUint16(at + 6, true);
      if (type === PerfRecordType.SAMPLE) {
        const rawSize = this.view.getUint32(this.ringByte(ringData, tail + 8), true);
        onSample(this.copyOut(ringData, tail + 12, rawSize));
      } else if (type === PerfRecordType.LOST) {
        onLost?.(Number(this.view.getBigUint64(this.ringByte(ringData, tail + 16), true)));
      }
      tail += size;
      records++;
    }
    this.store(page + PerfMmapPage.dataTail, tail);
    return records;
  }

  private copyOut(ringData: number, pos: number, length: number): Uint8Array {
    const start = pos % this.dataSize;
    if (start + length <= this.dataSize) return this.region.subarray(ringData + start, ringData + start + length);
    const out = new Uint8Array(length);
    const first = this.dataSize - start;
    out.set(this.region.subarray(ringData + start, ringData + this.dataSize));
    out.set(this.region.subarray(ringData, ringData + length - first), first);
    return out;
  }

  // ---- control plane: slots hold the id of whoever consumes the ring (the kernel: a perf event fd) ------

  protected override sysLookup(): number {
    return -Errno.ENOTSUPP;
  }

  protected override sysUpdate(key: Uint8Array, value: Uint8Array, flags: number): number {
    const index = readU32(key, 0);
    const id = readU32(value, 0);
    const error = fdSlotUpdateError(index, id, flags, this.maxEntries);
    if (error) return error;
    const slot = this.slotOffset(index);
    const lock = (slot + SLOT.lock) >>> 2;
    if (!tryLock(this.words, lock)) return -Errno.EBUSY;
    // A new consumer starts with an empty ring, as a freshly opened perf event does.
    const page = this.ringOffset(index);
    this.store(page + PerfMmapPage.dataHead, 0);
    this.store(page + PerfMmapPage.dataTail, 0);
    this.store(slot + SLOT.lost, 0);
    this.view.setUint32(slot + SLOT.installed, id, true);
    unlock(this.words, lock);
    return 0;
  }

  protected override sysDelete(key: Uint8Array): number {
    const index = readU32(key, 0);
    if (index >= this.maxEntries) return -Errno.E2BIG;
    const word = (this.slotOffset(index) + SLOT.installed) >>> 2;
    return Atomics.exchange(this.words, word, 0) === 0 ? -Errno.ENOENT : 0;
  }

  protected override sysGetNextKey(key: Uint8Array | null, nextKey: Uint8Array): number {
    const index = key === null ? 0xffffffff : readU32(key, 0);
    const next = index >= this.maxEntries ? 0 : index + 1;
    if (next === this.maxEntries) return -Errno.ENOENT;
    writeU32(nextKey, 0, next);
    return 0;
  }
}

export const perfEventArrayKind: MapKind = {
  types: [MapType.PERF_EVENT_ARRAY],
  check: checkFdArraySpec,
  regionSize: (fields, options) => perfLayout(fields, ringPagesOf(options)).size,
  create(region, fields, options) {
    const pages = ringPagesOf(options);
    const layout = perfLayout(fields, pages);
    const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
    v.setUint32(PerfHeader.ringPages, pages, true);
    v.setUint32(PerfHeader.ringStride, layout.stride, true);
    v.setUint32(PerfHeader.ringsOffset, layout.ringsOffset, true);
    const map = new PerfEventArrayMap(region, fields);
    map.initialize();
    return map;
  },
  open: (region, fields) => new PerfEventArrayMap(region, fields),
};
