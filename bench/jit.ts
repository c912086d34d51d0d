// The JIT against the kernel's JIT, side by side in one run: each compute program runs on the reference
// interpreter, on our JIT (called n times by a generated native loop, so the FFI call is not measured)
// and on the kernel's JIT (BPF_PROG_TEST_RUN with repeat, its own per-run mean), and the table gives ns
// per run and ours/kernel. Also measures the JIT's compile time for a 1,000-instruction program.
//
// The kernel verifier cannot prove the original compute programs safe (loops of thousands of iterations,
// unchecked memory), so all three engines run a kernel-verifiable variant of each, the same eBPF on every
// engine: loop heads have a may_goto (in the interpreter, which lacks it, a never-taken `jeq r10, 0`
// stands in), and the input lives in an array-map value whose first 8 bytes hold the loop index: values
// loaded from a map are unknown to the verifier, so it checks the loop body once instead of per
// iteration. (For our engines the map-value lddw becomes "r1 stays the input pointer".) Those extra
// loads and stores make the memory programs slower than the originals on every engine alike.

import { pathToFileURL } from "node:url";
import { assemble } from "../src/isa/assembler.js";
import { insn, type Insn } from "../src/isa/instruction.js";
import * as op from "../src/isa/opcodes.js";
import { JitProgram } from "../src/jit/native-program.js";
import { OP_MAY_GOTO } from "../src/jit/x64/compiler/call-graph.js";
import { compileProgram } from "../src/jit/x64/compiler/compile.js";
import { wrapForTestRun, WRAPPER_OK } from "../src/kernel/wrap-64.js";
import { kernelBpfAvailable } from "../src/native/bpf-available.js";
import { BpfMapType } from "../src/native/bpf-constants.js";
import { closeFd, createMap, loadProgram, mapLookup, mapUpdate, testRun } from "../src/native/bpf-syscall.js";
import { ProgType } from "../src/object/section-names.js";
import { Interpreter } from "../src/vm/interpreter.js";
import { generateCase } from "../test/support/program-generator.js";
import { COMPUTE_PROGRAMS, STRCMP_BYTES } from "./compute-programs.js";
import { benchTable } from "./table.js";

/** Stands for `lddw r1, <the input map's value>` in the programs below. */
const INPUT_MARKER = 0x696e707574n;
/** The index slot at the start of the input map value; the data follows. */
const DATA = 8;

interface KernelComparable {
  name: string;
  asm: string;
  /** The input map value (index slot, data, padding), when the program reads memory. */
  memory?: Uint8Array;
  expected: bigint;
}

const original = (name: string) => COMPUTE_PROGRAMS.find((p) => p.name === name)!;

/** `may_goto out` at a loop head (see above). */
const MAY_GOTO = "jeq %r10, 0, out";

function withIndexSlot(data: Uint8Array): Uint8Array {
  const memory = new Uint8Array(DATA + data.length + 8);
  memory.set(data, DATA);
  return memory;
}

/** An input holding one u64, for a loop counter's start: a constant would let the verifier unroll the loop. */
function u64Input(value: bigint): Uint8Array {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, value, true);
  return withIndexSlot(data);
}

const loadCounter = `lddw %r1, ${INPUT_MARKER}\n    ldxdw %r1, [%r1+${DATA}]`;

const prime: KernelComparable = {
  name: "prime",
  asm: original("prime")
    .asm.replace(/mov %r1, 2/, loadCounter)
    .replace(/outer:/, `outer:\n    ${MAY_GOTO}`)
    .replace(/inner:/, `inner:\n    ${MAY_GOTO}`)
    .replace(/exit\s*$/, "out:\n    exit"),
  memory: u64Input(2n),
  expected: original("prime").expected,
};

