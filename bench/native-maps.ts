// Map operations in programs: our JIT calling the generated native map routines (maps in native memory,
// the program called n times by a generated native loop so the FFI call is not measured) against the
// kernel's JIT with the kernel's maps (BPF_PROG_TEST_RUN with repeat, its own per-run mean), and the
// reference interpreter with the TypeScript maps, the same eBPF on all three, side by side in one run. Each program returns XDP_PASS so the kernel runs it as
// an XDP program; the maps are checked afterwards on both sides (a wrong map operation fails the bench).
// Also times the native routines called on their own, without a program around them.

import { pathToFileURL } from "node:url";
import { assemble } from "../src/isa/assembler.js";
import type { Insn } from "../src/isa/instruction.js";
import * as op from "../src/isa/opcodes.js";
import { JitProgram } from "../src/jit/native-program.js";
import { driverLoop } from "../src/jit/native-stubs.js";
import { nativeFunction } from "../src/jit/executable-memory.js";
import { NativeRuntime } from "../src/jit/native/native-runtime.js";
import { SharedMemory } from "../src/jit/native/shared-memory.js";
import type { BpfMap } from "../src/maps/bpf-map.js";
import { createMap as createNativeMap, mapRegionSize } from "../src/maps/create-map.js";
import { MapType } from "../src/maps/map-types.js";
import type { MapSpec } from "../src/maps/map-spec.js";
import { kernelBpfAvailable } from "../src/native/bpf-available.js";
import { closeFd, createMap as createKernelMap, loadProgram, mapLookup, mapUpdate, testRun } from "../src/native/bpf-syscall.js";
import { parseSectionName, ProgType } from "../src/object/section-names.js";
import { defineMap, type ObjectSpec } from "../src/object/spec.js";
import { InterpretedObject } from "../src/runtime/interpreted-object.js";
import { benchTable } from "./table.js";

const XDP_PASS = 2;
/** Stands for the map in `lddw %r1, MAP` below, replaced by each engine's reference to it. */
const MAP_MARKER = 0x6d61705f6d61n;

interface MapBench {
  name: string;
  map: MapSpec;
  /** Entries the map holds before the runs: [key, value] as u32 key and u64 value. */
  preload: readonly (readonly [number, bigint])[];
  asm: string;
  /** The u64 value under u32 key 7 (index 3 for arrays) after the runs, read back to check the work. */
  check: { key: number; value: (runs: number) => bigint };
}

const spec = (type: number, maxEntries: number): MapSpec => ({ type, keySize: 4, valueSize: 8, maxEntries, flags: 0, name: "bench" });
const lookupKey = (key: number): string => `
    stw [%r10-4], ${key}
    lddw %r1, ${MAP_MARKER}
    mov %r2, %r10
    add %r2, -4
    call 1`;
const pass = `
  out:
    mov %r0, ${XDP_PASS}
    exit`;

const BENCHES: readonly MapBench[] = [
  {
    // The cost of a run itself (our driver loop and prologue; the kernel's XDP test-run loop), to subtract.
    name: "empty program",
    map: spec(MapType.ARRAY, 16),
    preload: [[3, 33n]],
    asm: pass,
    check: { key: 3, value: () => 33n },
  },
  {
    name: "hash lookup",
    map: spec(MapType.HASH, 1024),
    preload: Array.from({ length: 100 }, (_, k) => [k, BigInt(k) * 10n] as const),
    asm: `${lookupKey(7)}
    jeq %r0, 0, out
    ldxdw %r0, [%r0+0]${pass}`,
    check: { key: 7, value: () => 70n },
  },
  {
    name: "hash update+lookup",
    map: spec(MapType.HASH, 1024),
    preload: Array.from({ length: 100 }, (_, k) => [k, BigInt(k)] as const),
    asm: `
    stw [%r10-4], 7
    stdw [%r10-16], 42
    lddw %r1, ${MAP_MARKER}
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0
    call 2
    ${lookupKey(7)}
    jeq %r0, 0, out
    ldxdw %r0, [%r0+0]${pass}`,
    check: { key: 7, value: () => 42n },
  },
  {
    name: "array lookup",
    map: spec(MapType.ARRAY, 16),
    preload: [[3, 33n]],
    asm: `${lookupKey(3)}
    jeq %r0, 0, out
    ldxdw %r0, [%r0+0]${pass}`,
    check: { key: 3, value: () => 33n },
  },
  {
    name: "percpu_array lookup+add",
    map: spec(MapType.PERCPU_ARRAY, 16),
    preload: [],
    asm: `${lookupKey(3)}
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+0], %r1${pass}`,
    check: { key: 3, value: (runs) => BigInt(runs) },
  },
  {
    name: "lru_hash lookup",
    map: spec(MapType.LRU_HASH, 1024),
    preload: Array.from({ length: 100 }, (_, k) => [k, BigInt(k) * 10n] as const),
    asm: `${lookupKey(7)}
    jeq %r0, 0, out
    ldxdw %r0, [%r0+0]${pass}`,
    check: { key: 7, value: () => 70n },
  },
];

