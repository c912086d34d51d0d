// Map type ids and flag bits, numbered as the kernel numbers them (include/uapi/linux/bpf.h), so a map
// spec read from an object file, a bpf() attr and a map region header all use the same numbers.

export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;
export type MapType = (typeof MapType)[keyof typeof MapType];

const typeNames = new Map<number, string>(Object.entries(MapType).map(([name, id]) => [id, name.toLowerCase()]));

/** The kernel's name for a map type id ("hash", "lru_percpu_hash"), or "type N" when unknown. */
export function mapTypeName(type: number): string {
  return typeNames.get(type) ?? `type ${type}`;
}

/** BPF_MAP_CREATE map_flags. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
} as const;

/** Access bits every map type accepts (BPF_F_ACCESS_MASK). */
export const MAP_ACCESS_MASK = MapFlag.RDONLY | MapFlag.RDONLY_PROG | MapFlag.WRONLY | MapFlag.WRONLY_PROG;

/** Element update flags (bpf_map_update_elem, BPF_MAP_UPDATE_ELEM, map_push_elem). */
export const UpdateFlag = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  LOCK: 4,
} as const;

/** bpf_ringbuf_output/submit/discard flags and bpf_ringbuf_query selectors. */
export const RingbufFlag = {
  NO_WAKEUP: 1,
  FORCE_WAKEUP: 2,
} as const;
export const RingbufQuery = {
  AVAIL_DATA: 0,
  RING_SIZE: 1,
  CONS_POS: 2,
  PROD_POS: 3,
} as const;

/** bpf_perf_event_output flags: the low 32 bits pick the ring, all ones meaning "this CPU's". */
export const PERF_INDEX_MASK = 0xffffffff;
export const PERF_CURRENT_CPU = PERF_INDEX_MASK;
