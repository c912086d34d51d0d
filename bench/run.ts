// `npm run bench`: every benchmark, printed as tables. Numbers are measured side by side in one run.

import { measureInterpreter } from "./interpreter.js";
import { printJitBenchmarks } from "./jit.js";
import { printNativeMapBenchmarks } from "./native-maps.js";
import { printUprobeBenchmarks } from "./uprobe.js";
import { measureRegisterRepresentations } from "./register-representation.js";
import { benchTable } from "./table.js";

const millions = (n: number): string => (n / 1e6).toFixed(1);

console.log("Register representation (dispatch loop of add/xor/shift/compare, M insn/s)");
console.log(
  benchTable(
    ["representation", "M insn/s"],
    measureRegisterRepresentations().map((r) => [r.name, millions(r.instructionsPerSecond)]),
  ),
);

console.log("\nReference interpreter throughput");
const results = measureInterpreter();
console.log(
  benchTable(
    ["program", "insns/run", "us/run", "M insn/s"],
    results.map((r) => [r.name, String(r.instructions), (r.nsPerRun / 1000).toFixed(1), millions(r.instructionsPerSecond)]),
  ),
);
const slowest = Math.min(...results.map((r) => r.instructionsPerSecond));
console.log(`\nslowest: ${millions(slowest)} M insn/s (target >= 50)`);

console.log("");
printJitBenchmarks();

console.log("");
printNativeMapBenchmarks();

console.log("");
await printUprobeBenchmarks();
