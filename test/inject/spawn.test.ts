// Starting a command stopped before main, with its libraries mapped, and letting it go.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InjectError, InjectionSession } from "../../src/inject/index.js";
import { SysX64 } from "../../src/native/x86-64-syscalls.js";
import { AuxType, readAuxv } from "../../src/process/auxv.js";
import { injectSkipReason, Victim, VictimBuilder } from "./victims.js";

const skip = injectSkipReason() ?? false;

describe("spawn", { skip }, () => {
  let builder: VictimBuilder;
  let hello: string;
  let threads: string;
  before(() => {
    builder = new VictimBuilder();
    hello = builder.build("hello");
    threads = builder.build("threads");
  });
  after(() => builder?.remove());

  test("stops at the entry point: libraries mapped, nothing of the program run yet", { timeout: 60_000 }, async () => {
    const session = InjectionSession.spawn([hello, "first"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, VICTIM_VALUE: "from-env" } });
    const victim = new Victim(session.child!);
    try {
      assert.equal(session.threadIds().length, 1);
      const [position] = session.threadPositions();
      assert.equal(position?.rip, readAuxv(session.pid).get(AuxType.AT_ENTRY), "held at AT_ENTRY");
      const names = session.modules().map((m) => m.name);
      assert.ok(names.includes("libc.so.6"), `libc is mapped already (${names.join(", ")})`);
      assert.ok(names.includes("hello"));
      // The program's code is reachable through symbols, and system calls work from here.
      assert.equal(Number(session.syscall(SysX64.getpid)), session.pid);
      const malloc = session.resolveFunction("libc.so.6", "malloc");
      const pointer = session.callFunction(malloc.implementation, [64]);
      assert.notEqual(pointer, 0n, "malloc works before main");
      // Give the process every chance to print, had it been running.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(victim.lines, [], "neither a constructor nor main has run");
      session.detach();
      const exit = await victim.exited;
      assert.deepEqual(exit, { code: 3, signal: null });
      assert.deepEqual(victim.lines, ["constructor", "main argc=2 arg1=first env=from-env"]);
    } finally {
      victim.kill();
    }
  });

  test("a multi-threaded program spawned, then run normally", { timeout: 60_000 }, async () => {
    const session = InjectionSession.spawn([threads], { stdio: ["pipe", "pipe", "pipe"] });
    const victim = new Victim(session.child!);
    try {
      const report = session.detach();
      assert.equal(report.threads, 1);
      assert.ok(report.pauseMs !== undefined && report.pauseMs >= report.stopMs);
      await victim.waitForLine(/^ready/);
      victim.send("data");
      const exit = await victim.finish();
      assert.equal(exit.code, 0, victim.lines.join("\n"));
      assert.ok(victim.lines.includes("result ok"));
    } finally {
      victim.kill();
    }
  });

  test("a command found through PATH, with arguments", { timeout: 60_000 }, async () => {
    const session = InjectionSession.spawn(["sh", "-c", "echo spawned $0 $1", "a", "b"], { stdio: ["ignore", "pipe", "pipe"] });
    const victim = new Victim(session.child!);
    try {
      assert.ok(session.modules().some((m) => m.path.endsWith("/sh") || m.path.endsWith("/dash") || m.path.endsWith("/bash")));
      session.detach();
      assert.deepEqual(await victim.exited, { code: 0, signal: null });
      assert.deepEqual(victim.lines, ["spawned a b"]);
    } finally {
      victim.kill();
    }
  });

  test("a command that does not exist is one clear error", () => {
    assert.throws(
      () => InjectionSession.spawn(["/nonexistent/program"], { stdio: "ignore" }),
      (e: unknown) => e instanceof InjectError && e.code === "INJECT_SPAWN" && e.message === "cannot start /nonexistent/program: no such executable",
    );
    assert.throws(() => InjectionSession.spawn(["no-such-command-anywhere"]), /^InjectError: cannot start no-such-command-anywhere: no such executable$/);
    assert.throws(() => InjectionSession.spawn(["/etc/passwd"]), /^InjectError: cannot start \/etc\/passwd: no such executable$/);
    assert.throws(() => InjectionSession.spawn([]), /no command to start/);
  });
});
