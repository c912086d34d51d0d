// What `bpftime load` and `bpftime run` print while a session runs: trace_printk lines, ring/perf buffer
// events decoded with BTF, and the maps (log2 histograms drawn as bars) — as text, or one JSON object
// per line with --json.

import type { Btf } from "../btf/btf.js";
import { btfBytesToJson, formatBtfValue, type JsonValue } from "../btf/format.js";
import { resolveType } from "../btf/resolve.js";
import { formatTraceLine, type TraceRecord } from "../helpers/trace.js";
import { formatHexBytes } from "../isa/instruction.js";
import type { ObjectSpec } from "../object/spec.js";
import { formatLog2Histogram, histogramSlots } from "../output/histogram.js";
import type { LiveMap } from "../runtime/object-maps.js";
import type { ProgramEvent, Session } from "../session/session.js";
import { UsageError } from "./errors.js";
import { dumpMapJson, dumpMapText, mapEntries } from "./map-dump.js";

export interface OutputOptions {
  readonly json: boolean;
  readonly write: (line: string) => void;
}

/**
 * The BTF struct an event most likely is: ring buffers carry no type, so take the object's struct of
 * exactly the record's size, preferring names that say "event". Undefined: print hex.
 */
function eventType(btf: Btf | undefined, size: number): number | undefined {
  if (!btf) return undefined;
  const candidates = btf.types.filter((t) => t.kind === "struct" && t.size === size && t.name !== "");
  const preferred = candidates.find((t) => /event|data|record/i.test(t.name)) ?? (candidates.length === 1 ? candidates[0] : undefined);
  return preferred?.id;
}

export function printTraces(records: readonly TraceRecord[], out: OutputOptions): void {
  for (const r of records) {
    out.write(out.json ? JSON.stringify({ type: "trace", pid: r.pid, tid: r.tid, comm: r.comm, cpu: r.cpu, text: r.text }) : formatTraceLine(r));
  }
}

export function printEvents(spec: ObjectSpec, events: readonly ProgramEvent[], out: OutputOptions): void {
  for (const event of events) {
    const typeId = eventType(spec.btf, event.bytes.length);
    if (out.json) {
      const value: JsonValue = typeId !== undefined && spec.btf ? btfBytesToJson(spec.btf, typeId, event.bytes) : formatHexBytes(event.bytes);
      out.write(JSON.stringify({ type: "event", map: event.map, value }));
    } else {
      const text = typeId !== undefined && spec.btf ? formatBtfValue(spec.btf, typeId, event.bytes, { pretty: false }) : formatHexBytes(event.bytes);
      out.write(`${event.map}: ${text}`);
    }
  }
}

/** Maps worth showing: the object's own (not .rodata/.kconfig, which never change, nor empty buffers). */
function shownMaps(session: Session): LiveMap[] {
  return session.maps.filter((m) => !(m.definition.flags & 0x80) && m.definition.origin !== "kconfig");
}

function histogramText(spec: ObjectSpec, live: LiveMap): string | undefined {
  const btf = spec.btf;
  const valueType = live.definition.valueTypeId;
  if (!btf || valueType === 0 || resolveType(btf, valueType).kind === "datasec") return undefined;
  const parts: string[] = [];
  for (const entry of mapEntries(live.map)) {
    if ("values" in entry) return undefined;
    const slots = histogramSlots(btf, valueType, entry.value);
    if (!slots) return undefined;
    const keyText = live.definition.keyTypeId && live.map.maxEntries > 1 ? `${live.definition.name} ${formatBtfValue(btf, live.definition.keyTypeId, entry.key, { pretty: false })}:\n` : `${live.definition.name}:\n`;
    parts.push(keyText + (formatLog2Histogram(slots, live.definition.name) || "  (empty)\n"));
  }
  return parts.length ? parts.join("\n") : undefined;
}

export function printMaps(session: Session, out: OutputOptions): void {
  for (const live of shownMaps(session)) {
    if (out.json) {
      const { type: mapType, ...dump } = dumpMapJson(session.spec, live);
      out.write(JSON.stringify({ type: "map", mapType, ...dump }));
      continue;
    }
    out.write((histogramText(session.spec, live) ?? dumpMapText(session.spec, live)).trimEnd());
  }
}

const POLL_MS = 100;

/**
 * Prints what the session's programs report every 100 ms, and the maps every `intervalSeconds` if given.
 * Returns the function that stops it after printing what is left (and, with `finalMaps`, the maps).
 */
export function startReporting(session: Session, out: OutputOptions, intervalSeconds: number | undefined): (finalMaps: boolean) => void {
  const drain = (): void => {
    printTraces(session.drainTraces(), out);
    printEvents(session.spec, session.drainEvents(), out);
  };
  const poll = setInterval(drain, POLL_MS);
  const dump = intervalSeconds === undefined ? undefined : setInterval(() => printMaps(session, out), intervalSeconds * 1000);
  return (finalMaps) => {
    clearInterval(poll);
    if (dump) clearInterval(dump);
    drain();
    if (finalMaps) printMaps(session, out);
  };
}

/** The options `load` and `run` share: --json, --interval S, --btf FILE. */
export const REPORTING_OPTIONS = {
  json: { type: "boolean", default: false },
  interval: { type: "string" },
  btf: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** --interval S as seconds (a positive number), or undefined. */
export function intervalOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new UsageError(`--interval must be a positive number of seconds, got '${value}'`);
  return seconds;
}
