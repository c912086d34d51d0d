// The bpf_conformance suite through the kernel oracle: the cross-check that the oracle itself (the XDP
// wrapper, the memory prolog, the 64-bit result map) gives the results the suite expects. The kernel
// refuses 13 tests by design: constant shifts outside 0..width-1, and callx, which it does not know.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { KernelRunner } from "../../src/kernel/test-run-64.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { conformanceDir, parseConformanceFile } from "../support/conformance-file.js";

const availability = kernelBpfAvailable();
const skip = availability.ok ? false : availability.reason;

const KERNEL_REFUSES: ReadonlyMap<string, RegExp> = new Map([
  ...["arsh", "lsh", "rsh"].flatMap((shift) =>
    ["32", "64"].flatMap((width) => ["high", "neg"].map((kind) => [`${shift}${width}-imm-${kind}.data`, /invalid shift -?\d+/] as const)),
  ),
  ["callx.data", /unknown opcode 8d/],
]);

function dataFiles(folder: string, prefix = ""): string[] {
  return readdirSync(join(conformanceDir(), folder))
    .filter((name) => name.endsWith(".data") && name.startsWith(prefix))
    .sort();
}

function read(folder: string, name: string): ReturnType<typeof parseConformanceFile> {
  return parseConformanceFile(readFileSync(join(conformanceDir(), folder, name), "utf8"));
}

test("the conformance suite through the kernel: 300 pass, 13 refused by the verifier for known reasons", { skip }, (t) => {
  const runner = new KernelRunner();
  const wrong: string[] = [];
  const refused = new Map<string, string>();
  let passed = 0;
  const files = dataFiles("tests");
  try {
    for (const name of files) {
      const file = read("tests", name);
      const program = file.raw ?? assemble(file.asm ?? "");
      const result = runner.run(program, file.mem);
      if (!result.ok) refused.set(name, result.log);
      else if (result.r0 === file.result) passed++;
      else wrong.push(`${name}: kernel r0 = 0x${result.r0.toString(16)}, expected 0x${file.result?.toString(16)}`);
    }
  } finally {
    runner.close();
  }
  t.diagnostic(`conformance through the kernel: ${passed} passed, ${wrong.length} wrong, ${refused.size} refused of ${files.length}`);
  assert.equal(files.length, 313);
  assert.deepEqual(wrong, []);
  assert.deepEqual([...refused.keys()].sort(), [...KERNEL_REFUSES.keys()].sort());
  for (const [name, log] of refused) assert.match(log, KERNEL_REFUSES.get(name)!, name);
  assert.equal(passed, 300);
});

test("the kernel rejects every negative/unused-* program (a non-zero unused field)", { skip }, () => {
  const runner = new KernelRunner();
  const accepted: string[] = [];
  const files = dataFiles("negative", "unused-");
  try {
    for (const name of files) {
      const file = read("negative", name);
      assert.ok(file.raw, `${name} has no -- raw section`);
      if (runner.run(file.raw, file.mem).ok) accepted.push(name);
    }
  } finally {
    runner.close();
  }
  assert.equal(files.length, 45);
  assert.deepEqual(accepted, []);
});
