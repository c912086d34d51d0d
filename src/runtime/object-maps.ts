// Creating an object's maps: memory for each region, initial contents (global data, map-in-map slots),
// and the address each region is registered at so programs can reach it. Where the memory comes from is
// the engine's choice (a MapPlacement): the interpreter registers plain buffers in its address space, the
// JIT places regions in native memory that generated code reaches by their real addresses.

import type { BpfMap } from "../maps/bpf-map.js";
import { createMap, mapRegionAlignment, mapRegionSize } from "../maps/create-map.js";
import type { MapRuntimeOptions, MapSpec } from "../maps/map-spec.js";
import { possibleCpus } from "../maps/possible-cpus.js";
import { ObjectError } from "../object/errors.js";
import type { MapDefinition, ObjectSpec } from "../object/spec.js";
import { AddressSpace } from "../vm/address-space.js";
import { fillKconfig, type KconfigSource } from "./kconfig.js";

const BPF_MAP_TYPE_PROG_ARRAY = 3;
const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
const BPF_F_RDONLY_PROG = 0x80;

export interface LiveMap {
  readonly definition: MapDefinition;
  readonly map: BpfMap;
  /** Where the region is registered: the value programs hold as "the map". */
  readonly address: bigint;
  /** Address of element 0's value, for global-data maps (single-entry arrays); 0n for other maps. */
  readonly valueAddress: bigint;
  /** The id map-in-map values and prog arrays refer to. */
  readonly id: number;
}

/** The kernel's view of a definition: libbpf sizes perf_event_array to the number of possible CPUs. */
export function mapSpecOf(definition: MapDefinition, ncpus: number): MapSpec {
  const maxEntries = definition.type === BPF_MAP_TYPE_PERF_EVENT_ARRAY && definition.maxEntries === 0 ? ncpus : definition.maxEntries;
  return {
    type: definition.type,
    keySize: definition.keySize,
    valueSize: definition.valueSize,
    maxEntries,
    flags: definition.flags,
    extra: definition.extra,
    name: definition.kernelName,
    ...(definition.innerMap ? { innerMap: mapSpecOf(definition.innerMap, ncpus) } : {}),
  };
}

/** Where an engine keeps map regions. */
export interface MapPlacement {
  /**
   * A zero-filled region of at least `size` bytes, `alignment`-aligned in memory (as mapRegionAlignment
   * asks), and the address programs will use for it. `writable`: whether programs may write it.
   */
  place(size: number, alignment: number, definition: MapDefinition, writable: boolean): { region: Uint8Array; address: bigint };
}

/** The interpreter's placement: ordinary buffers registered in its address space. */
export function addressSpacePlacement(memory: AddressSpace): MapPlacement {
  return {
    place(size, _alignment, definition, writable) {
      const region = new Uint8Array(size);
      return { region, address: memory.add(`map '${definition.name}'`, region, writable) };
    },
  };
}

/** The spec with its .kconfig map's initial data holding the extern values of this system. */
export function withKconfig(spec: ObjectSpec, source: KconfigSource | undefined): ObjectSpec {
  const index = spec.maps.findIndex((m) => m.origin === "kconfig");
  const map = spec.maps[index];
  if (!map?.initialData) return spec;
  const data = map.initialData.slice();
  fillKconfig(spec, data, source);
  const maps = [...spec.maps];
  maps[index] = { ...map, initialData: data };
  return { ...spec, maps };
}

function keyU32(index: number): Uint8Array {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index, true);
  return key;
}

export function createObjectMaps(spec: ObjectSpec, memory: AddressSpace | MapPlacement, options: MapRuntimeOptions = {}): LiveMap[] {
  const placement = memory instanceof AddressSpace ? addressSpacePlacement(memory) : memory;
  const ncpus = options.ncpus ?? possibleCpus();
  const runtime: MapRuntimeOptions = { ...options, ncpus };
  const live: LiveMap[] = spec.maps.map((definition, index) => {
    const mapSpec = mapSpecOf(definition, ncpus);
    let map: BpfMap;
    let address: bigint;
    try {
      // Programs may not write read-only maps (.rodata); the control plane fills them before they run.
      const placed = placement.place(mapRegionSize(mapSpec, runtime), mapRegionAlignment(mapSpec), definition, (definition.flags & BPF_F_RDONLY_PROG) === 0);
      address = placed.address;
      map = createMap(mapSpec, placed.region, runtime);
    } catch (error) {
      throw new ObjectError(`map '${definition.name}': ${(error as Error).message}`, "OBJ_BAD_MAP");
    }
    let valueAddress = 0n;
    if (definition.initialData) {
      const result = map.updateElem(keyU32(0), definition.initialData);
      if (result !== 0) throw new ObjectError(`map '${definition.name}': cannot store its initial data (error ${result})`, "OBJ_BAD_MAP");
      const offset = map.progLookup(keyU32(0), 0, 0);
      valueAddress = address + BigInt(offset);
    }
    if (definition.type === BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
      // This runtime consumes every ring itself (as libbpf's perf_buffer opens one event per CPU), so a
      // program's bpf_perf_event_output finds a consumer installed in each slot.
      for (let slot = 0; slot < mapSpec.maxEntries; slot++) map.updateElem(keyU32(slot), keyU32(slot + 1));
    }
    return { definition, map, address, valueAddress, id: index + 1 };
  });
  for (const outer of live) {
    if (!outer.definition.innerMap) continue;
    for (const [slot, name] of outer.definition.initialSlots) {
      const inner = live.find((m) => m.definition.name === name);
      if (!inner) throw new ObjectError(`map '${outer.definition.name}': slot ${slot} names '${name}', which is not a map of the object`, "OBJ_BAD_MAP");
      const value = keyU32(inner.id);
      const result = outer.map.updateElem(keyU32(slot), value);
      if (result !== 0) throw new ObjectError(`map '${outer.definition.name}': cannot put map '${name}' in slot ${slot} (error ${result})`, "OBJ_BAD_MAP");
    }
  }
  return live;
}

/**
 * Initial prog_array slots from the object (`.values = { [1] = &prog }`): each named program's id, as
 * `idOf` gives it. Names that are maps (map-in-map slots) are createObjectMaps's business.
 */
export function fillProgArrays(maps: readonly LiveMap[], idOf: (program: string) => number | undefined): void {
  for (const live of maps) {
    if (live.definition.type !== BPF_MAP_TYPE_PROG_ARRAY) continue;
    for (const [slot, name] of live.definition.initialSlots) {
      const id = idOf(name);
      if (id === undefined) continue;
      const result = live.map.updateElem(keyU32(slot), keyU32(id));
      if (result !== 0) throw new ObjectError(`map '${live.definition.name}': cannot put program '${name}' in slot ${slot} (error ${result})`, "OBJ_BAD_MAP");
    }
  }
}
