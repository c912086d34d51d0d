// The native helper library of one process: every generated routine (map operations, helpers, their
// internal pieces) assembled into one code region, plus the process-private block they keep state in.
// Programs compiled by the JIT call the helpers through their helper tables (`helperAddresses`); the
// control plane can call any routine through koffi (`call`), which is how the tests compare native and
// TypeScript map operations on the same bytes.

import { loadCode, nativeFunction, type NativeRegion } from "../executable-memory.js";
import { Asm } from "./asm.js";
import { PrivateBlock, type CpuSource } from "./emit-context.js";
import { installFaultGuard } from "./fault-guard.js";
import { buildNativeLibrary } from "./native-library.js";
import { processFacts, type ProcessFacts } from "./process-facts.js";
import { SharedMemory } from "./shared-memory.js";
import { TraceRing } from "./trace-ring.js";
import { thisProcessVdso } from "./vdso.js";

export interface NativeRuntimeOptions {
  /** Where the CPU number comes from (default: the fastest source this process has, see pickCpuSource). */
  cpu?: CpuSource;
  /** Facts about the process the code will run in (default: this process's). */
  facts?: ProcessFacts;
  /** Data bytes of the trace ring bpf_trace_printk writes to (a power of 2, default 1 MiB). */
  traceRingSize?: number;
  /**
   * How probe reads and writes survive bad addresses: "syscall" (default: process_vm_readv/writev, about
   * 1 us) or "signal" (guarded copies and a SIGSEGV/SIGBUS handler installed in this process, a few ns;
   * see fault-guard.ts for what that handler takes over).
   */
  faultGuard?: "syscall" | "signal";
}

export class NativeRuntime {
  readonly cpuSource: CpuSource;
  private readonly calls = new Map<string, (...args: bigint[]) => bigint>();
  private disposed = false;

  private constructor(
    private readonly code: NativeRegion,
    private readonly offsets: ReadonlyMap<string, number>,
    readonly privateBlock: SharedMemory,
    /** Where this library's bpf_trace_printk leaves its records. */
    readonly traceRing: TraceRing,
    cpuSource: CpuSource,
    /** Native helper addresses by helper id, for the JIT's helper tables. */
    readonly helperAddresses: ReadonlyMap<number, bigint>,
  ) {
    this.cpuSource = cpuSource;
  }

  static create(options: NativeRuntimeOptions = {}): NativeRuntime {
    const facts = options.facts ?? processFacts();
    const privateBlock = SharedMemory.processPrivate(PrivateBlock.size);
    let traceRing: TraceRing | undefined;
    try {
      traceRing = TraceRing.create(options.traceRingSize);
      const cpu = options.cpu ?? pickCpuSource(facts);
      const image = buildNativeLibrary({
        cpu,
        privateBlock: privateBlock.address,
        clockGettime: thisProcessVdso()?.symbol("__vdso_clock_gettime"),
        tidOffset: facts.tidOffset,
        traceRing: traceRing.address,
        faultGuard: options.faultGuard === "signal" ? installFaultGuard() : undefined,
      });
      const code = loadCode(image.code);
      const helperAddresses = new Map<number, bigint>();
      for (const [id, offset] of image.helperOffsets) helperAddresses.set(id, code.address + BigInt(offset));
      const offsets = image.offsets;
      return new NativeRuntime(code, offsets, privateBlock, traceRing, cpu, helperAddresses);
    } catch (error) {
      privateBlock.free();
      traceRing?.dispose();
      throw error;
    }
  }

  /** Address of a generated routine by name (see the emit-*.ts modules for the names). */
  address(name: string): bigint {
    const offset = this.offsets.get(name);
    if (offset === undefined) throw new Error(`the native library has no routine '${name}'`);
    return this.code.address + BigInt(offset);
  }

  /** Calls a routine with up to 6 integer arguments (bigint addresses or values); returns rax. */
  call(name: string, ...args: bigint[]): bigint {
    if (this.disposed) throw new Error("the native runtime has been disposed");
    const key = `${name}/${args.length}`;
    let fn = this.calls.get(key);
    if (!fn) {
      fn = nativeFunction(this.address(name), args.length);
      this.calls.set(key, fn);
    }
    return fn(...args);
  }

  get codeSize(): number {
    return this.code.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.code.free();
    this.privateBlock.free();
    this.traceRing.dispose();
  }
}

/**
 * The cheapest way to the CPU number this process offers: glibc's registered rseq area (a load from the
 * thread's own memory, refreshed by the kernel on migration), else `rdpid`, else `rdtscp`.
 */
export function pickCpuSource(facts: ProcessFacts): CpuSource {
  if (facts.rseqOffset !== undefined && rseqRegistered(facts.rseqOffset)) return { kind: "rseq", offset: facts.rseqOffset };
  if (facts.rdpid) return { kind: "rdpid" };
  return { kind: "rdtscp" };
}

/** Whether this thread's rseq area holds a CPU number (glibc registered it and the kernel accepted). */
function rseqRegistered(offset: number): boolean {
  const a = new Asm();
  a.fn("read");
  a.movFromFs(32, 0, offset + 4);
  a.ret();
  const code = loadCode(a.bytes());
  try {
    const cpu = Number(BigInt.asIntN(32, nativeFunction(code.address, 0)()));
    return cpu >= 0;
  } finally {
    code.free();
  }
}

