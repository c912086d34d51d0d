// One `bpftime load` session, two victims started into it with `bpftime start`: both write into the one
// shared map, and Ctrl-C on the session prints both pids with their exact counts and removes the session's
// files from /dev/shm.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { descriptorPath, readDescriptor } from "../../src/session/descriptor.js";
import { example, injectSkipReason, jsonLines, loadSession, mapEntriesOf, runCliInBackground, sessionFiles, SessionVictims, type Finished } from "./support.js";

const skip = injectSkipReason() ?? false;

function victimReport(result: Finished): { pid: number; mallocs: number } {
  assert.equal(result.code, 0, `bpftime start failed: ${result.stderr}`);
  const match = result.stdout.match(/^pid (\d+) mallocs (\d+)$/m);
  assert.ok(match, `the victim's line is missing from: ${result.stdout}`);
  return { pid: Number(match[1]), mallocs: Number(match[2]) };
}

describe("two victims under one bpftime load session", { skip }, () => {
  let victims: SessionVictims;
  let mallocCounter: string;
  before(() => {
    victims = new SessionVictims();
    mallocCounter = victims.mallocCounter();
  });
  after(() => victims?.remove());

  test("both pids appear in the shared map with exact counts; Ctrl-C removes the session", { timeout: 120_000 }, async () => {
    const { load, id } = await loadSession(["--json", example("malloc.bpf.o")]);
    try {
      const descriptor = readDescriptor(descriptorPath(id));
      assert.equal(descriptor.ownerPid, load.pid);
      assert.ok(existsSync(descriptor.arenaPath), "the arena file exists while the session runs");
      assert.ok(sessionFiles(id).length >= 2, "descriptor and arena are in /dev/shm");

      // Other sessions may be running on this machine: name ours.
      const [first, second] = await Promise.all([
        runCliInBackground(["start", "--session", id, "--", mallocCounter, "3000"]),
        runCliInBackground(["start", "--session", id, "--", mallocCounter, "7000"]),
      ]);
      const a = victimReport(first);
      const b = victimReport(second);
      assert.equal(a.mallocs, 3000);
      assert.equal(b.mallocs, 7000);
      assert.notEqual(a.pid, b.pid);

      const ended = await load.interrupt();
      assert.equal(ended.code, 0, ended.stderr);
      const entries = mapEntriesOf(jsonLines(ended.stdout), "malloc_calls");
      const byPid = (x: { key: unknown }, y: { key: unknown }): number => Number(x.key) - Number(y.key);
      assert.deepEqual(
        [...entries].sort(byPid),
        [
          { key: a.pid, value: "3000" },
          { key: b.pid, value: "7000" },
        ].sort(byPid),
      );
      assert.deepEqual(sessionFiles(id), [], "descriptor, targets directory and arena are gone");
    } finally {
      load.kill();
    }
  });
});
