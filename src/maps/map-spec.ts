// What a map is, before it has memory: the fields of BPF_MAP_CREATE, as an object loader produces them
// from `.maps` / `maps` sections, plus the few choices the kernel makes at creation time that a userspace
// runtime must make explicitly (how many CPUs, the hash seed, perf ring sizes).

export interface MapSpec {
  /** A MapType id (the kernel's BPF_MAP_TYPE_*). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** MapFlag bits (BPF_F_*). */
  flags: number;
  /** map_extra: for bloom filters, the number of hash functions in the low 4 bits (0 means 5). */
  extra?: bigint | number;
  /** Up to 15 bytes are kept in the region header (longer names are truncated, as libbpf does). */
  name: string;
  /** For array_of_maps and hash_of_maps: the shape every inner map must have. */
  innerMap?: MapSpec;
}

export interface MapRuntimeOptions {
  /**
   * CPUs that per-CPU maps keep a value for, and LRU maps keep local lists for. Defaults to the number of
   * possible CPUs (/sys/devices/system/cpu/possible), as the kernel sizes its per-CPU areas.
   */
  ncpus?: number;
  /**
   * Hash seed of hash maps and bloom filters. Defaults to a random one, or 0 with MapFlag.ZERO_SEED as in
   * the kernel (where both use jhash, so a zero-seeded map hashes exactly as the kernel's does).
   */
  seed?: number;
  /** Data pages of each perf_event_array ring (a power of 2; default 8, libbpf's usual choice). */
  perfRingPages?: number;
}

/** map_extra as a bigint, whichever way the spec spelled it. */
export function specExtra(spec: MapSpec): bigint {
  return BigInt(spec.extra ?? 0);
}