/** The program with its map lddw turned into `lddw` of `value` with pseudo source `src`. */
function withMap(program: readonly Insn[], src: number, value: bigint): Insn[] {
  const out = program.map((ins) => ({ ...ins }));
  for (let i = 0; i < out.length; i++) {
    const ins = out[i]!;
    if (ins.code !== op.OP_LDDW) continue;
    const constant = (BigInt(out[i + 1]!.imm >>> 0) << 32n) | BigInt(ins.imm >>> 0);
    if (constant === MAP_MARKER) {
      out[i] = { ...ins, src, imm: Number(BigInt.asIntN(32, value & 0xffffffffn)) };
      out[i + 1] = { ...out[i + 1]!, imm: src === op.BPF_PSEUDO_IMM64 ? Number(BigInt.asIntN(32, value >> 32n)) : 0 };
    }
    i++;
  }
  return out;
}

const u32 = (value: number): Uint8Array => new Uint8Array(new Uint32Array([value]).buffer);

/** Per-CPU sums and plain values alike: the u64s of every CPU slot added up. */
function sumSlots(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let at = 0; at + 8 <= bytes.length; at += 8) sum += view.getBigUint64(at, true);
  return sum;
}

/** Calls `body(n)` with growing n until one call takes `seconds`; ns per iteration of the last call. */
function nsPerIteration(seconds: number, body: (n: number) => void): number {
  for (let n = 1000; ; ) {
    const start = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - start);
    if (ns >= seconds * 1e9 || n >= 1 << 30) return ns / n;
    n = Math.ceil((n * seconds * 1e9 * 1.2) / Math.max(ns, 1));
  }
}

function ourMap(bench: MapBench): { map: BpfMap; memory: SharedMemory } {
  const size = mapRegionSize(bench.map);
  const memory = SharedMemory.shared(size);
  const map = createNativeMap(bench.map, memory.bytes(0, size));
  for (const [key, value] of bench.preload) map.updateElem(u32(key), new Uint8Array(new BigUint64Array([value]).buffer));
  return { map, memory };
}

function measureOurs(runtime: NativeRuntime, bench: MapBench, seconds: number): number {
  const { map, memory } = ourMap(bench);
  const program = JitProgram.compile(withMap(assemble(bench.asm), op.BPF_PSEUDO_IMM64, memory.address), { helpers: runtime.helperAddresses });
  try {
    let runs = 0;
    const ns = nsPerIteration(seconds, (n) => {
      if (program.runLoop(n) !== BigInt(XDP_PASS)) throw new Error(`${bench.name}: our JIT returned a wrong r0`);
      runs += n;
    });
    const value = new Uint8Array(map.sysValueSize);
    if (map.lookupElem(u32(bench.check.key), value) !== 0 || sumSlots(value) !== bench.check.value(runs)) {
      throw new Error(`${bench.name}: our map holds ${sumSlots(value)} under key ${bench.check.key} after ${runs} runs`);
    }
    return ns;
  } finally {
    program.dispose();
    memory.free();
  }
}

