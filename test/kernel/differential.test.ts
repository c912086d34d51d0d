// Differential test: thousands of random programs run in the kernel (the outside oracle) and in the
// reference interpreter must give the same 64-bit r0. A mismatch prints everything needed to replay it:
// the seed, the program as hex and as assembly, the memory, and both results.

import assert from "node:assert/strict";
import { test } from "node:test";
import { disassemble } from "../../src/isa/disassembler.js";
import { encodeProgram, formatHexBytes, type Insn } from "../../src/isa/instruction.js";
import { KernelRunner } from "../../src/kernel/test-run-64.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { runProgram } from "../../src/vm/interpreter.js";
import { generateCase, Prng, type GeneratedCase } from "../support/program-generator.js";

const availability = kernelBpfAvailable();

/** Overridable to run a longer campaign or replay another range: DIFFERENTIAL_PROGRAMS, DIFFERENTIAL_SEED. */
const PROGRAMS = Number(process.env["DIFFERENTIAL_PROGRAMS"] ?? 10_000);
const FIRST_SEED = Number(process.env["DIFFERENTIAL_SEED"] ?? 1);
/** A verifier rejection is a generator bug; allow at most this fraction before failing. */
const MAX_REJECTED_FRACTION = 0.001;
const MISMATCHES_SHOWN = 5;

/**
 * Half the cases get input memory: their registers start from bytes the verifier cannot know, so it has
 * to explore both sides of branches (and the kernel's packet path is exercised); the other half are pure
 * constant arithmetic.
 */
function differentialCase(seed: number): GeneratedCase {
  if (seed % 2 === 0) return generateCase(seed);
  return generateCase(seed, { memoryLength: new Prng(seed ^ 0x6d656d).between(1, 64) });
}

interface Mismatch {
  testCase: GeneratedCase;
  kernel: bigint;
  interpreter: bigint | Error;
}

function describeMismatch({ testCase, kernel, interpreter }: Mismatch): string {
  const interpreted = typeof interpreter === "bigint" ? `0x${interpreter.toString(16)}` : `error: ${interpreter.message}`;
  return [
    `seed ${testCase.seed}: kernel r0 = 0x${kernel.toString(16)}, interpreter r0 = ${interpreted}`,
    testCase.memory ? `memory (${testCase.memory.length} bytes): ${formatHexBytes(testCase.memory)}` : "no memory",
    `program (${testCase.program.length} slots): ${formatHexBytes(encodeProgram(testCase.program))}`,
    disassembly(testCase.program),
  ].join("\n");
}

/** The listing; a report must never fail for want of one. */
function disassembly(program: readonly Insn[]): string {
  try {
    return disassemble(program);
  } catch (error) {
    return `(no disassembly: ${(error as Error).message})`;
  }
}

test(`kernel and interpreter agree on ${PROGRAMS} random programs`, { skip: availability.ok ? false : availability.reason }, (t) => {
  const runner = new KernelRunner();
  const rejected: { seed: number; log: string }[] = [];
  const mismatches: Mismatch[] = [];
  let kernelMs = 0;
  let interpreterMs = 0;
  const started = performance.now();
  try {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + PROGRAMS; seed++) {
      const testCase = differentialCase(seed);
      const kernelStart = performance.now();
      const kernel = runner.run(testCase.program, testCase.memory);
      kernelMs += performance.now() - kernelStart;
      if (!kernel.ok) {
        rejected.push({ seed, log: kernel.log });
        continue;
      }
      const interpreterStart = performance.now();
      let interpreter: bigint | Error;
      try {
        interpreter = runProgram(testCase.program, testCase.memory?.slice());
      } catch (error) {
        interpreter = error as Error;
      }
      interpreterMs += performance.now() - interpreterStart;
      if (interpreter !== kernel.r0) mismatches.push({ testCase, kernel: kernel.r0, interpreter });
    }
  } finally {
    runner.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const summary =
    `differential: ${PROGRAMS} programs (seeds ${FIRST_SEED}..${FIRST_SEED + PROGRAMS - 1}), ` +
    `${PROGRAMS - rejected.length} run, ${rejected.length} rejected by the verifier, ${mismatches.length} mismatches; ` +
    `${seconds.toFixed(1)} s (kernel ${(kernelMs / 1000).toFixed(1)} s = ${Math.round(PROGRAMS / (kernelMs / 1000))} programs/s, ` +
    `interpreter ${(interpreterMs / 1000).toFixed(1)} s)`;
  t.diagnostic(summary);

  for (const mismatch of mismatches.slice(0, MISMATCHES_SHOWN)) console.log(describeMismatch(mismatch));
  for (const { seed, log } of rejected.slice(0, MISMATCHES_SHOWN)) console.log(`seed ${seed} rejected:\n${log.split("\n").slice(-8).join("\n")}`);

  assert.equal(mismatches.length, 0, `${mismatches.length} mismatches, first seeds: ${mismatches.slice(0, 10).map((m) => m.testCase.seed).join(", ")}`);
  assert.ok(
    rejected.length <= PROGRAMS * MAX_REJECTED_FRACTION,
    `${rejected.length} generated programs were rejected by the verifier (seeds ${rejected.slice(0, 10).map((r) => r.seed).join(", ")}): a generator bug`,
  );
});

/**
 * Seeds (memory length 32) whose programs, without the generator's kernel-bug workarounds, hit the two
 * bugs described in the reference notes on Linux 6.18: a fetching atomic on a stack slot with a known
 * constant (pruning), and a 32-bit cmpxchg leaving r0's upper half set.
 */
const KERNEL_BUG_SEEDS: readonly { seed: number; bug: string }[] = [
  { seed: 3047872, bug: "fetching atomic on a known stack constant" },
  { seed: 3013148, bug: "32-bit cmpxchg without zero-extension of r0" },
];

test("the generator's workarounds keep programs that hit known kernel bugs in agreement", { skip: availability.ok ? false : availability.reason }, (t) => {
  const runner = new KernelRunner();
  try {
    for (const { seed, bug } of KERNEL_BUG_SEEDS) {
      const memory = generateCase(seed, { memoryLength: 32 }).memory;
      const guarded = generateCase(seed, { memoryLength: 32 }).program;
      const kernel = runner.run(guarded, memory);
      assert.ok(kernel.ok, `seed ${seed} was rejected`);
      assert.equal(kernel.r0, runProgram(guarded, memory?.slice()), `seed ${seed} (${bug}) disagrees even with the workarounds`);
      // Without the workarounds the kernel gets these wrong; a kernel where it no longer does is reported,
      // not failed: the bug being fixed is no fault of ours.
      const bare = generateCase(seed, { memoryLength: 32, kernelBugWorkarounds: false }).program;
      const bareKernel = runner.run(bare, memory);
      const stillBuggy = bareKernel.ok && bareKernel.r0 !== runProgram(bare, memory?.slice());
      t.diagnostic(`seed ${seed}: kernel bug "${bug}" ${stillBuggy ? "still present" : "not reproduced"} on this kernel`);
    }
  } finally {
    runner.close();
  }
});
