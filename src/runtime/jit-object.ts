// An ObjectSpec made live for the JIT, the native twin of interpreted-object.ts: maps in native memory
// (the TypeScript map objects work on the same bytes), programs compiled to x86-64 with every map address
// an lddw constant, helpers and map operations as generated native code, tail calls as jumps through
// prog-array tables, trace_printk into a trace ring. A run is one koffi call into the compiled program.
//
// Programs run natively and unchecked, as the kernel's JIT runs verified code: a program that makes a
// wild memory access takes the process down. Helpers that touch outside memory (probe_read & co.) are
// fault-tolerant. A CO-RE-poisoned or kfunc instruction ends the run with the interpreter's message.

import { CORE_POISON_HELPER_ID } from "../core/poison.js";
import { kernelHelperName } from "../helpers/ids.js";
import type { TraceRecord } from "../helpers/trace.js";
import { ValidationError } from "../isa/errors.js";
import type { Insn } from "../isa/instruction.js";
import * as op from "../isa/opcodes.js";
import { nativeFunction, loadCode, type NativeRegion } from "../jit/executable-memory.js";
import { Asm } from "../jit/native/asm.js";
import { PrivateBlock, type CpuSource } from "../jit/native/emit-context.js";
import { NativeMapPlacement } from "../jit/native/map-placement.js";
import { NativeRuntime } from "../jit/native/native-runtime.js";
import { SharedMemory } from "../jit/native/shared-memory.js";
import { JitProgram } from "../jit/native-program.js";
import { driverLoop } from "../jit/native-stubs.js";
import { ProgArrayTable } from "../jit/prog-array.js";
import { FdArrayMap } from "../maps/fd-array-map.js";
import type { BpfMap } from "../maps/bpf-map.js";
import { MapType, mapTypeName } from "../maps/map-types.js";
import { NATIVE_UNSUPPORTED_MAP_TYPES } from "../jit/native/emit-map-helpers.js";
import { ObjectError } from "../object/errors.js";
import type { ObjectSpec, ProgramSpec } from "../object/spec.js";
import { VmError } from "../vm/errors.js";
import { mapNamed, programNamed } from "./by-name.js";
import { relocatePrograms, type RelocatedProgram } from "./core-relocation.js";
import type { KconfigSource } from "./kconfig.js";
import { createObjectMaps, fillProgArrays, withKconfig, type LiveMap } from "./object-maps.js";
import { keepFunctionReferences, resolveImage } from "./program-image.js";

export interface JitObjectOptions {
  /** BTF to resolve CO-RE against (default /sys/kernel/btf/vmlinux). */
  btf?: string;
  /** CPUs per-CPU maps keep values for (default: possible CPUs). */
  ncpus?: number;
  /** Where .kconfig extern values come from (default: the running kernel). */
  kconfig?: KconfigSource;
  /** The CPU number source of helpers and per-CPU maps (default: the hardware's; tests fix one). */
  cpu?: CpuSource;
  /** Hash seed of the object's hash maps (default: random, as the kernel's). */
  seed?: number;
  /** Data bytes of the trace ring (a power of 2, default 1 MiB). */
  traceRingSize?: number;
  /** How probe reads survive bad addresses (NativeRuntimeOptions.faultGuard; default: system calls). */
  faultGuard?: "syscall" | "signal";
  /**
   * A native library to share (its CPU source, trace ring and fault guard then apply; `cpu`,
   * `traceRingSize` and `faultGuard` are ignored). The object does not dispose it. By default each object makes its own.
   */
  runtime?: NativeRuntime;
}

export interface JitLoadedProgram {
  readonly spec: ProgramSpec;
  readonly relocated: RelocatedProgram;
  readonly compiled: JitProgram;
  /** The id a prog_array stores for this program. */
  readonly id: number;
}

/**
 * Poisoned instructions call private helper ids from here up (one per poisoned slot of the object, so the
 * error can name the instruction), which keeps helper tables small: libbpf's 0xbad2310 would make them
 * 1.5 GB.
 */
const POISON_HELPER_BASE = 1024;

