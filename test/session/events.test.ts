// What `bpftime run` prints while the command runs: trace_printk lines and ring buffer records decoded
// with BTF, as text and as JSON lines.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/cli.js";

const fixture = fileURLToPath(new URL("../../../test/fixtures/objects/malloc_events.bpf.o", import.meta.url));

// Three mallocs of the watched size (12345) among others, through a pointer gcc cannot see through.
const VICTIM = `
#include <stdlib.h>
void *(*volatile alloc)(size_t) = malloc;
int main(void) {
  for (int i = 0; i < 100; i++) free(alloc(i % 10 == 3 && i < 30 ? 12345 : 64));
  return 0;
}
`;

let dir = "";
let victim = "";
const skip = process.getuid?.() !== 0 ? "needs root (ptrace)" : spawnSync("gcc", ["--version"]).status !== 0 ? "gcc is not installed" : undefined;

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "bpftime-events-"));
  writeFileSync(join(dir, "victim.c"), VICTIM);
  victim = join(dir, "victim");
  const cc = spawnSync("gcc", ["-O1", "-o", victim, join(dir, "victim.c")], { encoding: "utf8" });
  assert.equal(cc.status, 0, cc.stderr);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("trace_printk lines and ring buffer events as JSON lines", { skip }, () => {
  const r = runCli(["run", "--json", fixture, "--", victim]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  const traces = lines.filter((l) => l["type"] === "trace");
  const events = lines.filter((l) => l["type"] === "event");
  assert.equal(traces.length, 3);
  assert.equal(events.length, 3);
  for (const t of traces) assert.match(String(t["text"]), /^malloc\(12345\) by \d+$/);
  for (const e of events) {
    assert.equal(e["map"], "malloc_events");
    const value = e["value"] as { pid: number; size: string; comm: string };
    assert.equal(value.size, "12345");
    assert.equal(value.comm, "victim");
    assert.equal(`malloc(12345) by ${value.pid}`, traces[0]!["text"]);
  }
});

test("the same as text: trace_pipe lines and BTF-formatted events", { skip }, () => {
  const r = runCli(["run", fixture, "--", victim]);
  assert.equal(r.status, 0, r.stderr);
  const traceLines = r.stdout.split("\n").filter((l) => l.includes("bpf_trace_printk:"));
  assert.equal(traceLines.length, 3);
  assert.match(traceLines[0]!, /^\s+victim-\d+\s+\[\d{3}\] \.\.\.\.1\s+\d+\.\d{6}: bpf_trace_printk: malloc\(12345\) by \d+$/);
  const eventLines = r.stdout.split("\n").filter((l) => l.startsWith("malloc_events: {"));
  assert.equal(eventLines.length, 3);
  assert.match(eventLines[0]!, /"size":12345,"comm":"victim"/);
});
