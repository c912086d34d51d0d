// The maps module's public surface: the factory, the map classes, the kernel's constants, and the byte
// layouts (offset tables) that generated native code follows. Two names are changed here so the package
// index can re-export everything: createMap (bpf-syscall.ts has the kernel's) is createMapInRegion, and
// mapTypeName is left to object/type-names.ts.

export { MapType, MapFlag, MAP_ACCESS_MASK, UpdateFlag, RingbufFlag, RingbufQuery, PERF_INDEX_MASK, PERF_CURRENT_CPU } from "./map-types.js";
export { Errno as MapErrno, errnoName as mapErrnoName, MapError, mapErrorFrom } from "./errno.js";
export type { MapSpec, MapRuntimeOptions } from "./map-spec.js";
export { createMap as createMapInRegion, openMap, mapRegionSize, mapRegionAlignment, validateMapSpec, describeSpecError, SUPPORTED_MAP_TYPES } from "./create-map.js";
export { BpfMap, cpuSlot, type BatchRequest, type BatchResult } from "./bpf-map.js";
export { Header as MapHeader, MAP_MAGIC, LAYOUT_VERSION } from "./header.js";
export { ArrayMap, ArrayHeader } from "./array-map.js";
export { FdArrayMap } from "./fd-array-map.js";
export { HashMap, HashHeader, HashElement, NULLS_BIT } from "./hash-map.js";
export { LruNode, LruListType } from "./lru-list.js";
export { QueueStackMap, QueueHeader } from "./queue-stack-map.js";
export { BloomFilterMap, BloomHeader } from "./bloom-filter-map.js";
export { LpmTrieMap, LpmHeader, LpmNode } from "./lpm-trie-map.js";
export { RingbufMap, RingbufLayout, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ } from "./ringbuf-map.js";
export { PerfEventArrayMap, PerfHeader, PerfMmapPage, PerfRecordType, DEFAULT_PERF_RING_PAGES } from "./perf-event-array-map.js";
export { innerMapMatches, isMapInMap } from "./map-in-map.js";
export { jhash } from "./jhash.js";
export { possibleCpus, countCpuList } from "./possible-cpus.js";
