// `bpftime test-run --engine jit`: the same objects as the interpreter's test-run tests, run on the JIT
// with native maps and helpers. Both engines must print the same result, the same maps and the same
// trace lines (timing, pids and this process's comm aside).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { runCli } from "../support/cli.js";
import { examplePath } from "../support/examples.js";

const TARGET_BTF = examplePath("core/target.btf");

interface RunJson {
  retval: string;
  runs: number;
  traces: { text: string }[];
  maps?: unknown[];
}

interface MapJson {
  entries: { values?: { cpu: number; value: unknown }[] }[];
}

/**
 * Per-CPU values as their sum over CPUs: the interpreter's test runs use CPU 0, the JIT the CPU the
 * thread is on.
 */
function perCpuSummed(maps: MapJson[]): unknown[] {
  return maps.map((m) => ({
    ...m,
    entries: m.entries.map((e) =>
      e.values ? { ...e, values: e.values.reduce((sum, v) => sum + BigInt(typeof v.value === "string" || typeof v.value === "number" ? v.value : 0), 0n).toString() } : e,
    ),
  }));
}

function testRun(engine: string, args: readonly string[]): RunJson {
  const r = runCli(["test-run", ...args, "--json", "--engine", engine]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as RunJson & { avg_ns: number; maps?: MapJson[] };
  assert.ok(out.avg_ns > 0);
  return { retval: out.retval, runs: out.runs, traces: out.traces.map((t) => ({ text: t.text })), ...(out.maps ? { maps: perCpuSummed(out.maps) } : {}) };
}

function sameOnBothEngines(args: readonly string[]): RunJson {
  const jit = testRun("jit", args);
  assert.deepEqual(jit, testRun("interpreter", args), `test-run ${args.join(" ")}`);
  return jit;
}

for (const prog of ["globals_and_calls", "maps_and_helpers", "tail_caller", "tail_target"]) {
  test(`--engine jit: features.bpf.o ${prog} passes its own checks, maps and traces as on the interpreter`, () => {
    const out = sameOnBothEngines([examplePath("features.bpf.o"), "--prog", prog, "--dump-maps"]);
    assert.equal(out.retval, "0");
  });
}

test("--engine jit: --repeat keeps global data between runs", () => {
  const out = sameOnBothEngines([examplePath("features.bpf.o"), "--prog", "globals_and_calls", "--repeat", "3"]);
  assert.notEqual(out.retval, "0", "the second run sees total == 102");
  assert.equal(out.runs, 3);
});

const coreFixtures: ReadonlyArray<readonly [string, string[]]> = [
  ["fields.bpf.o", ["field_offsets", "field_sizes_and_existence", "field_signedness", "field_reads", "field_writes", "bitfields", "array_and_root_index", "renamed_field", "core_read_chain"]],
  ["types.bpf.o", ["type_exists_and_size", "type_ids", "type_matches", "enum_values"]],
];

for (const [object, programs] of coreFixtures) {
  test(`--engine jit: CO-RE programs of core/${object} return 0`, () => {
    for (const prog of programs) assert.equal(sameOnBothEngines([examplePath(`core/${object}`), "--prog", prog, "--btf", TARGET_BTF]).retval, "0", prog);
  });
}

test("--engine jit: CO-RE against this machine's kernel BTF", { skip: existsSync("/sys/kernel/btf/vmlinux") ? undefined : "/sys/kernel/btf/vmlinux is absent" }, () => {
  for (const prog of ["kernel_facts", "kernel_enums", "kernel_bitfields", "kernel_type_matches"]) {
    assert.equal(sameOnBothEngines([examplePath("core/vmlinux.bpf.o"), "--prog", prog]).retval, "0", prog);
  }
});

test("--engine jit: a poisoned instruction ends the run with the interpreter's message", () => {
  const args = ["test-run", examplePath("core/poison.bpf.o"), "--prog", "read_absent_type", "--btf", TARGET_BTF];
  const jit = runCli([...args, "--engine", "jit"]);
  const interpreter = runCli(args);
  assert.equal(jit.status, 1);
  assert.equal(jit.stderr, interpreter.stderr);
  assert.match(jit.stderr, /^bpftime: VM_FAULT: instruction 35: program 'read_absent_type': CO-RE relocation #0/);
});

test("--engine jit: an unknown helper is refused at load, as on the interpreter", () => {
  const fixture = new URL("../../../test/fixtures/objects/unknown_helper.bpf.o", import.meta.url).pathname;
  const r = runCli(["test-run", fixture, "--prog", "uses_current_task", "--engine", "jit"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^bpftime: PROG_UNKNOWN_HELPER: program 'uses_current_task': instruction 0: call to unknown helper 35 \(bpf_get_current_task\)\n$/);
});

test("--engine with a bad value is a usage error", () => {
  const r = runCli(["test-run", examplePath("features.bpf.o"), "--prog", "tail_target", "--engine", "wasm"]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--engine must be interpreter or jit/);
});
