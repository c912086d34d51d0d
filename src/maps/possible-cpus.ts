// The number of possible CPUs: the count the kernel sizes per-CPU map values by (num_possible_cpus()),
// which can exceed the online count on machines with hotpluggable CPUs.

import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Counts the CPUs in a kernel cpu list such as "0-3,8-11" or "0". */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new RangeError(`bad cpu list '${list.trim()}'`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first) throw new RangeError(`bad cpu list '${list.trim()}'`);
    count += last - first + 1;
  }
  return count;
}

let cached: number | undefined;

/** Possible CPUs of this machine; falls back to the CPUs Node can use where /sys is not readable. */
export function possibleCpus(): number {
  if (cached !== undefined) return cached;
  try {
    cached = countCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));
  } catch {
    cached = availableParallelism();
  }
  return cached;
}
