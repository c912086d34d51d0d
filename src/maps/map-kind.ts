// How the factory knows a map type: its creation-time checks, its region size, and how to lay out a new
// region or attach to an initialised one. Each type's module exports one MapKind.

import type { BpfMap } from "./bpf-map.js";
import type { HeaderFields } from "./header.js";
import type { MapRuntimeOptions, MapSpec } from "./map-spec.js";
import { MAP_ACCESS_MASK, MapFlag } from "./map-types.js";

export interface MapKind {
  readonly types: readonly number[];
  /**
   * The kernel's creation checks for this type (map_alloc_check and the checks in map_alloc): 0, or
   * -errno exactly as BPF_MAP_CREATE fails.
   */
  check(spec: MapSpec, ncpus: number): number;
  /** Fields the kernel changes at creation (e.g. max_entries rounded for per-CPU LRU lists). */
  adjust?(fields: HeaderFields): void;
  /** Bytes the region needs; the same computation `create` lays the region out with. */
  regionSize(fields: HeaderFields, options: MapRuntimeOptions): number;
  /** Writes the type header and initial data into a zeroed region whose common header is written. */
  create(region: Uint8Array, fields: HeaderFields, options: MapRuntimeOptions): BpfMap;
  /** Attaches to a region some process initialised. */
  open(region: Uint8Array, fields: HeaderFields): BpfMap;
}

/** kmalloc's largest object on x86-64 (4 MiB): the kernel bounds several sizes by it. */
export const KMALLOC_MAX_SIZE = 4 << 20;
/** Largest per-CPU value (PCPU_MIN_UNIT_SIZE). */
export const PERCPU_VALUE_MAX = 32 << 10;
export const PAGE_SIZE = 4096;

/** bpf_map_flags_access_ok: a program cannot be both read-only and write-only. */
export function accessFlagsOk(flags: number): boolean {
  const both = MapFlag.RDONLY_PROG | MapFlag.WRONLY_PROG;
  return (flags & both) !== both;
}

/** Flags that leave only what `mask` allows, plus the access bits every type takes. */
export function flagsOutside(flags: number, mask: number): boolean {
  return (flags & ~(mask | MAP_ACCESS_MASK)) !== 0;
}
