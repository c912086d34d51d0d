// `bpftime test-run` end to end: fixtures that check themselves (r0 = 0 or the failing line), CO-RE by
// execution, maps after the run, trace output, and bad input.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/cli.js";
import { examplePath } from "../support/examples.js";

const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/objects/${name}`, import.meta.url));
const TARGET_BTF = examplePath("core/target.btf");

interface RunJson {
  retval: string;
  avg_ns: number;
  runs: number;
  traces: { pid: number; comm: string; text: string }[];
  maps?: { name: string; type: string; entries: { key?: unknown; value?: unknown; values?: unknown }[] }[];
}

function testRunJson(object: string, prog: string, ...extra: string[]): RunJson {
  const r = runCli(["test-run", object, "--prog", prog, "--json", ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as RunJson;
}

for (const prog of ["globals_and_calls", "maps_and_helpers", "tail_caller", "tail_target"]) {
  test(`features.bpf.o: ${prog} passes its own checks (r0 = 0)`, () => {
    assert.equal(testRunJson(examplePath("features.bpf.o"), prog).retval, "0");
  });
}

test("maps after the run, BTF-decoded, and trace_printk output", () => {
  const out = testRunJson(examplePath("features.bpf.o"), "maps_and_helpers", "--dump-maps");
  assert.equal(out.retval, "0");
  assert.equal(out.runs, 1);
  assert.ok(out.avg_ns > 0);
  assert.equal(out.traces.length, 1);
  assert.equal(out.traces[0]!.text, "maps_and_helpers: value=42 kind=2");
  assert.equal(out.traces[0]!.pid > 0, true);
  const byName = new Map(out.maps!.map((m) => [m.name, m]));
  // The run added 5 to counters[3] and 1 to this CPU's per_cpu[0], and inserted events_by_id[3].
  // 64-bit integers are decimal strings in JSON (numbers would lose precision past 2^53).
  assert.deepEqual(byName.get("events_by_id")!.entries, [{ key: 3, value: { pid: 7, kind: 2, comm: "", value: "42" } }]);
  assert.deepEqual(byName.get("counters")!.entries[3], { key: 3, value: "5" });
  assert.deepEqual(byName.get("per_cpu")!.entries[0]!.values, (byName.get("per_cpu")!.entries[0]!.values as { cpu: number }[]).map((v) => ({ cpu: v.cpu, value: v.cpu === 0 ? "1" : "0" })));
  assert.deepEqual(byName.get(".data")!.entries, [{ value: { total: "100" } }]);
});

test("--repeat runs the program N times", () => {
  const out = testRunJson(examplePath("features.bpf.o"), "tail_target", "--repeat", "50");
  assert.equal(out.runs, 50);
  assert.equal(out.retval, "0");
});

test("global data persists between runs and .data starts from the object's initial value", () => {
  // globals_and_calls checks total == 101 after one increment: a second run sees 102 and fails at its line.
  const r = runCli(["test-run", examplePath("features.bpf.o"), "--prog", "globals_and_calls", "--repeat", "2"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^retval: (\d+) /m);
  assert.notEqual(r.stdout.match(/^retval: (\d+) /m)![1], "0");
});

const coreFixtures: ReadonlyArray<readonly [string, string[]]> = [
  ["fields.bpf.o", ["field_offsets", "field_sizes_and_existence", "field_signedness", "field_reads", "field_writes", "bitfields", "array_and_root_index", "renamed_field", "core_read_chain"]],
  ["types.bpf.o", ["type_exists_and_size", "type_ids", "type_matches", "enum_values"]],
];

for (const [object, programs] of coreFixtures) {
  test(`CO-RE by execution: every program of core/${object} returns 0 against the committed target BTF`, () => {
    for (const prog of programs) assert.equal(testRunJson(examplePath(`core/${object}`), prog, "--btf", TARGET_BTF).retval, "0", prog);
  });
}

test("CO-RE by execution against this machine's kernel BTF", { skip: existsSync("/sys/kernel/btf/vmlinux") ? undefined : "/sys/kernel/btf/vmlinux is absent" }, () => {
  for (const prog of ["kernel_facts", "kernel_enums", "kernel_bitfields", "kernel_type_matches"]) {
    assert.equal(testRunJson(examplePath("core/vmlinux.bpf.o"), prog).retval, "0", prog);
  }
});

test("a poisoned CO-RE instruction ends the run with a message naming the relocation", () => {
  const r = runCli(["test-run", examplePath("core/poison.bpf.o"), "--prog", "read_absent_type", "--btf", TARGET_BTF]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^bpftime: VM_FAULT: instruction 35: program 'read_absent_type': CO-RE relocation #0 \(field_byte_offset of struct core_absent___l, access "0:0"\) .* target BTF has no struct named 'core_absent'\n$/);
});

const badInputs: ReadonlyArray<readonly [string, string[], RegExp]> = [
  ["an unknown helper", [fixture("unknown_helper.bpf.o"), "--prog", "uses_current_task"], /^bpftime: PROG_UNKNOWN_HELPER: program 'uses_current_task': instruction 0: call to unknown helper 35 \(bpf_get_current_task\)\n$/],
  ["an unknown program", [examplePath("features.bpf.o"), "--prog", "nope"], /^bpftime: OBJ_NO_SUCH_PROGRAM: no program 'nope' in the object \(it has: /],
  ["a missing file", ["/nonexistent.bpf.o", "--prog", "x"], /^bpftime: OBJ_READ: cannot read \/nonexistent.bpf.o: no such file\n$/],
  ["a source file instead of an object", [examplePath("malloc.bpf.c"), "--prog", "x"], /^bpftime: OBJ_NOT_ELF: .*malloc.bpf.c: not an ELF file\n$/],
  ["a missing --prog", [examplePath("features.bpf.o")], /^bpftime: --prog NAME is required/],
];

for (const [what, args, message] of badInputs) {
  test(`test-run with ${what}: one line, non-zero exit, no stack trace`, () => {
    const r = runCli(["test-run", ...args]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
}

test("--set writes .rodata before load, and .kconfig externs come from the running kernel", () => {
  const [major, minor, patch] = release().split(/[.-]/).map(Number) as [number, number, number];
  const version = (major << 16) | (minor << 8) | Math.min(patch, 255);
  const hz = /^CONFIG_HZ=(\d+)$/m.exec(existsSync("/proc/config.gz") ? gunzipSync(readFileSync("/proc/config.gz")).toString() : "")?.[1];
  const args = ["--set", `expected_version=${version}`, "--set", `expected_hz=${hz ?? 0}`];
  const out = testRunJson(examplePath("features.bpf.o"), "kconfig_values", ...args);
  // With the kernel config available every check passes; without it CONFIG_HZ is 0 (weak) and so is expected_hz.
  assert.equal(out.retval, "0");
  const wrong = testRunJson(examplePath("features.bpf.o"), "kconfig_values", "--set", `expected_version=${version + 1}`);
  assert.notEqual(wrong.retval, "0");
});