const switchLoop: KernelComparable = {
  name: "switch",
  asm: original("switch").asm.replace(/mov %r1, 0/, loadCounter).replace(/loop:/, `loop:\n    ${MAY_GOTO}`).replace(/exit\s*$/, "out:\n    exit"),
  memory: u64Input(0n),
  expected: original("switch").expected,
};

const log2Data = original("log2").memory!;
const log2Steps = [32, 16, 8, 4, 2, 1]
  .map((bits) => `
    mov %r5, %r3
    rsh %r5, ${bits}
    jeq %r5, 0, skip${bits}
    add %r4, ${bits}
    rsh %r3, ${bits}
  skip${bits}:`)
  .join("");
const log2: KernelComparable = {
  name: "log2",
  asm: `
    lddw %r1, ${INPUT_MARKER}
    mov %r0, 0
    stdw [%r1], 0
  loop:
    ${MAY_GOTO}
    ldxdw %r6, [%r1]
    jge %r6, ${log2Data.length}, out
    mov %r7, %r1
    add %r7, %r6
    ldxdw %r3, [%r7+${DATA}]
    add %r6, 8
    stxdw [%r1], %r6
    mov %r4, 0${log2Steps}
    add %r0, %r4
    ja loop
  out:
    exit`,
  memory: withIndexSlot(log2Data),
  expected: original("log2").expected,
};

const copyData = original("byte-copy").memory!;
const half = copyData.length / 2;
const byteCopy: KernelComparable = {
  name: "byte-copy",
  asm: `
    lddw %r1, ${INPUT_MARKER}
    mov %r3, 0
    stdw [%r1], 0
  loop:
    ${MAY_GOTO}
    ldxdw %r6, [%r1]
    jge %r6, ${half}, out
    mov %r7, %r1
    add %r7, %r6
    ldxb %r3, [%r7+${DATA}]
    add %r7, ${half}
    stxb [%r7+${DATA}], %r3
    add %r6, 1
    stxdw [%r1], %r6
    ja loop
  out:
    mov %r0, %r3
    exit`,
  memory: withIndexSlot(copyData),
  expected: original("byte-copy").expected,
};

/** strcmp over the two strings of the input (see compute-programs.ts), the position kept in the index slot. */
function strcmpVariant(name: string): KernelComparable {
  return {
    name,
    asm: `
    lddw %r1, ${INPUT_MARKER}
    mov %r0, 0
    stdw [%r1], 0
  loop:
    ${MAY_GOTO}
    ldxdw %r6, [%r1]
    jge %r6, ${STRCMP_BYTES}, out
    mov %r7, %r1
    add %r7, %r6
    ldxb %r3, [%r7+${DATA}]
    ldxb %r4, [%r7+${DATA + STRCMP_BYTES}]
    jne %r3, %r4, differ
    jeq %r3, 0, out
    add %r6, 1
    stxdw [%r1], %r6
    ja loop
  differ:
    mov %r0, %r3
    sub %r0, %r4
  out:
    exit`,
    memory: withIndexSlot(original(name).memory!),
    expected: original(name).expected,
  };
}

const PROGRAMS: readonly KernelComparable[] = [prime, log2, byteCopy, strcmpVariant("strcmp-match"), strcmpVariant("strcmp-mismatch"), switchLoop];

const isMayGotoMarker = (ins: Insn): boolean => ins.code === (op.BPF_JMP | op.BPF_JEQ | op.BPF_K) && ins.dst === op.REG_FP && ins.imm === 0;
const isInputMarker = (program: readonly Insn[], i: number): boolean =>
  program[i]!.code === op.OP_LDDW && BigInt(program[i]!.imm >>> 0) + (BigInt(program[i + 1]!.imm >>> 0) << 32n) === INPUT_MARKER;

/** The program for the interpreter: markers kept, the input lddw replaced by two no-ops (r1 is the input). */
function forInterpreter(program: readonly Insn[]): Insn[] {
  return program.map((ins, i, all) => {
    if (isInputMarker(all, i)) return insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 1, 1);
    if (i > 0 && isInputMarker(all, i - 1)) return insn(op.OP_JA);
    return ins;
  });
}