/** The same program on the reference interpreter with the TypeScript maps, as `test-run` runs objects. */
function measureInterpreter(bench: MapBench, seconds: number): number {
  const insns = withMap(assemble(bench.asm), op.BPF_PSEUDO_MAP_IDX, 0n);
  const definition = defineMap({ ...bench.map, origin: "btf", section: ".maps" });
  const spec: ObjectSpec = {
    name: "bench",
    license: "GPL",
    kernelVersion: undefined,
    programs: [{ name: "bench", section: "xdp", info: parseSectionName("xdp"), attachError: undefined, insns, functions: [{ name: "bench", start: 0, length: insns.length }], coreRelocations: [], kernelSymbols: new Map() }],
    maps: [definition],
    variables: [],
    kconfig: [],
    btf: undefined,
    btfExt: undefined,
  };
  const live = new InterpretedObject(spec);
  const map = live.map(bench.map.name);
  for (const [key, value] of bench.preload) map.updateElem(u32(key), new Uint8Array(new BigUint64Array([value]).buffer));
  const ctx = live.memory.add("ctx", new Uint8Array(64));
  let runs = 0;
  const ns = nsPerIteration(seconds, (n) => {
    for (let i = 0; i < n; i++) if (live.run("bench", ctx) !== BigInt(XDP_PASS)) throw new Error(`${bench.name}: the interpreter returned a wrong r0`);
    runs += n;
  });
  const value = new Uint8Array(map.sysValueSize);
  if (map.lookupElem(u32(bench.check.key), value) !== 0 || sumSlots(value) !== bench.check.value(runs)) throw new Error(`${bench.name}: the interpreter's map is wrong after ${runs} runs`);
  return ns;
}

function measureKernel(bench: MapBench, seconds: number): number {
  const mapFd = createKernelMap({ type: bench.map.type, keySize: 4, valueSize: 8, maxEntries: bench.map.maxEntries, name: "bench_map" });
  let progFd: number | undefined;
  try {
    for (const [key, value] of bench.preload) mapUpdate(mapFd, u32(key), new Uint8Array(new BigUint64Array([value]).buffer));
    progFd = loadProgram({ type: ProgType.Xdp, insns: withMap(assemble(bench.asm), op.BPF_PSEUDO_MAP_FD, BigInt(mapFd)), license: "GPL", name: "bench_maps" });
    const packet = new Uint8Array(64);
    let runs = 0;
    const timed = (repeat: number): number => {
      const run = testRun({ progFd: progFd!, dataIn: packet, repeat });
      if (run.retval !== XDP_PASS) throw new Error(`${bench.name}: the kernel returned ${run.retval}`);
      runs += repeat;
      return run.durationNs;
    };
    const once = Math.max(timed(1000), 1);
    const ns = timed(Math.max(1000, Math.min(1 << 24, Math.round((seconds * 1e9) / once))));
    const percpu = bench.map.type === MapType.PERCPU_ARRAY;
    const value = mapLookup(mapFd, u32(bench.check.key), percpu ? 8 * possibleKernelCpus() : 8);
    // Per-CPU counts: test runs may move between CPUs, so the sum over CPUs is what adds up.
    if (sumSlots(value) !== bench.check.value(runs)) throw new Error(`${bench.name}: the kernel's map holds ${sumSlots(value)} after ${runs} runs`);
    return ns;
  } finally {
    if (progFd !== undefined) closeFd(progFd);
    closeFd(mapFd);
  }
}

function benchNamed(name: string): MapBench {
  return BENCHES.find((b) => b.name === name)!;
}

let kernelCpus: number | undefined;

/** The kernel's possible CPUs, as a per-CPU value's slot count (the same count our maps use). */
function possibleKernelCpus(): number {
  if (kernelCpus === undefined) {
    const { map, memory } = ourMap({ ...benchNamed("percpu_array lookup+add"), preload: [] });
    kernelCpus = map.ncpus;
    memory.free();
  }
  return kernelCpus;
}

export interface NativeMapBenchRow {
  name: string;
  /** ns per program run on the reference interpreter with the TypeScript maps and helpers. */
  interpreterNs: number;
  /** ns per program run: our JIT with the native map routines. */
  oursNs: number;
  /** ns per program run on the kernel's JIT; undefined when the kernel could not run it. */
  kernelNs: number | undefined;
  kernelNote: string | undefined;
}

/** Every map program on our JIT and on the kernel's, about `seconds` each. */
export function measureNativeMaps(seconds = 0.5): NativeMapBenchRow[] {
  const runtime = NativeRuntime.create();
  const kernel = kernelBpfAvailable();
  try {
    return BENCHES.map((bench) => {
      const interpreterNs = measureInterpreter(bench, Math.min(seconds, 0.3));
      const oursNs = measureOurs(runtime, bench, seconds);
      let kernelNs: number | undefined;
      let kernelNote: string | undefined;
      if (!kernel.ok) kernelNote = kernel.reason;
      else {
        try {
          kernelNs = measureKernel(bench, seconds);
        } catch (error) {
          kernelNote = (error as Error).message.split("\n")[0];
        }
      }
      return { name: bench.name, interpreterNs, oursNs, kernelNs, kernelNote };
    });
  } finally {
    runtime.dispose();
  }
}

