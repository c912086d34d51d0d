// A session: the `bpftime load` side. It owns the arena — the object's maps and the trace ring, at one
// address shared by every process — writes the descriptor other `bpftime` commands find it by, reads what
// programs report (trace_printk, ring buffers, perf buffers) and detaches every target when it ends.

import { resolve } from "node:path";
import { Arena } from "../arena/arena.js";
import { decodeTraceRecord } from "../jit/native/trace-ring.js";
import type { TraceRecord } from "../helpers/trace.js";
import { mapRegionAlignment, mapRegionSize } from "../maps/create-map.js";
import { createMap } from "../maps/create-map.js";
import { MapType } from "../maps/map-types.js";
import { PerfEventArrayMap } from "../maps/perf-event-array-map.js";
import { possibleCpus } from "../maps/possible-cpus.js";
import type { RingbufMap } from "../maps/ringbuf-map.js";
import { RingbufMap as RingbufMapClass } from "../maps/ringbuf-map.js";
import { readObjectFile } from "../object/object-file.js";
import type { ObjectSpec } from "../object/spec.js";
import { withVariables, type VariableValue } from "../object/variables.js";
import { relocatePrograms } from "../runtime/core-relocation.js";
import { createObjectMaps, mapSpecOf, withKconfig, type LiveMap, type MapPlacement } from "../runtime/object-maps.js";
import { descriptorPath, removeSessionFiles, writeDescriptor, type SessionDescriptor } from "./descriptor.js";
import type { HookRequest, SessionInTarget } from "./attach-target.js";

const TRACE_RING_SIZE = 1 << 20;

export interface SessionOptions {
  /** Resolve CO-RE against this BTF instead of the running kernel's. */
  readonly btf?: string;
  /** Global variables to set before load. */
  readonly variables?: ReadonlyMap<string, VariableValue>;
}

/** A record a program sent through a ring buffer or perf buffer. */
export interface ProgramEvent {
  readonly map: string;
  readonly bytes: Uint8Array;
}

export class SessionError extends Error {
  override name = "SessionError";
  readonly code = "SESSION";
}

/** The programs a session hooks into processes: uprobes and uretprobes with a target in their section. */
export function hookRequests(spec: ObjectSpec): HookRequest[] {
  const out: HookRequest[] = [];
  for (const program of spec.programs) {
    const attach = program.info.attach;
    if (attach?.kind !== "uprobe" || !program.info.autoload) continue;
    out.push({ program: program.name, retprobe: attach.retprobe, binary: attach.binary, func: attach.func, offset: attach.offset });
  }
  return out;
}

export class Session {
  readonly descriptor: SessionDescriptor;
  private readonly traceRing: RingbufMap;

  private constructor(
    readonly objectPath: string,
    readonly spec: ObjectSpec,
    readonly arena: Arena,
    readonly maps: readonly LiveMap[],
    traceRing: RingbufMap,
    private readonly inTarget: SessionInTarget,
    btf: string | undefined,
  ) {
    this.traceRing = traceRing;
    this.descriptor = {
      version: 1,
      id: inTarget.sessionId,
      ownerPid: process.pid,
      object: objectPath,
      arenaPath: arena.path,
      base: "0x" + arena.base.toString(16),
      size: arena.size,
      dataSize: arena.dataSize,
      programs: spec.programs.map((p) => ({ name: p.name, kind: p.info.kind, attach: p.info.attach })),
      maps: inTarget.image.maps.map((m) => ({ name: m.name, type: m.type, maxEntries: m.maxEntries, address: hex(m.address), valueAddress: hex(m.valueAddress) })),
      traceRing: hex(inTarget.image.traceRing),
      ...(btf === undefined ? {} : { btf }),
    };
  }

