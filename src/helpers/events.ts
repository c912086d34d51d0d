// Event output helpers: ring buffers (reserve/submit/discard/output/query) and perf event arrays.

import { PerfEventArrayMap } from "../maps/perf-event-array-map.js";
import { RingbufMap } from "../maps/ringbuf-map.js";
import { VmError } from "../vm/errors.js";
import type { HelperRegistry } from "../vm/helpers.js";
import type { HelperEnvironment } from "./environment.js";
import { EINVAL } from "./errno.js";
import { HelperId } from "./ids.js";
import type { MapResolver, ProgramMap } from "./maps.js";

function ringbufOf(resolve: MapResolver, address: bigint): ProgramMap & { map: RingbufMap } {
  const found = resolve(address);
  if (!found || !(found.map instanceof RingbufMap)) throw new VmError(`0x${address.toString(16)} is not a ring buffer map`);
  return found as ProgramMap & { map: RingbufMap };
}

/** The ring buffer holding a reserved sample's address (records live inside their map's region). */
function ringbufHolding(resolveSample: (address: bigint) => ProgramMap | undefined, sample: bigint): ProgramMap & { map: RingbufMap } {
  const found = resolveSample(sample);
  if (!found || !(found.map instanceof RingbufMap)) throw new VmError(`0x${sample.toString(16)} is not a reserved ring buffer sample`);
  return found as ProgramMap & { map: RingbufMap };
}

/** Flags of submit/discard: BPF_RB_NO_WAKEUP and BPF_RB_FORCE_WAKEUP; wakeups are the consumer's polling here. */
const WAKEUP_FLAGS = 3n;

export function registerEventHelpers(
  registry: HelperRegistry,
  env: HelperEnvironment,
  resolve: MapResolver,
  resolveSample: (address: bigint) => ProgramMap | undefined,
): HelperRegistry {
  const commit = (sample: bigint, flags: bigint, discard: boolean): number => {
    if (flags & ~WAKEUP_FLAGS) return EINVAL;
    const { map, address } = ringbufHolding(resolveSample, sample);
    map.commit(Number(sample - address), discard);
    return 0;
  };
  return registry
    .register(HelperId.ringbufReserve, "bpf_ringbuf_reserve", (m, size, flags) => {
      if (flags !== 0n) return 0;
      const { map, address } = ringbufOf(resolve, m);
      const offset = map.reserve(Number(size));
      return offset < 0 ? 0n : address + BigInt(offset);
    })
    .register(HelperId.ringbufSubmit, "bpf_ringbuf_submit", (sample, flags) => commit(sample, flags, false))
    .register(HelperId.ringbufDiscard, "bpf_ringbuf_discard", (sample, flags) => commit(sample, flags, true))
    .register(HelperId.ringbufOutput, "bpf_ringbuf_output", (m, data, size, flags, _r5, ctx) => {
      const { map } = ringbufOf(resolve, m);
      return map.output(ctx.memory.bytes(data, Number(size)), 0, Number(size), Number(flags));
    })
    .register(HelperId.ringbufQuery, "bpf_ringbuf_query", (m, flags) => ringbufOf(resolve, m).map.query(Number(flags)))
    .register(HelperId.perfEventOutput, "bpf_perf_event_output", (_ctx, m, flags, data, size, ctx) => {
      const found = resolve(m);
      if (!found || !(found.map instanceof PerfEventArrayMap)) throw new VmError(`0x${m.toString(16)} is not a perf event array`);
      if (flags > 0xffffffffn) return EINVAL;
      return found.map.output(Number(flags), env.cpu(), ctx.memory.bytes(data, Number(size)), 0, Number(size));
    });
}
