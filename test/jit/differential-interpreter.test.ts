// Differential test without a kernel: the reference interpreter and the JIT (unchecked and checked) must
// give the same r0 and leave the input memory the same on thousands of random programs.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Insn } from "../../src/isa/instruction.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { runProgram } from "../../src/vm/interpreter.js";
import { describeMismatch, differentialCase, FIRST_SEED, MISMATCHES_SHOWN, PROGRAMS, type Outcome } from "./differential-support.js";
import type { GeneratedCase } from "../support/program-generator.js";

function interpret(program: readonly Insn[], memory: Uint8Array | undefined): Outcome {
  try {
    return runProgram(program, memory);
  } catch (error) {
    return error as Error;
  }
}

function jit(program: readonly Insn[], memory: Uint8Array | undefined, checked: boolean): Outcome {
  let compiled: JitProgram | undefined;
  try {
    compiled = JitProgram.compile(program, { checked });
    return compiled.run(memory);
  } catch (error) {
    return error as Error;
  } finally {
    compiled?.dispose();
  }
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Buffer.from(a).equals(Buffer.from(b));

test(`interpreter and JIT agree on ${PROGRAMS} random programs`, (t) => {
  const mismatches: { testCase: GeneratedCase; results: Record<string, Outcome> }[] = [];
  let errors = 0;
  const started = performance.now();
  for (let seed = FIRST_SEED; seed < FIRST_SEED + PROGRAMS; seed++) {
    const testCase = differentialCase(seed, { kernelBugWorkarounds: false });
    const interpreterMemory = testCase.memory?.slice();
    const interpreter = interpret(testCase.program, interpreterMemory);
    const jitMemory = testCase.memory?.slice();
    const unchecked = jit(testCase.program, jitMemory, false);
    // Checked code is a different translation of every memory access; a quarter of the seeds suffice.
    const checkedMemory = testCase.memory?.slice();
    const checked = seed % 4 === 0 ? jit(testCase.program, checkedMemory, true) : unchecked;
    if (typeof interpreter !== "bigint") errors++;
    const agree =
      typeof interpreter === "bigint" &&
      unchecked === interpreter &&
      checked === interpreter &&
      sameBytes(interpreterMemory, jitMemory) &&
      (seed % 4 !== 0 || sameBytes(interpreterMemory, checkedMemory));
    if (!agree) mismatches.push({ testCase, results: { interpreter, jit: unchecked, "checked jit": checked } });
  }
  t.diagnostic(
    `differential: ${PROGRAMS} programs (seeds ${FIRST_SEED}..${FIRST_SEED + PROGRAMS - 1}), ${mismatches.length} mismatches ` +
      `(${errors} interpreter errors); ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const { testCase, results } of mismatches.slice(0, MISMATCHES_SHOWN)) console.log(describeMismatch(testCase, results));
  assert.equal(mismatches.length, 0, `first seeds: ${mismatches.slice(0, 10).map((m) => m.testCase.seed).join(", ")}`);
});