/** The program for our JIT: as for the interpreter, with real may_goto instructions. */
function forJit(program: readonly Insn[]): Insn[] {
  return forInterpreter(program).map((ins) => (isMayGotoMarker(ins) ? insn(OP_MAY_GOTO, 0, 0, ins.off) : ins));
}

/** The program for the kernel: real may_goto, and the input lddw pointing at the map's value. */
function forKernel(program: readonly Insn[], mapFd: number | undefined): Insn[] {
  return program.map((ins, i, all) => {
    if (isMayGotoMarker(ins)) return insn(OP_MAY_GOTO, 0, 0, ins.off);
    if (isInputMarker(all, i)) return insn(op.OP_LDDW, 1, op.BPF_PSEUDO_MAP_VALUE, 0, mapFd ?? -1);
    if (i > 0 && isInputMarker(all, i - 1)) return insn(0);
    return ins;
  });
}

export interface JitBenchRow {
  name: string;
  interpreterNs: number;
  jitNs: number;
  /** Our JIT on the original program of compute-programs.ts (no may_goto, index in a register). */
  jitOriginalNs: number;
  /** Undefined when the kernel could not run it (see `kernelNote`). */
  kernelNs: number | undefined;
  kernelNote: string | undefined;
}

/** Runs `body(n)` with growing n until one call takes at least `seconds`; returns ns per iteration. */
function timeLoop(seconds: number, body: (n: number) => void): number {
  let n = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    body(n);
    const ns = Number(process.hrtime.bigint() - start);
    if (ns >= seconds * 1e9 || n >= 1 << 30) return ns / n;
    n = Math.max(n * 2, Math.ceil((n * seconds * 1e9 * 1.2) / Math.max(ns, 1)));
  }
}

function measureInterpreter(program: readonly Insn[], bench: KernelComparable, seconds: number): number {
  const vm = new Interpreter(program, { budget: 1e9 });
  return timeLoop(seconds, (n) => {
    for (let i = 0; i < n; i++) {
      const memory = bench.memory?.slice();
      if (vm.run(memory) !== bench.expected) throw new Error(`${bench.name}: the interpreter returned a wrong r0`);
    }
  });
}

function measureOurJit(program: readonly Insn[], bench: Pick<KernelComparable, "name" | "memory" | "expected">, seconds: number): number {
  const jit = JitProgram.compile(program, { validate: false });
  try {
    if (jit.runLoop(1, bench.memory) !== bench.expected) throw new Error(`${bench.name}: our JIT returned a wrong r0`);
    return timeLoop(seconds, (n) => {
      if (jit.runLoop(n, bench.memory) !== bench.expected) throw new Error(`${bench.name}: our JIT returned a wrong r0`);
    });
  } finally {
    jit.dispose();
  }
}

function measureKernel(program: readonly Insn[], bench: KernelComparable, seconds: number): number {
  const resultMap = createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "bench_r0" });
  const inputMap = bench.memory ? createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: bench.memory.length, maxEntries: 1, name: "bench_input" }) : undefined;
  const key = new Uint8Array(4);
  let progFd: number | undefined;
  try {
    if (inputMap !== undefined) mapUpdate(inputMap, key, bench.memory!);
    const insns = wrapForTestRun(forKernel(program, inputMap), { resultMapFd: resultMap });
    progFd = loadProgram({ type: ProgType.Xdp, insns, license: "GPL", name: `b_${bench.name.replace(/-/g, "_")}`.slice(0, 15) });
    const packet = new Uint8Array(64);
    const runs = (repeat: number): number => {
      const run = testRun({ progFd: progFd!, dataIn: packet, repeat });
      if (run.retval !== WRAPPER_OK) throw new Error(`${bench.name}: the kernel wrapper returned ${run.retval}`);
      const r0 = new DataView(mapLookup(resultMap, key, 8).buffer).getBigUint64(0, true);
      if (r0 !== bench.expected) throw new Error(`${bench.name}: the kernel returned r0 = ${r0}, expected ${bench.expected}`);
      return run.durationNs;
    };
    const once = Math.max(runs(1), 1);
    const repeat = Math.max(1, Math.min(1 << 24, Math.round((seconds * 1e9) / once)));
    return runs(repeat);
  } finally {
    if (progFd !== undefined) closeFd(progFd);
    if (inputMap !== undefined) closeFd(inputMap);
    closeFd(resultMap);
  }
}

