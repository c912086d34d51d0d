// Interpreter throughput in eBPF instructions per second on the compute programs.

import { assemble } from "../src/isa/assembler.js";
import { Interpreter } from "../src/vm/interpreter.js";
import { COMPUTE_PROGRAMS } from "./compute-programs.js";

export interface InterpreterResult {
  name: string;
  instructions: number;
  nsPerRun: number;
  instructionsPerSecond: number;
}

/** Runs each program repeatedly for about `seconds` after a warm-up; checks every result. */
export function measureInterpreter(seconds = 1): InterpreterResult[] {
  return COMPUTE_PROGRAMS.map((program) => {
    const vm = new Interpreter(assemble(program.asm), { budget: 1e9 });
    const runOnce = (): void => {
      const r0 = vm.run(program.memory);
      if (r0 !== program.expected) throw new Error(`${program.name} returned ${r0}, expected ${program.expected}`);
    };
    const warmUpUntil = performance.now() + 200;
    while (performance.now() < warmUpUntil) runOnce();
    let runs = 0;
    const start = process.hrtime.bigint();
    const deadline = performance.now() + seconds * 1000;
    do {
      runOnce();
      runs++;
    } while (performance.now() < deadline);
    const ns = Number(process.hrtime.bigint() - start);
    const instructions = vm.instructionsExecuted;
    return {
      name: program.name,
      instructions,
      nsPerRun: ns / runs,
      instructionsPerSecond: (instructions * runs * 1e9) / ns,
    };
  });
}
