// `bpftime vm exec`: the bpf_conformance plugin protocol. The program arrives as hex text on stdin, input
// memory as an optional hex argument; r0 goes to stdout in hex. --batch runs one program per stdin line
// in one process so that thousands of programs cost one start-up.

import { decodeProgram, parseHexBytes } from "../isa/instruction.js";
import { registerTimeHelpers } from "../helpers/time.js";
import { HelperRegistry } from "../vm/helpers.js";
import { Interpreter, DEFAULT_BUDGET } from "../vm/interpreter.js";
import { JitProgram } from "../jit/native-program.js";
import { standInHelpers } from "../jit/native-stubs.js";
import { parseCommandLine, UsageError } from "./errors.js";
import { readStdin } from "./stdin.js";

export const VM_EXEC_USAGE = `usage: bpftime vm exec [--engine interp|jit] [--budget N] [--batch] [MEMORY_HEX]

Reads an eBPF program as hex text on stdin and runs it with r1 = MEMORY, r2 = its length.
Prints r0 in hex and exits 0; on a rejected program or a fault prints one line on stderr and exits 1.
  --engine E   execution engine: interp (the reference interpreter) or jit (native x86-64 code,
               bounds-checked; its only helper is a stand-in for helper 5 that returns 0)
  --budget N   most instructions one run may execute (default ${DEFAULT_BUDGET})
  --batch      one program per stdin line (optionally "PROGRAM_HEX | MEMORY_HEX"); one result per
               stdout line, "error: <message>" for a failure; exits 0 once all lines are done`;

const ENGINES = ["interp", "jit"] as const;
type Engine = (typeof ENGINES)[number];

interface ExecOptions {
  engine: Engine;
  budget: number;
  helpers: HelperRegistry;
}

export async function vmExec(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      engine: { type: "string", default: "interp" },
      budget: { type: "string" },
      batch: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(VM_EXEC_USAGE + "\n");
    return 0;
  }
  const engine = ENGINES.find((name) => name === values.engine);
  if (engine === undefined) {
    throw new UsageError(`unknown engine '${values.engine}' (available: ${ENGINES.join(", ")})`);
  }
  const budget = values.budget === undefined ? DEFAULT_BUDGET : Number(values.budget);
  if (!Number.isSafeInteger(budget) || budget <= 0) throw new UsageError(`--budget must be a positive integer, got '${values.budget}'`);
  // bpf_conformance passes plugin options after the memory argument; only the first positional is memory.
  const memoryHex = positionals[0];
  const options: ExecOptions = { engine, budget, helpers: registerTimeHelpers(new HelperRegistry()) };
  const input = await readStdin();
  if (values.batch) return runBatch(input, memoryHex, options);
  try {
    process.stdout.write(execOne(input, memoryHex, options) + "\n");
    return 0;
  } catch (error) {
    process.stderr.write(oneLine(error) + "\n");
    return 1;
  }
}

function runBatch(input: string, memoryHex: string | undefined, options: ExecOptions): number {
  const out: string[] = [];
  for (const line of input.split("\n")) {
    if (line.trim() === "") continue;
    const bar = line.indexOf("|");
    const programHex = bar < 0 ? line : line.slice(0, bar);
    const lineMemory = bar < 0 ? memoryHex : line.slice(bar + 1);
    try {
      out.push(execOne(programHex, lineMemory, options));
    } catch (error) {
      out.push("error: " + oneLine(error));
    }
  }
  process.stdout.write(out.length ? out.join("\n") + "\n" : "");
  return 0;
}

function execOne(programHex: string, memoryHex: string | undefined, options: ExecOptions): string {
  const program = decodeProgram(parseHexBytes(programHex));
  const memory = memoryHex === undefined ? undefined : parseHexBytes(memoryHex);
  if (options.engine === "jit") return execJit(program, memory, options.budget);
  const vm = new Interpreter(program, { helpers: options.helpers, budget: options.budget });
  return vm.run(memory).toString(16);
}

/** Checked code: a bad access or an endless loop ends the run with an error, never the process. */
function execJit(program: ReturnType<typeof decodeProgram>, memory: Uint8Array | undefined, budget: number): string {
  const jit = JitProgram.compile(program, { helpers: standInHelpers(), checked: true, budget });
  try {
    return jit.run(memory).toString(16);
  } finally {
    jit.dispose();
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ");
}
