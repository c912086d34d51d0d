// Time helpers with the kernel's helper ids and clocks.

import { CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE, clockNs } from "../native/clock.js";
import type { HelperRegistry } from "../vm/helpers.js";
import { HelperId } from "./ids.js";

/** CLOCK_MONOTONIC in nanoseconds, as bpf_ktime_get_ns returns it. */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * The kernel's HZ for jiffies. Userspace cannot read the jiffies counter; bpf_jiffies64 is derived from
 * CLOCK_BOOTTIME at Debian's CONFIG_HZ (250), so differences between two calls are right, absolute
 * values are approximate.
 */
const HZ = 250n;

export function registerTimeHelpers(registry: HelperRegistry): HelperRegistry {
  return registry
    .register(HelperId.ktimeGetNs, "bpf_ktime_get_ns", () => monotonicNs())
    .register(HelperId.ktimeGetBootNs, "bpf_ktime_get_boot_ns", () => clockNs(CLOCK_BOOTTIME))
    .register(HelperId.ktimeGetCoarseNs, "bpf_ktime_get_coarse_ns", () => clockNs(CLOCK_MONOTONIC_COARSE))
    .register(HelperId.jiffies64, "bpf_jiffies64", () => (clockNs(CLOCK_BOOTTIME) * HZ) / 1_000_000_000n);
}
