// The bpf_conformance suite on the JIT, unchecked (as verified programs run) and checked (as `vm exec
// --engine jit` runs them): every test's r0 must match.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import type { Insn } from "../../src/isa/instruction.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { constantFunction } from "../../src/jit/native-stubs.js";
import { conformanceFiles, parseConformanceFile, readConformanceFile, type ConformanceFile } from "../support/conformance-file.js";

/** Helper 5: `call_unwind_fail` and `callx` call it and then overwrite r0, so any returning function does. */
const helper5 = constantFunction(0n);
after(() => helper5.free());
const helpers = new Map([[5, helper5.address]]);

function programOf(file: ConformanceFile): Insn[] {
  if (file.raw) return file.raw;
  if (file.asm !== undefined) return assemble(file.asm);
  throw new Error("the file has neither -- asm nor -- raw");
}

for (const checked of [false, true]) {
  test(`every conformance test passes on the ${checked ? "checked" : "unchecked"} JIT`, () => {
    const files = conformanceFiles("tests");
    const failures: string[] = [];
    for (const name of files) {
      const file = parseConformanceFile(readConformanceFile("tests", name));
      let jit: JitProgram | undefined;
      try {
        jit = JitProgram.compile(programOf(file), { helpers, checked });
        const r0 = jit.run(file.mem?.slice());
        if (r0 !== file.result) failures.push(`${name}: r0 = 0x${r0.toString(16)}, expected 0x${file.result?.toString(16)}`);
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      } finally {
        jit?.dispose();
      }
    }
    console.log(`conformance: ${files.length - failures.length}/${files.length} passed on the ${checked ? "checked" : "unchecked"} JIT`);
    assert.equal(files.length, 313);
    assert.deepEqual(failures, []);
  });
}
