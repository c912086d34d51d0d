// The header every map region starts with. A map lives in one contiguous byte region that may be mapped
// at different addresses in several processes, so nothing in it is a pointer: every reference inside a
// region is a byte offset from the region's first byte, or an element index.
//
// Common header, 256 bytes, all fields little-endian:
//
//   0x00 u32  magic            0x4d465042 ("BPFM"); written last, so an opener never sees a half-made map
//   0x04 u16  layout version   LAYOUT_VERSION
//   0x06 u16  header size      0x100
//   0x08 u32  map type         MapType id
//   0x0c u32  key size
//   0x10 u32  value size
//   0x14 u32  max entries      as in effect (per-CPU LRU hashes round it up to a multiple of ncpus)
//   0x18 u32  map flags
//   0x1c u32  ncpus            per-CPU values and LRU local lists per map
//   0x20 u64  map_extra
//   0x28 u64  region size      bytes the layout uses (the region may be larger)
//   0x30 u32  count            live elements (hash, LPM trie, queue/stack), updated atomically
//   0x34 u32  hash seed        jhash initval of hash maps and bloom filters
//   0x38 u32  key stride       key size rounded up to 8
//   0x3c u32  value stride     value size rounded up to 8: the distance between per-CPU copies
//   0x40 char name[16]         NUL-padded
//   0x50 u32  inner map type   map-in-map only: the template every inner map must match
//   0x54 u32  inner key size
//   0x58 u32  inner value size
//   0x5c u32  inner max entries
//   0x60 u32  inner map flags
//   0x64 u32  has inner map    1 when the fields above are set
//   0x68 ...  reserved (zero)
//   0x80 ...  type-specific header, 128 bytes, described in each type's module
//   0x100     type data (unless the type's module says otherwise)

import { roundUp } from "./bytes.js";
import { MapError, Errno } from "./errno.js";
import type { MapSpec } from "./map-spec.js";
import { specExtra } from "./map-spec.js";

export const MAP_MAGIC = 0x4d465042;
export const LAYOUT_VERSION = 1;

export const Header = {
  magic: 0x00,
  version: 0x04,
  headerSize: 0x06,
  type: 0x08,
  keySize: 0x0c,
  valueSize: 0x10,
  maxEntries: 0x14,
  flags: 0x18,
  ncpus: 0x1c,
  extra: 0x20,
  regionSize: 0x28,
  count: 0x30,
  seed: 0x34,
  keyStride: 0x38,
  valueStride: 0x3c,
  name: 0x40,
  innerType: 0x50,
  innerKeySize: 0x54,
  innerValueSize: 0x58,
  innerMaxEntries: 0x5c,
  innerFlags: 0x60,
  hasInner: 0x64,
  /** First byte of the type-specific header. */
  typeHeader: 0x80,
  /** Size of the whole header; type data starts here by default. */
  size: 0x100,
} as const;

export const NAME_BYTES = 16;

/** The spec-level fields of a map as recorded in (or about to be written to) its header. */
export interface HeaderFields {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  ncpus: number;
  extra: bigint;
  regionSize: number;
  seed: number;
  name: string;
  innerMap: MapSpec | undefined;
}

export function writeHeader(view: DataView, fields: HeaderFields): void {
  view.setUint16(Header.version, LAYOUT_VERSION, true);
  view.setUint16(Header.headerSize, Header.size, true);
  view.setUint32(Header.type, fields.type, true);
  view.setUint32(Header.keySize, fields.keySize, true);
  view.setUint32(Header.valueSize, fields.valueSize, true);
  view.setUint32(Header.maxEntries, fields.maxEntries, true);
  view.setUint32(Header.flags, fields.flags, true);
  view.setUint32(Header.ncpus, fields.ncpus, true);
  view.setBigUint64(Header.extra, fields.extra, true);
  view.setBigUint64(Header.regionSize, BigInt(fields.regionSize), true);
  view.setUint32(Header.count, 0, true);
  view.setUint32(Header.seed, fields.seed >>> 0, true);
  view.setUint32(Header.keyStride, roundUp(fields.keySize, 8), true);
  view.setUint32(Header.valueStride, roundUp(fields.valueSize, 8), true);
  const name = new TextEncoder().encode(fields.name).subarray(0, NAME_BYTES - 1);
  for (let i = 0; i < NAME_BYTES; i++) view.setUint8(Header.name + i, name[i] ?? 0);
  const inner = fields.innerMap;
  if (inner) {
    view.setUint32(Header.innerType, inner.type, true);
    view.setUint32(Header.innerKeySize, inner.keySize, true);
    view.setUint32(Header.innerValueSize, inner.valueSize, true);
    view.setUint32(Header.innerMaxEntries, inner.maxEntries, true);
    view.setUint32(Header.innerFlags, inner.flags, true);
    view.setUint32(Header.hasInner, 1, true);
  }
}

/** Publishes a fully initialised region: the magic is the last word written. */
export function publishHeader(words: Int32Array): void {
  Atomics.store(words, Header.magic / 4, MAP_MAGIC | 0);
}

/** Reads a header written by writeHeader, throwing MapError(EINVAL) if the region holds no map. */
export function readHeader(view: DataView): HeaderFields {
  if (view.byteLength < Header.size || view.getUint32(Header.magic, true) !== MAP_MAGIC) {
    throw new MapError(Errno.EINVAL, "region does not hold an initialised map");
  }
  const version = view.getUint16(Header.version, true);
  if (version !== LAYOUT_VERSION) throw new MapError(Errno.EINVAL, `map layout version ${version} is not ${LAYOUT_VERSION}`);
  const nameBytes = new Uint8Array(view.buffer, view.byteOffset + Header.name, NAME_BYTES);
  const end = nameBytes.indexOf(0);
  const name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? NAME_BYTES : end));
  const innerMap: MapSpec | undefined =
    view.getUint32(Header.hasInner, true) === 1
      ? {
          type: view.getUint32(Header.innerType, true),
          keySize: view.getUint32(Header.innerKeySize, true),
          valueSize: view.getUint32(Header.innerValueSize, true),
          maxEntries: view.getUint32(Header.innerMaxEntries, true),
          flags: view.getUint32(Header.innerFlags, true),
          name: "",
        }
      : undefined;
  return {
    type: view.getUint32(Header.type, true),
    keySize: view.getUint32(Header.keySize, true),
    valueSize: view.getUint32(Header.valueSize, true),
    maxEntries: view.getUint32(Header.maxEntries, true),
    flags: view.getUint32(Header.flags, true),
    ncpus: view.getUint32(Header.ncpus, true),
    extra: view.getBigUint64(Header.extra, true),
    regionSize: Number(view.getBigUint64(Header.regionSize, true)),
    seed: view.getUint32(Header.seed, true),
    name,
    innerMap,
  };
}

/** The header fields of a spec that is about to be created (before type-specific adjustments). */
export function headerFieldsOf(spec: MapSpec, ncpus: number, seed: number): HeaderFields {
  return {
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags,
    ncpus,
    extra: specExtra(spec),
    regionSize: 0,
    seed,
    name: spec.name,
    innerMap: spec.innerMap,
  };
}
