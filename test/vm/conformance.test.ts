// The bpf_conformance suite on the reference interpreter: every test passes, every negative fails.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { ValidationError } from "../../src/isa/errors.js";
import type { Insn } from "../../src/isa/instruction.js";
import { registerTimeHelpers } from "../../src/helpers/time.js";
import { HelperRegistry } from "../../src/vm/helpers.js";
import { Interpreter } from "../../src/vm/interpreter.js";
import { conformanceDir, parseConformanceFile } from "../support/conformance-file.js";

const helpers = registerTimeHelpers(new HelperRegistry());

function dataFiles(folder: string): string[] {
  return readdirSync(join(conformanceDir(), folder))
    .filter((f) => f.endsWith(".data"))
    .sort();
}

function programOf(file: ReturnType<typeof parseConformanceFile>): Insn[] {
  if (file.raw) return file.raw;
  if (file.asm !== undefined) return assemble(file.asm);
  throw new Error("the file has neither -- asm nor -- raw");
}

test("every conformance test passes on the interpreter", () => {
  const files = dataFiles("tests");
  const failures: string[] = [];
  for (const name of files) {
    const file = parseConformanceFile(readFileSync(join(conformanceDir(), "tests", name), "utf8"));
    try {
      const r0 = new Interpreter(programOf(file), { helpers }).run(file.mem);
      if (r0 !== file.result) failures.push(`${name}: r0 = 0x${r0.toString(16)}, expected 0x${file.result?.toString(16)}`);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  console.log(`conformance: ${files.length - failures.length}/${files.length} passed on the interpreter`);
  assert.equal(files.length, 313);
  assert.deepEqual(failures, []);
});

type Outcome =
  | { stage: "assembler" | "validator" | "runtime"; message: string }
  | { stage: "ran"; r0: bigint };

/** What the runner + plugin pair does with one file: the runner assembles, the plugin validates and runs. */
function outcomeOf(text: string): Outcome {
  let program: Insn[];
  try {
    program = programOf(parseConformanceFile(text));
  } catch (error) {
    return { stage: "assembler", message: (error as Error).message };
  }
  try {
    return { stage: "ran", r0: new Interpreter(program, { helpers }).run(parseConformanceFile(text).mem) };
  } catch (error) {
    return { stage: error instanceof ValidationError ? "validator" : "runtime", message: (error as Error).message };
  }
}

test("every negative conformance test fails the way the suite intends", () => {
  const files = dataFiles("negative");
  const wrong: string[] = [];
  const counts = { assembler: 0, validator: 0, runtime: 0, ran: 0 };
  for (const name of files) {
    const text = readFileSync(join(conformanceDir(), "negative", name), "utf8");
    const outcome = outcomeOf(text);
    counts[outcome.stage]++;
    const expectedStage = name.startsWith("unused-") ? "validator" : name.startsWith("invalid_") ? "assembler" : undefined;
    if (expectedStage && outcome.stage !== expectedStage) {
      wrong.push(`${name}: expected the ${expectedStage} to reject it, got ${JSON.stringify(outcome, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
      continue;
    }
    // The runner's verdict: a file passes when the run matches its stated result or error. A negative must not pass.
    const file = (() => {
      try {
        return parseConformanceFile(text);
      } catch {
        return undefined;
      }
    })();
    const passes =
      file !== undefined &&
      (file.error !== undefined
        ? outcome.stage !== "ran" && outcome.stage !== "assembler" && outcome.message === file.error.trim()
        : outcome.stage === "ran" && file.result !== undefined && outcome.r0 === file.result);
    if (passes) wrong.push(`${name}: the run matches what the file states, so this negative test would pass`);
  }
  console.log(
    `negative: ${files.length - wrong.length}/${files.length} fail as intended (validator rejected ${counts.validator}, ` +
      `assembler rejected ${counts.assembler}, runtime error ${counts.runtime}, ran with a result other than stated ${counts.ran})`,
  );
  assert.equal(counts.validator, 45);
  assert.deepEqual(wrong, []);
});