  /** Reads the object, creates the arena with its maps and trace ring, and publishes the descriptor. */
  static create(objectPath: string, options: SessionOptions = {}): Session {
    const object = readObjectFile(objectPath);
    const spec = withKconfig(options.variables ? withVariables(object.spec, options.variables) : object.spec, undefined);
    const requests = hookRequests(spec);
    // CO-RE failures and unknown helpers should stop `load`, not each later attach: relocate now.
    const relocated = relocatePrograms(spec, options.btf);
    const ncpus = possibleCpus();
    const traceSpec = { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: TRACE_RING_SIZE, flags: 0, name: "trace_ring" };
    let data = mapRegionSize(traceSpec) + 4096;
    for (const definition of spec.maps) {
      const mapSpec = mapSpecOf(definition, ncpus);
      data += mapRegionSize(mapSpec, { ncpus }) + mapRegionAlignment(mapSpec);
    }
    const id = `${Date.now()}-${process.pid}`;
    const arena = Arena.create(id, { data, code: 4096 });
    try {
      const placement: MapPlacement = {
        place(size, alignment) {
          const allocation = arena.allocateData(size, Math.max(alignment, 8));
          return { region: allocation.bytes, address: allocation.address };
        },
      };
      const maps = createObjectMaps(spec, placement, { ncpus });
      const ring = arena.allocateData(mapRegionSize(traceSpec), 4096);
      const traceRing = createMap(traceSpec, ring.bytes) as RingbufMapClass;
      const inTarget: SessionInTarget = {
        sessionId: id,
        arenaPath: arena.path,
        base: arena.base,
        size: arena.size,
        image: {
          spec,
          relocated,
          maps: maps.map((m) => ({ name: m.definition.name, type: m.definition.type, maxEntries: m.map.maxEntries, address: m.address, valueAddress: m.valueAddress })),
          traceRing: ring.address,
        },
        hooks: requests,
      };
      const session = new Session(resolve(objectPath), spec, arena, maps, traceRing, inTarget, options.btf);
      arena.setDescriptorPath(descriptorPath(id));
      writeDescriptor(session.descriptor);
      return session;
    } catch (error) {
      arena.close(true);
      throw error;
    }
  }

  /** What attachTarget needs to put this session into a process. */
  get target(): SessionInTarget {
    return this.inTarget;
  }

  /** trace_printk records written since the last call. */
  drainTraces(): TraceRecord[] {
    const out: TraceRecord[] = [];
    this.traceRing.consume((payload) => {
      const record = decodeTraceRecord(payload);
      if (record) out.push(record);
    });
    return out;
  }

  /** Ring buffer and perf buffer records written since the last call, in each map's order. */
  drainEvents(): ProgramEvent[] {
    const out: ProgramEvent[] = [];
    for (const live of this.maps) {
      const name = live.definition.name;
      if (live.map instanceof RingbufMapClass) live.map.consume((sample) => out.push({ map: name, bytes: sample.slice() }));
      else if (live.map instanceof PerfEventArrayMap) {
        for (let ring = 0; ring < live.map.maxEntries; ring++) live.map.consume(ring, (raw) => out.push({ map: name, bytes: raw.slice() }));
      }
    }
    return out;
  }

  /** Removes the descriptor and the arena file; processes keep their mappings until they exit. */
  close(): void {
    removeSessionFiles(this.descriptor.id);
    this.arena.close(true);
  }
}

export function sessionNotFound(): SessionError {
  return new SessionError("no bpftime session is running: start one with `bpftime load OBJ` (or use `bpftime run OBJ -- CMD`)");
}

const hex = (n: bigint): string => "0x" + n.toString(16);

/**
 * What `start` and `attach` need to put a running session into a process, rebuilt from its descriptor: the
 * object is read and relocated again (deterministically: same file, same BTF), the maps are where the
 * descriptor says.
 */
export function sessionInTarget(descriptor: SessionDescriptor): SessionInTarget {
  const spec = withKconfig(readObjectFile(descriptor.object).spec, undefined);
  return {
    sessionId: descriptor.id,
    arenaPath: descriptor.arenaPath,
    base: BigInt(descriptor.base),
    size: descriptor.size,
    image: {
      spec,
      relocated: relocatePrograms(spec, descriptor.btf),
      maps: descriptor.maps.map((m) => ({ name: m.name, type: m.type, maxEntries: m.maxEntries, address: BigInt(m.address), valueAddress: BigInt(m.valueAddress) })),
      traceRing: BigInt(descriptor.traceRing),
    },
    hooks: hookRequests(spec),
  };
}