export class JitObject {
  readonly maps: readonly LiveMap[];
  readonly programs: readonly JitLoadedProgram[];
  readonly runtime: NativeRuntime;
  private readonly ownsRuntime: boolean;
  private readonly placement = new NativeMapPlacement();
  private readonly progArrays = new Map<LiveMap, ProgArrayTable>();
  private readonly poisoned: { message: string; pc: number }[] = [];
  private readonly buffers: SharedMemory[] = [];
  private poisonStubs: NativeRegion | undefined;
  private abortWord: DataView;
  private loops = new Map<JitLoadedProgram, (r1: bigint, r2: bigint, n: bigint) => bigint>();
  private loopRegions: NativeRegion[] = [];
  private disposed = false;

  constructor(
    readonly spec: ObjectSpec,
    options: JitObjectOptions = {},
  ) {
    refuseUnsupportedMaps(spec);
    this.ownsRuntime = options.runtime === undefined;
    this.runtime =
      options.runtime ??
      NativeRuntime.create({
        ...(options.cpu ? { cpu: options.cpu } : {}),
        ...(options.traceRingSize ? { traceRingSize: options.traceRingSize } : {}),
        ...(options.faultGuard ? { faultGuard: options.faultGuard } : {}),
      });
    try {
      const abortBytes = this.runtime.privateBlock.bytes(PrivateBlock.abort, 8);
      this.abortWord = new DataView(abortBytes.buffer, abortBytes.byteOffset, 8);
      const runtimeOptions = { ...(options.ncpus === undefined ? {} : { ncpus: options.ncpus }), ...(options.seed === undefined ? {} : { seed: options.seed }) };
      this.maps = createObjectMaps(withKconfig(spec, options.kconfig), this.placement, runtimeOptions);
      for (const live of this.maps) {
        if (live.definition.type === MapType.PROG_ARRAY) this.progArrays.set(live, new ProgArrayTable(live.map.maxEntries));
      }
      this.programs = this.loadPrograms(options.btf);
      fillProgArrays(this.maps, (name) => this.programs.find((p) => p.spec.name === name)?.id);
      this.syncTailCalls();
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  program(name: string): JitLoadedProgram {
    return programNamed(this.programs, name);
  }

  map(name: string): BpfMap {
    return mapNamed(this.maps, name);
  }

  /** A native copy of `bytes` that lives as long as the object: a context or data for `run`. */
  place(bytes: Uint8Array): bigint {
    const memory = SharedMemory.shared(Math.max(bytes.length, 1));
    this.buffers.push(memory);
    memory.bytes(0, bytes.length).set(bytes);
    return memory.address;
  }

  /** Runs a program with r1, r2 (native addresses or values); follows tail calls natively; returns r0. */
  run(name: string, r1 = 0n, r2 = 0n): bigint {
    const program = this.program(name);
    this.syncTailCalls();
    const r0 = program.compiled.runWithArgs(r1, r2);
    this.checkAbort();
    return r0;
  }

  /** Runs a program n times in a native loop (one FFI call), for benchmarks; returns the last r0. */
  runLoop(name: string, n: number, r1 = 0n, r2 = 0n): bigint {
    const program = this.program(name);
    this.syncTailCalls();
    let loop = this.loops.get(program);
    if (!loop) {
      const region = driverLoop(program.compiled.entryAddress);
      this.loopRegions.push(region);
      loop = nativeFunction(region.address, 3);
      this.loops.set(program, loop);
    }
    const r0 = BigInt.asUintN(64, loop(r1, r2, BigInt(n)));
    this.checkAbort();
    return r0;
  }

  /** trace_printk records written since the last call, formatted. */
  traces(): TraceRecord[] {
    return this.runtime.traceRing.drain();
  }

  /**
   * Points every prog-array table at the programs the prog_array maps name now (the control plane changes
   * the maps; programs jump through the tables).
   */
  syncTailCalls(): void {
    for (const [live, table] of this.progArrays) {
      const map = live.map as FdArrayMap;
      for (let index = 0; index < table.maxEntries; index++) {
        const id = map.idAt(index);
        const target = id === 0 ? undefined : this.programs.find((p) => p.id === id);
        table.set(index, target?.compiled ?? null);
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const program of this.programs ?? []) program.compiled.dispose();
    for (const table of this.progArrays.values()) table.free();
    for (const region of this.loopRegions) region.free();
    for (const buffer of this.buffers) buffer.free();
    this.poisonStubs?.free();
    this.placement.dispose();
    if (this.ownsRuntime) this.runtime.dispose();
  }

  private loadPrograms(btf: string | undefined): JitLoadedProgram[] {
    const relocated = relocatePrograms(this.spec, btf);
    const images = this.spec.programs.map((program) => {
      const r = relocated.get(program)!;
      const insns = r.insns.map((ins) => ({ ...ins }));
      const unrunnable = resolveImage(insns, program, {
        mapAddress: (i) => this.mapAddressForPrograms(i),
        mapValueAddress: (i) => this.mapAt(i).valueAddress,
        codeAddress: () => 0n, // the compiler resolves function references itself (below)
      });
      keepFunctionReferences(r.insns, insns);
      for (const [slot, poison] of r.report?.poisonByInsn ?? []) unrunnable.set(slot, poison.message);
      this.redirectPoison(insns, unrunnable);
      return { program, r, insns };
    });
    const helpers = new Map(this.runtime.helperAddresses);
    this.poisonStubs = this.emitPoisonStubs(helpers);
    return images.map(({ program, r, insns }, index) => {
      let compiled: JitProgram;
      try {
        compiled = JitProgram.compile(insns, { helpers, tailCalls: true, validate: { helperName: kernelHelperName, allowPseudoLddw: true } });
      } catch (error) {
        throw error instanceof ValidationError ? error.inProgram(program.name) : error;
      }
      return { spec: program, relocated: r, compiled, id: index + 1 };
    });
  }

  /** What an lddw of map `index` becomes: the region, or for a prog_array the table tail calls jump through. */
  private mapAddressForPrograms(index: number): bigint {
    const live = this.mapAt(index);
    return this.progArrays.get(live)?.address ?? live.address;
  }

  private mapAt(index: number): LiveMap {
    const live = this.maps[index];
    if (!live) throw new VmError(`map index ${index} is outside the object's ${this.maps.length} maps`);
    return live;
  }

  /** Poisoned calls get a private helper id each; the helper ends the run (abort_run). */
  private redirectPoison(insns: Insn[], messages: ReadonlyMap<number, string>): void {
    for (const [slot, message] of messages) {
      const ins = insns[slot];
      if (ins?.code !== op.OP_CALL || ins.imm !== CORE_POISON_HELPER_ID) continue;
      const n = this.poisoned.push({ message, pc: slot }) - 1;
      insns[slot] = { ...ins, imm: POISON_HELPER_BASE + n };
    }
  }

  /** One `mov eax, n; call abort_run` per poisoned slot, registered as helper POISON_HELPER_BASE + n. */
  private emitPoisonStubs(helpers: Map<number, bigint>): NativeRegion | undefined {
    if (this.poisoned.length === 0) return undefined;
    const a = new Asm();
    const abortRun = this.runtime.address("abort_run");
    this.poisoned.forEach((_, n) => {
      a.fn(`poison_${n}`);
      a.li(0, n);
      a.li(1, abortRun);
      a.callReg(1); // abort_run never returns here: it leaves the whole run
    });
    const region = loadCode(a.bytes());
    this.poisoned.forEach((_, n) => helpers.set(POISON_HELPER_BASE + n, region.address + BigInt(a.offsetOf(`poison_${n}`))));
    return region;
  }

  /** Throws the interpreter's VmError when the run ended at a poisoned instruction. */
  private checkAbort(): void {
    const word = this.abortWord.getBigUint64(0, true);
    if (word === 0n) return;
    this.abortWord.setBigUint64(0, 0n, true);
    const poison = this.poisoned[Number(word) - 1];
    throw poison ? new VmError(poison.message, poison.pc) : new VmError("a poisoned instruction was executed");
  }
}

/** Maps whose program-side operations have no native routine yet would silently misbehave: refuse them. */
function refuseUnsupportedMaps(spec: ObjectSpec): void {
  for (const map of spec.maps) {
    if (NATIVE_UNSUPPORTED_MAP_TYPES.includes(map.type)) {
      throw new ObjectError(`map '${map.name}' (${mapTypeName(map.type)}) has no native operations yet: run this object on the interpreter`, "OBJ_BAD_MAP");
    }
  }
}

