// Differential test against the outside oracle: thousands of random programs (the kernel differential
// test's generator, with its kernel-bug workarounds) must give the same 64-bit r0 in the kernel and in
// the JIT.

import assert from "node:assert/strict";
import { test } from "node:test";
import { JitProgram } from "../../src/jit/native-program.js";
import { KernelRunner } from "../../src/kernel/test-run-64.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { describeMismatch, differentialCase, FIRST_SEED, MISMATCHES_SHOWN, PROGRAMS, type Outcome } from "./differential-support.js";
import type { GeneratedCase } from "../support/program-generator.js";

const availability = kernelBpfAvailable();
/** A verifier rejection is a generator bug; allow at most this fraction (as the kernel differential test does). */
const MAX_REJECTED_FRACTION = 0.001;

test(`kernel and JIT agree on ${PROGRAMS} random programs`, { skip: availability.ok ? false : availability.reason }, (t) => {
  const runner = new KernelRunner();
  const mismatches: { testCase: GeneratedCase; results: Record<string, Outcome> }[] = [];
  let rejected = 0;
  const started = performance.now();
  try {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + PROGRAMS; seed++) {
      const testCase = differentialCase(seed);
      const kernel = runner.run(testCase.program, testCase.memory);
      if (!kernel.ok) {
        rejected++;
        continue;
      }
      let jit: Outcome;
      let compiled: JitProgram | undefined;
      try {
        compiled = JitProgram.compile(testCase.program);
        jit = compiled.run(testCase.memory?.slice());
      } catch (error) {
        jit = error as Error;
      } finally {
        compiled?.dispose();
      }
      if (jit !== kernel.r0) mismatches.push({ testCase, results: { kernel: kernel.r0, jit } });
    }
  } finally {
    runner.close();
  }
  t.diagnostic(
    `differential: ${PROGRAMS} programs (seeds ${FIRST_SEED}..${FIRST_SEED + PROGRAMS - 1}), ${PROGRAMS - rejected} run, ` +
      `${rejected} rejected by the verifier, ${mismatches.length} mismatches; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const { testCase, results } of mismatches.slice(0, MISMATCHES_SHOWN)) console.log(describeMismatch(testCase, results));
  assert.equal(mismatches.length, 0, `first seeds: ${mismatches.slice(0, 10).map((m) => m.testCase.seed).join(", ")}`);
  assert.ok(rejected <= PROGRAMS * MAX_REJECTED_FRACTION, `${rejected} generated programs were rejected by the verifier`);
});
