// `npm run bench`: every benchmark, printed as tables. Numbers are measured side by side in one run.

import { measureInterpreter } from "./interpreter.js";
import { measureRegisterRepresentations } from "./register-representation.js";

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const millions = (n: number): string => (n / 1e6).toFixed(1);

console.log("Register representation (dispatch loop of add/xor/shift/compare, M insn/s)");
console.log(
  table(
    ["representation", "M insn/s"],
    measureRegisterRepresentations().map((r) => [r.name, millions(r.instructionsPerSecond)]),
  ),
);

console.log("\nReference interpreter throughput");
const results = measureInterpreter();
console.log(
  table(
    ["program", "insns/run", "us/run", "M insn/s"],
    results.map((r) => [r.name, String(r.instructions), (r.nsPerRun / 1000).toFixed(1), millions(r.instructionsPerSecond)]),
  ),
);
const slowest = Math.min(...results.map((r) => r.instructionsPerSecond));
console.log(`\nslowest: ${millions(slowest)} M insn/s (target >= 50)`);
