// clock_gettime for the clocks Node does not expose (CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE), through koffi.

import koffi from "koffi";

export const CLOCK_MONOTONIC = 1;
export const CLOCK_MONOTONIC_COARSE = 6;
export const CLOCK_BOOTTIME = 7;

let clockGettime: ((clock: number, out: Buffer) => number) | undefined;
// struct timespec { time_t tv_sec; long tv_nsec; }, reused: one read at a time.
const timespec = Buffer.alloc(16);

/** The clock's time in nanoseconds. */
export function clockNs(clock: number): bigint {
  if (clock === CLOCK_MONOTONIC) return process.hrtime.bigint(); // libuv reads CLOCK_MONOTONIC
  clockGettime ??= koffi.load("libc.so.6").func("int clock_gettime(int clock, _Out_ uint8_t *ts)") as (clock: number, out: Buffer) => number;
  if (clockGettime(clock, timespec) !== 0) throw new Error(`clock_gettime(${clock}) failed`);
  return timespec.readBigInt64LE(0) * 1_000_000_000n + timespec.readBigInt64LE(8);
}
