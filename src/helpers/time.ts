// Time and randomness helpers with the kernel's helper ids and semantics.

import type { HelperRegistry } from "../vm/helpers.js";

/** CLOCK_MONOTONIC in nanoseconds, as bpf_ktime_get_ns returns it. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

export function registerTimeHelpers(registry: HelperRegistry): HelperRegistry {
  return registry
    .register(5, "bpf_ktime_get_ns", () => monotonicNs())
    .register(7, "bpf_get_prandom_u32", () => (Math.random() * 0x100000000) >>> 0)
    .register(8, "bpf_get_smp_processor_id", () => 0);
}
