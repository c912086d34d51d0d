// Map-in-map templates: array_of_maps and hash_of_maps are created with the shape of their inner maps
// (libbpf passes an inner map fd; here the spec carries it), and every map stored later must match it.

import { Errno } from "./errno.js";
import type { MapSpec } from "./map-spec.js";
import { MapFlag, MapType } from "./map-types.js";

export function isMapInMap(type: number): boolean {
  return type === MapType.ARRAY_OF_MAPS || type === MapType.HASH_OF_MAPS;
}

/** Creation check of the template: one must be given, and maps of maps of maps are refused. */
export function checkInnerMapTemplate(spec: MapSpec): number {
  const inner = spec.innerMap;
  if (!inner || isMapInMap(inner.type)) return -Errno.EINVAL;
  return 0;
}

/**
 * Whether `candidate` may be stored in a map created with `template` (bpf_map_meta_equal, plus the array
 * rule that max_entries must match unless the template has BPF_F_INNER_MAP).
 */
export function innerMapMatches(template: MapSpec, candidate: MapSpec): boolean {
  if (template.type !== candidate.type || template.keySize !== candidate.keySize) return false;
  if (template.valueSize !== candidate.valueSize || template.flags !== candidate.flags) return false;
  const arrayLike = template.type === MapType.ARRAY || template.type === MapType.PERCPU_ARRAY;
  return !arrayLike || (template.flags & MapFlag.INNER_MAP) !== 0 || template.maxEntries === candidate.maxEntries;
}