/** Each compute program on the interpreter, our JIT and the kernel's JIT, about `seconds` per engine. */
export function measureJitPrograms(seconds = 0.5): JitBenchRow[] {
  const kernel = kernelBpfAvailable();
  return PROGRAMS.map((bench) => {
    const program = assemble(bench.asm);
    const interpreterNs = measureInterpreter(forInterpreter(program), bench, seconds);
    const jitNs = measureOurJit(forJit(program), bench, seconds);
    const jitOriginalNs = measureOurJit(assemble(original(bench.name).asm), original(bench.name), seconds);
    let kernelNs: number | undefined;
    let kernelNote: string | undefined;
    if (!kernel.ok) {
      kernelNote = kernel.reason;
    } else {
      try {
        kernelNs = measureKernel(program, bench, seconds);
      } catch (error) {
        kernelNote = (error as Error).message.split("\n")[0];
      }
    }
    return { name: bench.name, interpreterNs, jitNs, jitOriginalNs, kernelNs, kernelNote };
  });
}

export interface CompileTimeResult {
  slots: number;
  codeBytes: number;
  passes: number;
  /** Mean over warm compilations (V8 has optimised the compiler by then). */
  warmMs: number;
  /** The very first compilation in this process, compiler code still cold. */
  firstMs: number;
}

/** Compile time of a random ~1,000-instruction program (the differential generator's), compile only. */
export function measureCompileTime(): CompileTimeResult {
  const program = generateCase(1, { blocks: 720, kernelBugWorkarounds: false }).program;
  let start = performance.now();
  let compiled = compileProgram(program);
  const firstMs = performance.now() - start;
  for (let i = 0; i < 200; i++) compileProgram(program);
  const runs = 500;
  start = performance.now();
  for (let i = 0; i < runs; i++) compiled = compileProgram(program);
  return { slots: program.length, codeBytes: compiled.code.length, passes: compiled.passes, warmMs: (performance.now() - start) / runs, firstMs };
}

/** Measures and prints both tables. */
export function printJitBenchmarks(seconds = 0.5): void {
  const compile = measureCompileTime();
  console.log(
    `JIT compile time: ${compile.slots} instructions -> ${compile.codeBytes} bytes in ${compile.passes} passes: ` +
      `${compile.warmMs.toFixed(3)} ms warm, ${compile.firstMs.toFixed(1)} ms for the first compilation (target <= 2 ms)`,
  );
  const rows = measureJitPrograms(seconds);
  console.log("\nCompute programs (kernel-verifiable variants): ns per run");
  console.log(
    benchTable(
      ["program", "interpreter", "our JIT", "kernel JIT", "ours/kernel", "our JIT, original program"],
      rows.map((r) => [
        r.name,
        r.interpreterNs.toFixed(0),
        r.jitNs.toFixed(0),
        r.kernelNs === undefined ? "-" : r.kernelNs.toFixed(0),
        r.kernelNs === undefined ? "-" : (r.jitNs / r.kernelNs).toFixed(2),
        r.jitOriginalNs.toFixed(0),
      ]),
    ),
  );
  for (const r of rows) if (r.kernelNote) console.log(`${r.name}: kernel not measured: ${r.kernelNote}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) printJitBenchmarks();
