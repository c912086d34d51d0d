// BPF_MAP_TYPE_BLOOM_FILTER (kernel/bpf/bloom_filter.c): values are pushed, never stored; a peek says
// "maybe present" (0) or "certainly absent" (-ENOENT). There are no false negatives. The filter uses the
// kernel's sizing and hashing: k = map_extra & 0xf hash functions (0 means 5), a bit array of
// roundup_pow_of_two(max_entries * k * 7 / 5) bits (at least 64; 2^32 if that overflows), and bit
// jhash(value, value_size, seed + i) & mask for function i. With BPF_F_ZERO_SEED both seeds are 0, so the
// same values set the same bits as in the kernel, false positives included.
//
// Type header:
//   0x80 u32 k            hash functions
//   0x84 u32 bit mask     bits - 1
//   0x88 u32 bitset bytes a multiple of 8
// Bits at 0x100: bit h is bit (h & 7) of byte 0x100 + (h >> 3) (the kernel's little-endian bitmap), set
// with an atomic OR on its 32-bit word; a push takes no lock.

import { BpfMap } from "./bpf-map.js";
import { Errno } from "./errno.js";
import { Header, type HeaderFields } from "./header.js";
import { jhash } from "./jhash.js";
import { accessFlagsOk, flagsOutside, KMALLOC_MAX_SIZE, type MapKind } from "./map-kind.js";
import type { MapSpec } from "./map-spec.js";
import { specExtra } from "./map-spec.js";
import { MapFlag, MapType, UpdateFlag } from "./map-types.js";

export const BloomHeader = { hashFunctions: 0x80, bitMask: 0x84, bitsetBytes: 0x88 } as const;

const U32_MAX = 0xffffffff;
const DEFAULT_HASH_FUNCTIONS = 5;

function bloomShape(maxEntries: number, extra: bigint): { hashFunctions: number; bitMask: number; bitsetBytes: number } {
  const hashFunctions = Number(extra & 0xfn) || DEFAULT_HASH_FUNCTIONS;
  let bits = maxEntries * hashFunctions;
  let bitMask: number;
  let bytes: number;
  if (bits > U32_MAX || Math.floor(bits / 5) * 7 > U32_MAX || Math.floor(bits / 5) * 7 > 2 ** 31) {
    bitMask = U32_MAX;
    bytes = 2 ** 29;
  } else {
    bits = Math.floor(bits / 5) * 7;
    bits = bits <= 64 ? 64 : 2 ** Math.ceil(Math.log2(bits));
    bitMask = bits - 1;
    bytes = bits / 8;
  }
  return { hashFunctions, bitMask, bitsetBytes: Math.ceil(bytes / 8) * 8 };
}

export class BloomFilterMap extends BpfMap {
  private readonly hashFunctions: number;
  private readonly bitMask: number;

  constructor(region: Uint8Array, header: HeaderFields) {
    super(region, header);
    this.hashFunctions = this.view.getUint32(BloomHeader.hashFunctions, true);
    this.bitMask = this.view.getUint32(BloomHeader.bitMask, true);
  }

  private bit(value: Uint8Array, valueOffset: number, index: number): number {
    return (jhash(value, valueOffset, this.valueSize, (this.seed + index) | 0) & this.bitMask) >>> 0;
  }

  override progPush(value: Uint8Array, valueOffset: number, flags: number, _cpu: number): number {
    if (flags !== UpdateFlag.ANY) return -Errno.EINVAL;
    const firstWord = Header.size >>> 2;
    for (let i = 0; i < this.hashFunctions; i++) {
      const h = this.bit(value, valueOffset, i);
      Atomics.or(this.words, firstWord + (h >>> 5), 1 << (h & 31));
    }
    return 0;
  }

  override progPeek(value: Uint8Array, valueOffset: number, _cpu: number): number {
    for (let i = 0; i < this.hashFunctions; i++) {
      const h = this.bit(value, valueOffset, i);
      if ((this.region[Header.size + (h >>> 3)]! & (1 << (h & 7))) === 0) return -Errno.ENOENT;
    }
    return 0;
  }

  override progPop(_out: Uint8Array, _outOffset: number, _cpu: number): number {
    return -Errno.EOPNOTSUPP;
  }

  override progDelete(_key: Uint8Array, _keyOffset: number, _cpu: number): number {
    return -Errno.EOPNOTSUPP;
  }

  /** The value buffer is the value to test (the kernel reads it in, and writes nothing back). */
  protected override sysLookup(_key: Uint8Array | null, value: Uint8Array): number {
    return this.progPeek(value, 0, 0);
  }

  protected override sysUpdate(_key: Uint8Array | null, value: Uint8Array, flags: number): number {
    return this.progPush(value, 0, flags, 0);
  }

  protected override sysDelete(): number {
    return -Errno.EOPNOTSUPP;
  }

  protected override sysGetNextKey(): number {
    return -Errno.EOPNOTSUPP;
  }
}

const BLOOM_FLAGS = MapFlag.NUMA_NODE | MapFlag.ZERO_SEED;

export const bloomFilterKind: MapKind = {
  types: [MapType.BLOOM_FILTER],
  check(spec: MapSpec) {
    if (spec.valueSize > KMALLOC_MAX_SIZE) return -Errno.E2BIG;
    const extra = specExtra(spec);
    if (spec.keySize !== 0 || spec.valueSize === 0 || spec.maxEntries === 0 || flagsOutside(spec.flags, BLOOM_FLAGS) || !accessFlagsOk(spec.flags) || extra & ~0xfn) {
      return -Errno.EINVAL;
    }
    return 0;
  },
  regionSize: (fields) => Header.size + bloomShape(fields.maxEntries, fields.extra).bitsetBytes,
  create(region, fields) {
    const shape = bloomShape(fields.maxEntries, fields.extra);
    const v = new DataView(region.buffer, region.byteOffset, region.byteLength);
    v.setUint32(BloomHeader.hashFunctions, shape.hashFunctions, true);
    v.setUint32(BloomHeader.bitMask, shape.bitMask, true);
    v.setUint32(BloomHeader.bitsetBytes, shape.bitsetBytes, true);
    return new BloomFilterMap(region, fields);
  },
  open: (region, fields) => new BloomFilterMap(region, fields),
};
