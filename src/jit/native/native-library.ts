// The native helper library as an image: machine code for one process, given the addresses that process
// has (its private block, vDSO, trace ring, fault guard) and the facts about it. The code refers to itself
// only RIP-relatively, so the bytes work wherever they are copied in that process: NativeRuntime loads
// them into this one; an injector can write them into a target it has prepared the same addresses in.

import { Asm } from "./asm.js";
import { emitArrayOperations } from "./emit-array.js";
import { emitByteRoutines, emitLockSlowPath, type CpuSource, type EmitContext } from "./emit-context.js";
import { emitHashOperations } from "./emit-hash.js";
import { emitHelpers, HELPER_ROUTINES } from "./emit-helpers.js";
import { emitJhash } from "./emit-jhash.js";
import { emitLru } from "./emit-lru.js";
import { emitMapHelpers } from "./emit-map-helpers.js";
import { emitBloomFilter, emitQueueStack } from "./emit-queue-bloom.js";
import type { FaultGuard } from "./fault-guard.js";

export interface NativeLibraryConfig {
  readonly cpu: CpuSource;
  /** The process-private block (emit-context.ts PrivateBlock), MADV_WIPEONFORK in that process. */
  readonly privateBlock: bigint;
  /** The process's __vdso_clock_gettime, or undefined for the system call. */
  readonly clockGettime: bigint | undefined;
  /** ProcessFacts.tidOffset of that process's libc. */
  readonly tidOffset: number | undefined;
  /** The trace ring region bpf_trace_printk writes to, if any. */
  readonly traceRing: bigint | undefined;
  /** Guarded copies installed in that process, or undefined for process_vm_readv/writev. */
  readonly faultGuard: FaultGuard | undefined;
}

export interface NativeLibraryImage {
  readonly code: Uint8Array;
  /** Code offset of every routine by name. */
  readonly offsets: ReadonlyMap<string, number>;
  /** Code offset of the routine serving each helper id. */
  readonly helperOffsets: ReadonlyMap<number, number>;
}

export function buildNativeLibrary(config: NativeLibraryConfig): NativeLibraryImage {
  const a = new Asm();
  const ctx: EmitContext = { a, ...config };
  emitByteRoutines(a);
  emitLockSlowPath(a);
  emitJhash(a);
  emitArrayOperations(ctx);
  emitHashOperations(ctx);
  emitLru(a);
  emitQueueStack(a);
  emitBloomFilter(a);
  emitMapHelpers(a);
  emitHelpers(ctx);
  const offsets = new Map<string, number>();
  for (const [name] of a.functions) offsets.set(name, a.offsetOf(name));
  const helperOffsets = new Map<number, number>();
  for (const [id, name] of HELPER_ROUTINES) {
    const offset = offsets.get(name);
    if (offset !== undefined) helperOffsets.set(id, offset);
  }
  return { code: a.bytes(), offsets, helperOffsets };
}