export interface RoutineBenchRow {
  name: string;
  ns: number;
}

/** The native routines on their own (a generated loop calling each one), for where the time goes. */
export function measureNativeRoutines(seconds = 0.3): RoutineBenchRow[] {
  const runtime = NativeRuntime.create();
  const hash = ourMap(benchNamed("hash lookup"));
  const array = ourMap(benchNamed("array lookup"));
  const key = SharedMemory.shared(4096);
  try {
    new DataView(key.bytes().buffer, key.bytes().byteOffset).setUint32(0, 7, true);
    const routines: [string, string, bigint, bigint][] = [
      ["map_lookup_elem (hash, hit)", "map_lookup_elem", hash.memory.address, key.address],
      ["map_lookup_elem (array)", "map_lookup_elem", array.memory.address, key.address],
      ["ktime_get_ns (vDSO)", "ktime_get_ns", 0n, 0n],
      ["get_current_pid_tgid", "get_current_pid_tgid", 0n, 0n],
      ["get_smp_processor_id", "get_smp_processor_id", 0n, 0n],
    ];
    const rows = routines.map(([name, routine, a1, a2]) => {
      const loop = driverLoop(runtime.address(routine));
      try {
        const call = nativeFunction(loop.address, 3);
        return { name, ns: nsPerIteration(seconds, (n) => void call(a1, a2, BigInt(n))) };
      } finally {
        loop.free();
      }
    });
    // probe_read needs three arguments: time it inside a program (copying 8 bytes of its own stack), with
    // both ways of surviving bad addresses.
    const guarded = NativeRuntime.create({ faultGuard: "signal" });
    try {
      for (const [how, library] of [
        ["process_vm_readv", runtime],
        ["fault guard", guarded],
      ] as const) {
        const probe = JitProgram.compile(
          assemble(`
            stdw [%r10-16], 1
            mov %r1, %r10
            add %r1, -8
            mov %r2, 8
            mov %r3, %r10
            add %r3, -16
            call 4
            exit`),
          { helpers: library.helperAddresses },
        );
        try {
          rows.push({ name: `probe_read 8 bytes (${how}), in a program`, ns: nsPerIteration(seconds, (n) => void probe.runLoop(n)) });
        } finally {
          probe.dispose();
        }
      }
    } finally {
      guarded.dispose();
    }
    return rows;
  } finally {
    hash.memory.free();
    array.memory.free();
    key.free();
    runtime.dispose();
  }
}

/** Measures and prints both tables. */
export function printNativeMapBenchmarks(seconds = 0.5): void {
  const rows = measureNativeMaps(seconds);
  const empty = rows.find((r) => r.name === "empty program");
  const net = (ns: number | undefined, base: number | undefined): string => (ns === undefined || base === undefined ? "-" : (ns - base).toFixed(1));
  console.log("Map operations in programs: ns per run (interpreter; our JIT in a native loop; the kernel's JIT by BPF_PROG_TEST_RUN repeat),");
  console.log("and the same less the empty program's run (our call and prologue; the kernel's XDP test-run loop)");
  console.log(
    benchTable(
      ["program", "interpreter", "our JIT", "kernel JIT", "ours/kernel", "our JIT - empty", "kernel - empty"],
      rows.map((r) => [
        r.name,
        r.interpreterNs.toFixed(0),
        r.oursNs.toFixed(1),
        r.kernelNs === undefined ? "-" : r.kernelNs.toFixed(1),
        r.kernelNs === undefined ? "-" : (r.oursNs / r.kernelNs).toFixed(2),
        net(r.oursNs, empty?.oursNs),
        net(r.kernelNs, empty?.kernelNs),
      ]),
    ),
  );
  for (const r of rows) if (r.kernelNote) console.log(`${r.name}: kernel not measured: ${r.kernelNote}`);
  const hash = rows.find((r) => r.name === "hash lookup");
  if (hash) console.log(`hash map lookup: ${hash.oursNs.toFixed(1)} ns per run (target <= 15)`);
  console.log("\nNative routines on their own: ns per call");
  console.log(benchTable(["routine", "ns"], measureNativeRoutines().map((r) => [r.name, r.ns.toFixed(1)])));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) printNativeMapBenchmarks();
