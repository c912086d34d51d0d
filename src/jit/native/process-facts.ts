// What generated helpers may rely on in this process, found once from the outside: CPU features (rdpid,
// rdtscp), where glibc keeps the thread id inside its thread descriptor, and where glibc registered the
// thread's rseq area. Each fact may be missing (another libc, an old glibc, a CPU without the
// instruction); the helpers then fall back to a slower way that always works.

import { readFileSync } from "node:fs";
import koffi, { type LibraryHandle } from "koffi";

export interface ProcessFacts {
  /** The CPU has `rdpid` (and Linux keeps the CPU number in IA32_TSC_AUX for it). */
  readonly rdpid: boolean;
  readonly rdtscp: boolean;
  /**
   * Byte offset of the u32 thread id in glibc's struct pthread, from the thread pointer (%fs base). glibc
   * publishes it for libthread_db as `_thread_db_pthread_tid` = { bits, count, offset }. The kernel keeps
   * the field right (CLONE_PARENT_SETTID at creation, set_tid_address), also when glibc reuses a dead
   * thread's descriptor for a new thread.
   */
  readonly tidOffset: number | undefined;
  /** Byte offset of the thread's struct rseq from the thread pointer (glibc's __rseq_offset), if registered. */
  readonly rseqOffset: number | undefined;
}

function cpuFlags(): Set<string> {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("flags"));
    return new Set(line?.split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

function libcSymbol(lib: LibraryHandle, name: string): bigint | undefined {
  try {
    const address = lib.symbol(name) as unknown;
    return typeof address === "bigint" && address !== 0n ? address : undefined;
  } catch {
    return undefined;
  }
}

function glibcLayout(): { tidOffset: number | undefined; rseqOffset: number | undefined } {
  let lib: LibraryHandle;
  try {
    lib = koffi.load("libc.so.6");
  } catch {
    return { tidOffset: undefined, rseqOffset: undefined };
  }
  let tidOffset: number | undefined;
  const tid = libcSymbol(lib, "_thread_db_pthread_tid");
  if (tid !== undefined) {
    const [bits, count, offset] = new Uint32Array(koffi.view(tid, 12));
    if (bits === 32 && count === 1 && offset !== undefined) tidOffset = offset;
  }
  let rseqOffset: number | undefined;
  const offset = libcSymbol(lib, "__rseq_offset");
  const size = libcSymbol(lib, "__rseq_size");
  if (offset !== undefined && size !== undefined && new Uint32Array(koffi.view(size, 4))[0]! >= 8) {
    rseqOffset = Number(new BigInt64Array(koffi.view(offset, 8))[0]!);
  }
  return { tidOffset, rseqOffset };
}

let cached: ProcessFacts | undefined;

export function processFacts(): ProcessFacts {
  if (cached) return cached;
  const flags = cpuFlags();
  cached = { rdpid: flags.has("rdpid"), rdtscp: flags.has("rdtscp"), ...glibcLayout() };
  return cached;
}
