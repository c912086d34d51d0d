// `bpftime test-run`: the userspace BPF_PROG_TEST_RUN. Runs one program of an object in this process and
// prints r0, the average time per run, trace output and (optionally) the maps afterwards.

import { parseHexBytes } from "../isa/instruction.js";
import { formatTraceLine } from "../helpers/trace.js";
import { readObjectFile } from "../object/object-file.js";
import { withVariables, type VariableValue } from "../object/variables.js";
import type { TraceRecord } from "../helpers/trace.js";
import type { ObjectSpec } from "../object/spec.js";
import { InterpretedObject } from "../runtime/interpreted-object.js";
import { JitObject } from "../runtime/jit-object.js";
import type { LiveMap } from "../runtime/object-maps.js";
import { dumpMapJson, dumpMapText } from "./map-dump.js";
import { parseCommandLine, UsageError } from "./errors.js";

export const TEST_RUN_USAGE = `usage: bpftime test-run OBJ --prog NAME [--data HEX | --ctx HEX] [--repeat N] [--set VAR=VALUE]... [--dump-maps] [--json] [--btf FILE] [--engine interpreter|jit]

Runs program NAME of a BPF object in this process, like the kernel's BPF_PROG_TEST_RUN.
  --data HEX    input bytes: r1 = pointer to them, r2 = their length
  --ctx HEX     context bytes: r1 = pointer to them (e.g. a struct pt_regs for a uprobe program)
                (neither: r1 points to 512 zero bytes)
  --repeat N    run N times and report the average time per run (default 1)
  --set V=X     set global variable V (e.g. a const volatile in .rodata) to the integer X before load
  --dump-maps   print every map after the runs, BTF-formatted like bpftool map dump
  --json        one JSON object: retval (decimal string), avg_ns, runs, traces, and maps with --dump-maps
  --btf FILE    resolve CO-RE against FILE instead of /sys/kernel/btf/vmlinux
  --engine E    interpreter (default) or jit: x86-64 code with native maps and helpers, run in-process
                (unchecked, like the kernel's JIT: only for programs that are safe to run)`;

const DEFAULT_CONTEXT_SIZE = 512;

export async function testRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      prog: { type: "string" },
      data: { type: "string" },
      ctx: { type: "string" },
      repeat: { type: "string", default: "1" },
      set: { type: "string", multiple: true, default: [] },
      "dump-maps": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      btf: { type: "string" },
      engine: { type: "string", default: "interpreter" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(TEST_RUN_USAGE + "\n");
    return 0;
  }
  const path = positionals[0];
  if (path === undefined || positionals.length > 1) throw new UsageError(`expected one object file\n${TEST_RUN_USAGE}`);
  if (values.prog === undefined) throw new UsageError(`--prog NAME is required\n${TEST_RUN_USAGE}`);
  if (values.data !== undefined && values.ctx !== undefined) throw new UsageError("--data and --ctx cannot be used together");
  const repeat = Number(values.repeat);
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new UsageError(`--repeat must be a positive integer, got '${values.repeat}'`);

  if (values.engine !== "interpreter" && values.engine !== "jit") throw new UsageError(`--engine must be interpreter or jit, got '${values.engine}'`);

  const object = readObjectFile(path);
  const spec = withVariables(object.spec, parseAssignments(values.set));
  const options = values.btf === undefined ? {} : { btf: values.btf };
  const live = values.engine === "jit" ? jitEngine(new JitObject(spec, options)) : interpreterEngine(new InterpretedObject(spec, options));
  try {
    return report(live, spec, values.prog, { data: values.data, ctx: values.ctx, repeat, json: values.json, dumpMaps: values["dump-maps"] });
  } finally {
    live.dispose();
  }
}

/** What test-run needs of an engine. */
interface TestRunEngine {
  readonly maps: readonly LiveMap[];
  /** Throws for an unknown program name. */
  program(name: string): unknown;
  /** Input bytes programs can reach, and their address. */
  input(bytes: Uint8Array, writable: boolean): bigint;
  run(name: string, args: readonly bigint[]): bigint;
  /** trace_printk records of the runs so far. */
  traces(): readonly TraceRecord[];
  dispose(): void;
}

function interpreterEngine(live: InterpretedObject): TestRunEngine {
  return {
    maps: live.maps,
    program: (name) => live.program(name),
    input: (bytes, writable) => live.memory.add(writable ? "--data" : "--ctx", bytes, writable),
    run: (name, args) => live.run(name, args[0]!, args.slice(1)),
    traces: () => live.traces,
    dispose: () => undefined,
  };
}

function jitEngine(live: JitObject): TestRunEngine {
  const traces: TraceRecord[] = [];
  return {
    maps: live.maps,
    program: (name) => live.program(name),
    input: (bytes) => live.place(bytes),
    run: (name, args) => live.run(name, args[0], args[1]),
    traces: () => {
      traces.push(...live.traces());
      return traces;
    },
    dispose: () => live.dispose(),
  };
}

interface RunRequest {
  data: string | undefined;
  ctx: string | undefined;
  repeat: number;
  json: boolean;
  dumpMaps: boolean;
}

function report(live: TestRunEngine, spec: ObjectSpec, prog: string, request: RunRequest): number {
  const { repeat } = request;
  live.program(prog); // a clear error for an unknown name before anything runs
  const args: bigint[] = [];
  if (request.data !== undefined) {
    const data = parseHexBytes(request.data);
    args.push(live.input(data, true), BigInt(data.length));
  } else {
    const context = request.ctx !== undefined ? parseHexBytes(request.ctx) : new Uint8Array(DEFAULT_CONTEXT_SIZE);
    args.push(live.input(context, false));
  }

  let retval = 0n;
  const started = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) retval = live.run(prog, args);
  const avgNs = Number(process.hrtime.bigint() - started) / repeat;
  const traces = live.traces();

  if (request.json) {
    const out: Record<string, unknown> = {
      retval: retval.toString(),
      avg_ns: Math.round(avgNs),
      runs: repeat,
      traces: traces.map((t) => ({ pid: t.pid, tid: t.tid, comm: t.comm, text: t.text })),
    };
    if (request.dumpMaps) out["maps"] = live.maps.map((m) => dumpMapJson(spec, m));
    process.stdout.write(JSON.stringify(out) + "\n");
    return 0;
  }
  const lines: string[] = [];
  for (const record of traces) lines.push(formatTraceLine(record));
  lines.push(`retval: ${retval} (0x${retval.toString(16)})`, `avg: ${Math.round(avgNs)} ns per run over ${repeat} run${repeat === 1 ? "" : "s"}`);
  if (request.dumpMaps) for (const m of live.maps) lines.push("", dumpMapText(spec, m).trimEnd());
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** NAME=VALUE pairs of --set, VALUE a decimal or 0x-hex integer (negative allowed). */
function parseAssignments(assignments: readonly string[]): Map<string, VariableValue> {
  const out = new Map<string, VariableValue>();
  for (const assignment of assignments) {
    const match = /^([A-Za-z_]\w*)=(-?(?:0x[0-9a-fA-F]+|\d+))$/.exec(assignment);
    if (!match) throw new UsageError(`--set expects NAME=INTEGER, got '${assignment}'`);
    const text = match[2]!;
    out.set(match[1]!, text.startsWith("-") ? -BigInt(text.slice(1)) : BigInt(text));
  }
  return out;
}
