// `bpftime run examples/malloc.bpf.o -- VICTIM N`: the malloc counter of bpftime's quick start, end to end
// through the CLI. The victim counts its own malloc calls (and makes no others), so the map must hold
// exactly its number under its pid.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "../support/cli.js";
import { example, injectSkipReason, jsonLines, mapEntriesOf, SessionVictims } from "./support.js";

const skip = injectSkipReason() ?? false;
const MALLOC = example("malloc.bpf.o");

/** The victim's own report: "pid P mallocs N". */
function victimReport(text: string): { pid: number; mallocs: number } {
  const match = text.match(/^pid (\d+) mallocs (\d+)$/m);
  assert.ok(match, `the victim's line is missing from: ${text}`);
  return { pid: Number(match[1]), mallocs: Number(match[2]) };
}

/** The entries of the text dump `map 'malloc_calls' (...):` followed by its JSON array. */
function textMapEntries(stdout: string): { key: number; value: number }[] {
  const header = stdout.indexOf("map 'malloc_calls' (hash");
  assert.ok(header >= 0, `no malloc_calls dump in: ${stdout}`);
  const body = stdout.slice(stdout.indexOf("\n", header) + 1);
  return JSON.parse(body) as { key: number; value: number }[];
}

describe("bpftime run examples/malloc.bpf.o", { skip }, () => {
  let victims: SessionVictims;
  let mallocCounter: string;
  before(() => {
    victims = new SessionVictims();
    mallocCounter = victims.mallocCounter();
  });
  after(() => victims?.remove());

  for (const calls of [1, 1000, 100_000]) {
    test(`text output: the victim's pid with exactly its ${calls} malloc calls`, { timeout: 60_000 }, () => {
      const result = runCli(["run", MALLOC, "--", mallocCounter, String(calls)]);
      assert.equal(result.status, 0, result.stderr);
      const victim = victimReport(result.stdout);
      assert.equal(victim.mallocs, calls);
      // Only the victim runs under the session, and it made exactly these calls.
      assert.deepEqual(textMapEntries(result.stdout), [{ key: victim.pid, value: calls }]);
    });
  }

  test("a victim that never calls malloc leaves the map empty", { timeout: 60_000 }, () => {
    const result = runCli(["run", MALLOC, "--", mallocCounter, "0"]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(victimReport(result.stdout).mallocs, 0);
    assert.deepEqual(textMapEntries(result.stdout), []);
  });

  test("--json: every stdout line is JSON, the map line holds the pid's count as a decimal string", { timeout: 60_000 }, () => {
    const calls = 4321;
    const result = runCli(["run", "--json", MALLOC, "--", mallocCounter, String(calls)]);
    assert.equal(result.status, 0, result.stderr);
    // The command's own stdout goes to stderr, so stdout holds only JSON.
    const victim = victimReport(result.stderr);
    assert.equal(victim.mallocs, calls);
    const lines = jsonLines(result.stdout);
    assert.ok(lines.every((line) => typeof line.type === "string"), result.stdout);
    const mapLines = lines.filter((line) => line.type === "map");
    assert.equal(mapLines.length, 1, "one map dump, when the command exits");
    assert.equal(mapLines[0]!.mapType, "hash");
    assert.deepEqual(mapEntriesOf(lines, "malloc_calls"), [{ key: victim.pid, value: String(calls) }]);
  });

  test("the command's exit status is run's exit status", { timeout: 60_000 }, () => {
    // malloc-counter exits 3 when its write fails: give it a closed stdout.
    const result = runCli(["run", MALLOC, "--", "/bin/sh", "-c", `exec ${mallocCounter} 10 >&-`]);
    assert.equal(result.status, 3, result.stderr);
  });
});
