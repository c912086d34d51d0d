// Helper calls reach the right helper after jump sizing shrinks the code (the table moves with it).

import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { constantFunction } from "../../src/jit/native-stubs.js";
import { JitProgram } from "../../src/jit/native-program.js";

test("each helper id calls its own helper, also when short jumps move the helper table", () => {
  const stubs = [1, 2, 3, 14].map((id) => [id, constantFunction(BigInt(id) * 1000n)] as const);
  try {
    const helpers = new Map(stubs.map(([id, region]) => [id, region.address]));
    // Forward jumps that shrink from rel32 to rel8 between the passes, around calls of several ids.
    const program = assemble(`
      call 14
      mov %r6, %r0
      jeq %r6, 0, skip1
      call 1
      add %r6, %r0
    skip1:
      jeq %r6, 0, skip2
      call 2
      add %r6, %r0
    skip2:
      jeq %r6, 0, skip3
      call 3
      add %r6, %r0
    skip3:
      mov %r0, %r6
      exit`);
    const jit = JitProgram.compile(program, { helpers });
    assert.equal(jit.runWithArgs(0n, 0n), 14000n + 1000n + 2000n + 3000n);
    jit.dispose();
  } finally {
    for (const [, region] of stubs) region.free();
  }
});
