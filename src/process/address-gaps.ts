// Unmapped address ranges of a process, and the ones within rel32 reach of an address: trampolines placed
// there are reachable with a 5-byte `jmp rel32` from the hooked function and back.

import { readFileSync } from "node:fs";
import type { MapEntry } from "./maps.js";

export interface AddressRange {
  start: bigint;
  /** Exclusive. */
  end: bigint;
}

export const PAGE_SIZE = 4096n;
/** The top of the x86-64 user address space with 4-level paging (TASK_SIZE_MAX). */
export const USER_SPACE_END = 0x7ffffffff000n;
/** Reach of a rel32 displacement, less a margin so code anywhere in a small trampoline block still reaches. */
export const REL32_REACH = 2n ** 31n - 64n * 1024n;
/** The kernel keeps this much unmapped below a stack that grows down (stack_guard_gap, 256 pages). */
const STACK_GUARD = 256n * PAGE_SIZE;

export function alignUp(value: bigint, alignment: bigint): bigint {
  return ((value + alignment - 1n) / alignment) * alignment;
}

export function alignDown(value: bigint, alignment: bigint): bigint {
  return (value / alignment) * alignment;
}

function mmapMinAddr(): bigint {
  try {
    return BigInt(readFileSync("/proc/sys/vm/mmap_min_addr", "utf8").trim());
  } catch {
    return 65536n;
  }
}

export interface GapOptions {
  /** Lowest usable address (default: max(vm.mmap_min_addr, 64 KiB)). */
  low?: bigint;
  /** End of usable memory (default: USER_SPACE_END). */
  high?: bigint;
}

/** Every page-aligned unmapped range between `low` and `high`, skipping the guard gap under [stack]. */
export function unmappedRanges(entries: readonly MapEntry[], options: GapOptions = {}): AddressRange[] {
  const minimum = mmapMinAddr();
  const low = options.low ?? (minimum > 65536n ? minimum : 65536n);
  const high = options.high ?? USER_SPACE_END;
  const sorted = [...entries].filter((e) => e.end <= USER_SPACE_END).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const gaps: AddressRange[] = [];
  let cursor = low;
  for (const entry of sorted) {
    const occupiedFrom = entry.path === "[stack]" ? entry.start - STACK_GUARD : entry.start;
    if (occupiedFrom > cursor) gaps.push({ start: cursor, end: occupiedFrom < high ? occupiedFrom : high });
    if (entry.end > cursor) cursor = entry.end;
    if (cursor >= high) break;
  }
  if (cursor < high) gaps.push({ start: cursor, end: high });
  return gaps.filter((g) => g.end > g.start);
}

export interface NearOptions extends GapOptions {
  /** Largest distance allowed between `near` and any byte of the range (default REL32_REACH). */
  reach?: bigint;
}

/**
 * Free page-aligned ranges of at least `size` bytes whose every byte lies within `reach` of `near`, each
 * clipped to that window, nearest first.
 */
export function freeRangesNear(entries: readonly MapEntry[], near: bigint, size: number | bigint, options: NearOptions = {}): AddressRange[] {
  const length = alignUp(BigInt(size), PAGE_SIZE);
  const reach = options.reach ?? REL32_REACH;
  const windowStart = alignUp(near > reach ? near - reach : 0n, PAGE_SIZE);
  const windowEnd = alignDown(near + reach, PAGE_SIZE);
  const distance = (r: AddressRange) => (r.end <= near ? near - r.end : r.start >= near ? r.start - near : 0n);
  return unmappedRanges(entries, options)
    .map((g) => ({ start: g.start > windowStart ? g.start : windowStart, end: g.end < windowEnd ? g.end : windowEnd }))
    .filter((g) => g.end - g.start >= length)
    .sort((a, b) => {
      const d = distance(a) - distance(b);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    });
}

/** The start of the free `size`-byte range nearest to `near` within reach, or undefined if there is none. */
export function findFreeRangeNear(entries: readonly MapEntry[], near: bigint, size: number | bigint, options: NearOptions = {}): bigint | undefined {
  const length = alignUp(BigInt(size), PAGE_SIZE);
  const best = freeRangesNear(entries, near, length, options)[0];
  if (best === undefined) return undefined;
  // Hug the side facing `near` so the range is as close as it can be.
  return best.end <= near ? best.end - length : best.start;
}
