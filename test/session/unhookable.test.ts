// A session that cannot hook every function it names attaches nothing: one line, exit 1, and the process
// keeps running with its code exactly as it was (the function hooked first is restored).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { findModule, modulesOf, readMaps } from "../../src/process/maps.js";
import { moduleElf } from "../../src/process/module-file.js";
import { resolveSymbol } from "../../src/process/symbols.js";
import { runCli } from "../support/cli.js";
import { injectSkipReason, loadSession, SessionVictims } from "./support.js";

const fixture = fileURLToPath(new URL("../../../test/fixtures/objects/unhookable.bpf.o", import.meta.url));
const skip = injectSkipReason();
const victims = skip ? undefined : new SessionVictims();
after(() => victims?.remove());

/** The first 32 bytes of libc's malloc in process `pid`, read through /proc/PID/mem. */
function mallocBytes(pid: number): Buffer {
  const libc = findModule(modulesOf(readMaps(pid)), "libc.so.6", pid);
  const malloc = resolveSymbol(moduleElf(libc, pid), libc, "malloc").address;
  const fd = openSync(`/proc/${pid}/mem`, "r");
  try {
    const out = Buffer.alloc(32);
    readSync(fd, out, 0, out.length, Number(malloc));
    return out;
  } finally {
    closeSync(fd);
  }
}

test("attach fails as a whole when one function cannot be patched, leaving the process untouched", { skip }, async () => {
  const victim = spawn(victims!.mallocCounter(), ["2000000000"], { stdio: "ignore" });
  const { load, id } = await loadSession([fixture]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = mallocBytes(victim.pid!);
    const r = runCli(["attach", String(victim.pid), "--session", id]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.match(r.stderr, /^bpftime: ATTACH_FAILED: cannot hook dirfd in .*libc\.so\.6: function dirfd: too short to patch/);
    assert.equal(victim.exitCode, null, "the victim keeps running");
    assert.deepEqual(mallocBytes(victim.pid!), before, "malloc's bytes are as they were");
  } finally {
    victim.kill("SIGKILL");
    await load.interrupt();
  }
});
