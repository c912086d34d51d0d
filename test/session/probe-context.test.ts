// Programs attached by a session read their hook frame: the probed function's address, its arguments.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/cli.js";

const fixture = fileURLToPath(new URL("../../../test/fixtures/objects/probe_context.bpf.o", import.meta.url));

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (ptrace of a started process)";
  if (spawnSync("ls", ["--version"]).status !== 0) return "ls is not available";
  return undefined;
}

test("bpf_get_func_ip, bpf_get_func_arg and PT_REGS_PARM1 in a uprobe on libc's malloc", { skip: skipReason() }, () => {
  const r = runCli(["run", "--json", fixture, "--", "ls", "/"]);
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; name?: string; entries?: { key: number; value: string }[] })
    .find((l) => l.type === "map" && l.name === "seen");
  assert.ok(line?.entries, r.stdout);
  const seen = new Map(line.entries.map((e) => [e.key, BigInt(e.value)]));
  // The function address is malloc's in ls's libc: page-aligned libc base + malloc's offset, never 0.
  assert.ok(seen.get(0)! > 0x10000n);
  // The last malloc's size through both ways of reading the first argument.
  assert.equal(seen.get(1), seen.get(2));
  assert.ok(seen.get(1)! > 0n);
  assert.equal(seen.get(3), 0n, "no attach cookie was given");
});
