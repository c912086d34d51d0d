// The trace ring: where native bpf_trace_printk leaves its records for the control plane to format. It is
// an ordinary BPF_MAP_TYPE_RINGBUF region (the kernel's ring layout, src/maps/ringbuf-map.ts), so any
// number of threads and processes produce into it with the native ring buffer routines and one consumer
// (RingbufMap.consume) reads it, and it can live in a session arena like any map.
//
// Each ring record's payload:
//   +0   u64 CLOCK_MONOTONIC time of the call, ns
//   +8   u32 tgid          +12 u32 tid          +16 u32 cpu
//   +20  u16 format length (bytes, without the NUL)
//   +22  u16 string length of arguments 1..3 (0xffff: the argument is not a %s string)
//   +28  u32 reserved
//   +32  u64 raw arguments 1..3
//   +56  char comm[16]     the calling thread's name
//   +72  the format's bytes, then each %s argument's bytes in argument order (read when the program
//        ran, at most TRACE_STRING_MAX bytes each, since the memory may be gone by the time it is read)
// The text is produced here, with the interpreter's formatter (src/helpers/printf.ts), so the CLI prints
// the same trace_pipe lines for both engines.

import { formatBpfPrintf, PrintfFormatError } from "../../helpers/printf.js";
import type { TraceRecord } from "../../helpers/trace.js";
import { createMap, mapRegionSize } from "../../maps/create-map.js";
import { MapType } from "../../maps/map-types.js";
import type { RingbufMap } from "../../maps/ringbuf-map.js";
import { SharedMemory } from "./shared-memory.js";

export const TraceRecordLayout = {
  timestamp: 0,
  tgid: 8,
  tid: 12,
  cpu: 16,
  formatLength: 20,
  stringLengths: 22,
  args: 32,
  comm: 56,
  bytes: 72,
} as const;

export const NOT_A_STRING = 0xffff;
/** Longest %s argument a record keeps. */
export const TRACE_STRING_MAX = 255;
const MAX_TRACE_PRINTK_ARGS = 3;
const DEFAULT_RING_SIZE = 1 << 20;

export class TraceRing {
  private constructor(
    private readonly memory: SharedMemory,
    readonly map: RingbufMap,
  ) {}

  /** A new empty ring of `size` data bytes (a power of 2, a multiple of the page size). */
  static create(size = DEFAULT_RING_SIZE): TraceRing {
    const spec = { type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0, name: "trace_ring" };
    const memory = SharedMemory.shared(mapRegionSize(spec));
    try {
      return new TraceRing(memory, createMap(spec, memory.bytes(0, mapRegionSize(spec))) as RingbufMap);
    } catch (error) {
      memory.free();
      throw error;
    }
  }

  /** The region's address: what the native bpf_trace_printk is built with. */
  get address(): bigint {
    return this.memory.address;
  }

  /** Every record written since the last drain, formatted; records with a format the kernel refuses are dropped. */
  drain(): TraceRecord[] {
    const out: TraceRecord[] = [];
    this.map.consume((payload) => {
      const record = decodeTraceRecord(payload);
      if (record) out.push(record);
    });
    return out;
  }

  dispose(): void {
    this.memory.free();
  }
}

/** One ring payload as the TraceRecord the interpreter's trace_printk would have produced. */
export function decodeTraceRecord(payload: Uint8Array): TraceRecord | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const decoder = new TextDecoder();
  const formatLength = view.getUint16(TraceRecordLayout.formatLength, true);
  let at = TraceRecordLayout.bytes;
  const format = decoder.decode(payload.subarray(at, at + formatLength));
  at += formatLength;
  const args: bigint[] = [];
  const strings = new Map<bigint, string>();
  for (let i = 0; i < MAX_TRACE_PRINTK_ARGS; i++) {
    const arg = view.getBigUint64(TraceRecordLayout.args + 8 * i, true);
    args.push(arg);
    const length = view.getUint16(TraceRecordLayout.stringLengths + 2 * i, true);
    if (length === NOT_A_STRING) continue;
    strings.set(arg, decoder.decode(payload.subarray(at, at + length)));
    at += length;
  }
  let text: string;
  try {
    text = formatBpfPrintf(format, args, (address) => strings.get(address), MAX_TRACE_PRINTK_ARGS);
  } catch (error) {
    if (error instanceof PrintfFormatError) return undefined;
    throw error;
  }
  const commBytes = payload.subarray(TraceRecordLayout.comm, TraceRecordLayout.comm + 16);
  const end = commBytes.indexOf(0);
  return {
    timestampNs: view.getBigUint64(TraceRecordLayout.timestamp, true),
    pid: view.getUint32(TraceRecordLayout.tgid, true),
    tid: view.getUint32(TraceRecordLayout.tid, true),
    cpu: view.getUint32(TraceRecordLayout.cpu, true),
    comm: decoder.decode(commBytes.subarray(0, end < 0 ? 16 : end)),
    text,
  };
}
