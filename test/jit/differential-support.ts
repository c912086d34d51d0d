// Shared by the JIT's differential tests: the random cases (the kernel differential test's mix) and a
// mismatch report with everything needed to replay one.

import { disassemble } from "../../src/isa/disassembler.js";
import { encodeProgram, formatHexBytes, type Insn } from "../../src/isa/instruction.js";
import { generateCase, Prng, type GeneratedCase, type GeneratorOptions } from "../support/program-generator.js";

/** Overridable to run a longer campaign or replay another range: DIFFERENTIAL_PROGRAMS, DIFFERENTIAL_SEED. */
export const PROGRAMS = Number(process.env["DIFFERENTIAL_PROGRAMS"] ?? 10_000);
export const FIRST_SEED = Number(process.env["DIFFERENTIAL_SEED"] ?? 1);
export const MISMATCHES_SHOWN = 5;

/** Half the cases read input memory, half are pure constant arithmetic (as in the kernel differential test). */
export function differentialCase(seed: number, options: GeneratorOptions = {}): GeneratedCase {
  if (seed % 2 === 0) return generateCase(seed, options);
  return generateCase(seed, { ...options, memoryLength: new Prng(seed ^ 0x6d656d).between(1, 64) });
}

export type Outcome = bigint | Error;

export const describeOutcome = (outcome: Outcome): string =>
  typeof outcome === "bigint" ? `0x${outcome.toString(16)}` : `error: ${outcome.message}`;

export function describeMismatch(testCase: GeneratedCase, results: Readonly<Record<string, Outcome>>): string {
  return [
    `seed ${testCase.seed}: ${Object.entries(results).map(([engine, outcome]) => `${engine} r0 = ${describeOutcome(outcome)}`).join(", ")}`,
    testCase.memory ? `memory (${testCase.memory.length} bytes): ${formatHexBytes(testCase.memory)}` : "no memory",
    `program (${testCase.program.length} slots): ${formatHexBytes(encodeProgram(testCase.program))}`,
    disassembly(testCase.program),
  ].join("\n");
}

function disassembly(program: readonly Insn[]): string {
  try {
    return disassemble(program);
  } catch (error) {
    return `(no disassembly: ${(error as Error).message})`;
  }
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (typeof a === "bigint" || typeof b === "bigint") return a === b;
  return true;
}
