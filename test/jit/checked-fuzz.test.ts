// Checked code contains every bad access exactly where the interpreter reports one: random programs
// start with a probe (a load, store or atomic through the input pointer or the frame pointer at a random
// offset, in or out of bounds), and the checked JIT must fault at the same instruction with the same
// kind of access, or run to the same r0.

import assert from "node:assert/strict";
import { test } from "node:test";
import { insn, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { JitProgram } from "../../src/jit/native-program.js";
import { VmError } from "../../src/vm/errors.js";
import { runProgram } from "../../src/vm/interpreter.js";
import { generateCase, Prng } from "../support/program-generator.js";

const CASES = Number(process.env["CHECKED_FUZZ_CASES"] ?? 3000);
const SIZES = [op.BPF_B, op.BPF_H, op.BPF_W, op.BPF_DW];

/** A memory access through r1 (input) or r10 (stack) at an offset near either edge of its region. */
function probe(rng: Prng, memoryLength: number): Insn {
  const size = rng.pick(SIZES);
  const bytes = op.sizeBytes(size);
  const viaStack = rng.chance(0.5);
  const base = viaStack ? op.REG_FP : 1;
  const edge = viaStack ? rng.pick([0, -op.STACK_FRAME_SIZE * op.MAX_CALL_DEPTH]) : rng.pick([0, memoryLength]);
  const off = edge + rng.between(-12, 12);
  switch (rng.below(4)) {
    case 0:
      return insn(op.BPF_LDX | op.BPF_MEM | size, 3, base, off);
    case 1:
      return insn(op.BPF_ST | op.BPF_MEM | size, base, 0, off, rng.u32() | 0);
    case 2:
      return insn(op.BPF_STX | op.BPF_MEM | size, base, 4, off);
    default:
      return bytes >= 4 ? insn(op.BPF_STX | op.BPF_ATOMIC | (bytes === 8 ? op.BPF_DW : op.BPF_W), base, 4, off, op.BPF_ADD | op.BPF_FETCH) : insn(op.BPF_LDX | op.BPF_MEMSX | size, 3, base, off);
  }
}

type Outcome = { r0: bigint } | { pc: number | undefined; what: string };

function outcome(run: () => bigint): Outcome {
  try {
    return { r0: run() };
  } catch (error) {
    if (!(error instanceof VmError)) throw error;
    return { pc: error.pc, what: /^instruction \d+: (read|write)/.exec(error.message)?.[1] ?? error.message };
  }
}

test(`checked JIT faults exactly where the interpreter does (${CASES} probed programs)`, () => {
  const wrong: string[] = [];
  let faults = 0;
  for (let seed = 1; seed <= CASES; seed++) {
    const rng = new Prng(seed * 7919);
    const memoryLength = rng.between(1, 40);
    const generated = generateCase(seed, { memoryLength, blocks: 4, kernelBugWorkarounds: false });
    // Jumps in the generated program are relative, so a probe in front changes none of them.
    const program = [probe(rng, memoryLength), ...generated.program];
    const expected = outcome(() => runProgram(program, generated.memory!.slice()));
    const jit = JitProgram.compile(program, { checked: true });
    let actual: Outcome;
    try {
      actual = outcome(() => jit.run(generated.memory!.slice()));
    } finally {
      jit.dispose();
    }
    if ("pc" in expected) faults++;
    if (JSON.stringify(actual, (_, v) => (typeof v === "bigint" ? v.toString() : v)) !== JSON.stringify(expected, (_, v) => (typeof v === "bigint" ? v.toString() : v))) {
      wrong.push(`seed ${seed}: interpreter ${JSON.stringify(expected, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}, jit ${JSON.stringify(actual, (_, v) => (typeof v === "bigint" ? v.toString(16) : v))}`);
    }
  }
  console.log(`checked fuzz: ${CASES} programs, ${faults} faulting probes, ${wrong.length} disagreements`);
  assert.ok(faults > CASES / 10 && faults < CASES - CASES / 10, `probes should fault sometimes, not always (${faults})`);
  assert.deepEqual(wrong.slice(0, 10), []);
});
