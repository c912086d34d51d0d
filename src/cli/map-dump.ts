// Printing a live map's entries: BTF-formatted as `bpftool map dump` prints them (text), or as JSON values
// with 64-bit integers as decimal strings. Maps without BTF types print keys and values as hex bytes.

import { formatMapDump, mapEntryToJson, type JsonValue, type MapDumpEntry, type MapDumpLayout } from "../btf/format.js";
import { formatHexBytes } from "../isa/instruction.js";
import type { BpfMap } from "../maps/bpf-map.js";
import type { ObjectSpec } from "../object/spec.js";
import { mapTypeName } from "../object/type-names.js";
import type { LiveMap } from "../runtime/object-maps.js";

/** Types whose elements the control plane can enumerate and read (the rest print a note instead). */
function dumpable(map: BpfMap): boolean {
  // prog_array (3), perf_event_array (4), queue (22), stack (23), ringbuf (27), bloom_filter (30): no lookup.
  return ![3, 4, 22, 23, 27, 30].includes(map.type);
}

/** Every entry of a map, in get_next_key order; per-CPU values split per CPU. */
export function* mapEntries(map: BpfMap): Generator<MapDumpEntry> {
  const key = new Uint8Array(map.keySize);
  const value = new Uint8Array(map.sysValueSize);
  let previous: Uint8Array | null = null;
  while (map.getNextKey(previous, key) === 0) {
    previous = key.slice();
    if (map.lookupElem(previous, value) !== 0) continue;
    if (map.percpu) {
      const values = Array.from({ length: map.ncpus }, (_, cpu) => value.slice(cpu * map.valueStride, cpu * map.valueStride + map.valueSize));
      yield { key: previous, values };
    } else {
      yield { key: previous, value: value.slice() };
    }
  }
}

function layoutOf(spec: ObjectSpec, live: LiveMap): MapDumpLayout | undefined {
  const { keyTypeId, valueTypeId } = live.definition;
  if (!spec.btf || valueTypeId === 0) return undefined;
  return { btf: spec.btf, keyTypeId, valueTypeId };
}

function header(live: LiveMap): string {
  const m = live.map;
  return `map '${live.definition.name}' (${mapTypeName(m.type)}, key ${m.keySize}B, value ${m.valueSize}B, max_entries ${m.maxEntries}):`;
}

export function dumpMapText(spec: ObjectSpec, live: LiveMap): string {
  if (!dumpable(live.map)) return `${header(live)}\n  (${mapTypeName(live.map.type)} maps have no elements to dump)\n`;
  const layout = layoutOf(spec, live);
  if (layout) return `${header(live)}\n${formatMapDump(layout, mapEntries(live.map))}`;
  const lines = [...mapEntries(live.map)].map((e) => {
    const values = "values" in e ? e.values : [e.value];
    return `key: ${formatHexBytes(e.key)}  value: ${values.map(formatHexBytes).join(" | ")}`;
  });
  return `${header(live)}\n${lines.join("\n")}${lines.length ? "\n" : ""}Found ${lines.length} element${lines.length === 1 ? "" : "s"}\n`;
}

export function dumpMapJson(spec: ObjectSpec, live: LiveMap): { [key: string]: JsonValue } {
  const base = { name: live.definition.name, type: mapTypeName(live.map.type) };
  if (!dumpable(live.map)) return { ...base, entries: [] };
  const layout = layoutOf(spec, live);
  const entries: JsonValue[] = [...mapEntries(live.map)].map((e) =>
    layout ? mapEntryToJson(layout, e) : { key: formatHexBytes(e.key), value: "values" in e ? e.values.map(formatHexBytes) : formatHexBytes(e.value) },
  );
  return { ...base, entries };
}
