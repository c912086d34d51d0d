// Attaching to running multi-threaded processes: every thread held, blocked system calls restarted
// correctly, detach leaving the process running with unchanged results.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { InjectError, InjectionSession } from "../../src/inject/index.js";
import { SysX64 } from "../../src/native/x86-64-syscalls.js";
import { processVmRead } from "../../src/native/process-vm.js";
import { mappingAt } from "../../src/process/maps.js";
import { listThreads, readTaskStat } from "../../src/process/tasks.js";
import { injectSkipReason, Victim, VictimBuilder } from "./victims.js";

const skip = injectSkipReason() ?? false;

function parseResult(lines: readonly string[]): Map<string, string> {
  return new Map(lines.map((l) => [l.slice(0, l.lastIndexOf(" ")), l.slice(l.lastIndexOf(" ") + 1)]));
}

const INJECT_MODULE = fileURLToPath(new URL("../../src/inject/index.js", import.meta.url));

/** Tries to attach to `pid` from a separate Node process, optionally as another user; returns its output. */
function attachFromAnotherProcess(pid: number, uid?: number): { status: number | null; stderr: string } {
  const script = `
    const { InjectionSession } = await import(${JSON.stringify(INJECT_MODULE)});
    try { InjectionSession.attach(${pid}).detach(); } catch (e) { console.error(e.code, e.message); process.exit(1); }`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", ...(uid === undefined ? {} : { uid, gid: uid }) });
  return { status: result.status, stderr: result.stderr };
}

describe("attach and detach", { skip }, () => {
  let builder: VictimBuilder;
  let threadsVictim: string;
  let spawnerVictim: string;
  before(() => {
    builder = new VictimBuilder();
    threadsVictim = builder.build("threads");
    spawnerVictim = builder.build("spawner");
  });
  after(() => builder?.remove());

  test("an 8-thread victim attached and detached 100 times keeps running and computes the same results", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      let sent = 0;
      let expectedSum = 0;
      let remoteCalls = 0;
      for (let round = 0; round < 100; round++) {
        const session = InjectionSession.attach(victim.pid);
        const tids = session.threadIds();
        assert.equal(tids.length, 9, "main + 8 workers are held");
        // Run a system call in one thread per round, in turn: busy threads, sleepers in nanosleep, the reader
        // blocked in read and main blocked in pthread_join all get interrupted mid-syscall.
        const tid = tids[round % tids.length]!;
        assert.equal(Number(session.syscall(SysX64.gettid, [], { tid })), tid);
        remoteCalls++;
        session.detach();
        if (round % 10 === 0) {
          const chunk = `chunk ${round}\n`;
          victim.send(chunk);
          sent += chunk.length;
          for (const c of Buffer.from(chunk)) expectedSum += c;
        }
        // Let the threads run a little between attaches.
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      const exit = await victim.finish();
      assert.deepEqual(exit, { code: 0, signal: null }, victim.lines.join("\n"));
      const result = parseResult(victim.lines);
      assert.equal(result.get("result"), "ok", victim.lines.join("\n"));
      assert.equal(result.get("sleep errors"), "0");
      assert.match(victim.lines.find((l) => l.startsWith("read bytes"))!, new RegExp(`^read bytes ${sent} sum ${expectedSum} errors 0$`));
      assert.equal(remoteCalls, 100);
      for (const line of victim.lines.filter((l) => l.startsWith("busy "))) assert.match(line, /^busy \d iterations [1-9]\d* ok$/, "every busy thread made progress");
      for (const line of victim.lines.filter((l) => l.startsWith("sleeper "))) assert.match(line, /^sleeper \d sleeps [1-9]\d*$/, "every sleeper slept");
    } finally {
      victim.kill();
    }
  });

  test("remote mmap returns a usable mapping, visible in maps, writable through /proc/PID/mem", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      // Attaching through the id of one of its threads attaches the whole process.
      const session = InjectionSession.attach(listThreads(victim.pid).at(-1)!);
      assert.equal(session.pid, victim.pid);
      assert.equal(session.threadIds().length, 9);
      try {
        const address = session.mmap({ length: 8192 });
        assert.equal(address % 4096n, 0n);
        // The kernel may merge the new mapping with a neighbour of the same kind, so look for the one holding it.
        const mapping = mappingAt(session.maps(), address);
        assert.ok(mapping, "the new mapping is listed");
        assert.ok(mapping.start <= address && mapping.end >= address + 8192n);
        assert.equal(mapping.perms, "rw-p");
        const payload = Buffer.from("written from outside the process");
        session.write(address + 4000n, payload); // across the page boundary
        assert.deepEqual(Buffer.from(session.read(address + 4000n, payload.length)), payload);
        assert.deepEqual(Buffer.from(processVmRead(victim.pid, address + 4000n, payload.length)), payload, "process_vm_readv sees it too");
        assert.deepEqual([...session.read(address, 8)], [0, 0, 0, 0, 0, 0, 0, 0], "fresh anonymous memory is zeroed");
        session.mprotect(address, 8192, 1);
        const readOnly = mappingAt(session.maps(), address);
        assert.equal(readOnly?.perms, "r--p");
        assert.equal(readOnly?.start, address);
        assert.equal(readOnly?.end, address + 8192n);
        session.munmap(address, 8192);
        assert.equal(mappingAt(session.maps(), address), undefined);
        assert.equal(mappingAt(session.maps(), address + 4096n), undefined);
        // A failing remote system call reports the target's errno.
        assert.throws(() => session.munmap(address + 1n, 4096), /munmap in process \d+ failed: EINVAL/);
      } finally {
        session.detach();
      }
      victim.send("x");
      const exit = await victim.finish();
      assert.equal(exit.code, 0, victim.lines.join("\n"));
    } finally {
      victim.kill();
    }
  });

  test("threads created while attaching are caught: every live thread is held, none running", { timeout: 60_000 }, async () => {
    const victim = Victim.start(spawnerVictim);
    try {
      await victim.waitForLine(/^ready/);
      let mostThreads = 0;
      for (let round = 0; round < 30; round++) {
        const session = InjectionSession.attach(victim.pid);
        try {
          const held = new Set(session.threadIds());
          mostThreads = Math.max(mostThreads, held.size);
          for (const tid of listThreads(victim.pid)) {
            const stat = readTaskStat(victim.pid, tid);
            if (stat === undefined || stat.state === "Z" || stat.state === "X") continue;
            assert.ok(held.has(tid), `thread ${tid} (state ${stat.state}) is held`);
            assert.equal(stat.state, "t", `thread ${tid} is in a tracing stop`);
          }
          assert.equal(Number(session.syscall(SysX64.getpid)), victim.pid);
        } finally {
          session.detach();
        }
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      assert.ok(mostThreads > 2, `the victim had threads being created (${mostThreads} at most)`);
      const exit = await victim.finish();
      assert.equal(exit.code, 0);
      assert.match(victim.lines.at(-1)!, /^created [1-9]\d*$/);
    } finally {
      victim.kill();
    }
  });

  test("a process that exits while attached: the session reports it and the exit status reaches its parent", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      const session = InjectionSession.attach(victim.pid);
      assert.throws(
        () => session.syscall(SysX64.exit_group, [7]),
        (error: unknown) => error instanceof InjectError && error.code === "INJECT_EXITED" && /exited while/.test(error.message),
      );
      assert.deepEqual(session.exitStatus, { kind: "exited", code: 7 });
      assert.equal(session.attached, false);
      assert.throws(() => session.mmap({ length: 4096 }), /process \d+ exited while attached \(exit status 7\)/);
      session.detach(); // nothing left to release; must not throw
      assert.deepEqual(await victim.exited, { code: 7, signal: null });
    } finally {
      victim.kill();
    }
  });

  test("a process killed while attached: the next operation says so", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      const session = InjectionSession.attach(victim.pid);
      process.kill(victim.pid, "SIGKILL");
      assert.throws(
        () => session.syscall(SysX64.getpid),
        (error: unknown) => error instanceof InjectError && error.code === "INJECT_EXITED" && /killed by SIGKILL/.test(error.message),
      );
      session.detach();
      assert.deepEqual(await victim.exited, { code: null, signal: "SIGKILL" });
    } finally {
      victim.kill();
    }
  });

  test("a process whose main thread has exited: the other threads are held and run our code", { timeout: 60_000 }, async () => {
    const victim = Victim.start(builder.build("zombie-leader"));
    try {
      await victim.waitForLine(/^ready/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(readTaskStat(victim.pid)?.state, "Z", "the leader is a zombie");
      const session = InjectionSession.attach(victim.pid);
      try {
        const [worker] = session.threadIds();
        assert.equal(session.threadIds().length, 1);
        assert.notEqual(worker, victim.pid);
        assert.equal(Number(session.syscall(SysX64.gettid)), worker);
        const page = session.mmap({ length: 4096 });
        session.write(page, Uint8Array.of(1, 2, 3));
        assert.deepEqual([...session.read(page, 3)], [1, 2, 3]);
        assert.ok(session.modules().some((m) => m.name === "libc.so.6"), "maps read through the live thread");
        session.munmap(page, 4096);
      } finally {
        session.detach();
      }
      const exit = await victim.finish();
      assert.equal(exit.code, 0);
      assert.deepEqual(victim.lines.slice(1), ["worker done"]);
    } finally {
      victim.kill();
    }
  });

  test("a stopped process (SIGSTOP) is held, used, and left stopped; SIGCONT then resumes it", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      process.kill(victim.pid, "SIGSTOP");
      while (readTaskStat(victim.pid)?.state !== "T") await new Promise((resolve) => setTimeout(resolve, 1));
      const session = InjectionSession.attach(victim.pid);
      try {
        assert.equal(session.threadIds().length, 9);
        assert.equal(Number(session.syscall(SysX64.getpid)), victim.pid);
      } finally {
        session.detach();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const tid of listThreads(victim.pid)) assert.equal(readTaskStat(victim.pid, tid)?.state, "T", `thread ${tid} is group-stopped again`);
      process.kill(victim.pid, "SIGCONT");
      victim.send("go");
      const exit = await victim.finish();
      assert.equal(exit.code, 0, victim.lines.join("\n"));
      assert.ok(victim.lines.includes("result ok"));
    } finally {
      victim.kill();
    }
  });

  test("a finished child of ours that libuv has not collected yet does not disturb the waits", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      // Between here and detach nothing yields to the event loop, so the zombie stays uncollected and every
      // waitid(P_ALL) sees it first: the tracer must fall back to looking at its own threads.
      const bystander = spawn("true");
      while (readTaskStat(bystander.pid!)?.state !== "Z") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      const session = InjectionSession.attach(victim.pid);
      try {
        for (const tid of session.threadIds()) assert.equal(Number(session.syscall(SysX64.gettid, [], { tid })), tid);
      } finally {
        session.detach();
      }
      assert.equal(readTaskStat(bystander.pid!)?.state, "Z", "the bystander was left for libuv");
      assert.deepEqual(await new Promise((resolve) => bystander.on("exit", (code) => resolve(code))), 0);
      victim.send("go");
      assert.equal((await victim.finish()).code, 0);
    } finally {
      victim.kill();
    }
  });

  test("an unknown pid is one clear error", () => {
    let pid = 999999;
    while (existsSync(`/proc/${pid}`)) pid++;
    assert.throws(
      () => InjectionSession.attach(pid),
      (error: unknown) => error instanceof InjectError && error.code === "INJECT_NO_PROCESS" && error.message === `no such process ${pid}`,
    );
    assert.throws(() => InjectionSession.attach(-5), /^InjectError: no such process -5$/);
  });

  test("attaching to ourselves, or to a process traced by someone else, is refused", { timeout: 60_000 }, async () => {
    assert.throws(() => InjectionSession.attach(process.pid), (e: unknown) => e instanceof InjectError && e.code === "INJECT_PERMISSION");
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      const first = InjectionSession.attach(victim.pid);
      try {
        // A second session in this process, and another process (where the kernel answers EPERM).
        assert.throws(
          () => InjectionSession.attach(victim.pid),
          (e: unknown) => e instanceof InjectError && e.code === "INJECT_PERMISSION" && e.message === `process ${victim.pid} is already attached by this process (another session)`,
        );
        const other = attachFromAnotherProcess(victim.pid);
        assert.equal(other.stderr.trim(), `INJECT_PERMISSION process ${victim.pid} is already traced by process ${process.pid}`);
      } finally {
        first.detach();
      }
      assert.equal(/^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${victim.pid}/status`, "utf8"))?.[1], "0", "detached again");
      victim.send("y");
      assert.equal((await victim.finish()).code, 0);
    } finally {
      victim.kill();
    }
  });
});

describe("attach without permission", { skip }, () => {
  test("another user cannot attach to our victim: one clear line", { timeout: 60_000 }, async (t) => {
    if (process.getuid?.() !== 0) return t.skip("needs root to run the attacher as another user");
    try {
      accessSync(INJECT_MODULE, constants.R_OK);
      execFileReadable(INJECT_MODULE);
    } catch {
      return t.skip("the built modules are not readable by user 65534");
    }
    const builder = new VictimBuilder();
    const victim = Victim.start(builder.build("threads"));
    try {
      await victim.waitForLine(/^ready/);
      const result = attachFromAnotherProcess(victim.pid, 65534);
      assert.equal(result.status, 1);
      assert.equal(result.stderr.trim(), `INJECT_PERMISSION no permission to trace process ${victim.pid} (run as its user or as root; a debugger or Yama may also forbid it)`);
      victim.send("z");
      assert.equal((await victim.finish()).code, 0);
    } finally {
      victim.kill();
      builder.remove();
    }
  });
});

/** Throws unless user 65534 can read `path` (every directory on the way searchable, the file readable by others). */
function execFileReadable(path: string): void {
  const result = spawnSync("test", ["-r", path], { uid: 65534, gid: 65534 });
  if (result.status !== 0) throw new Error(`${path} is not readable by 65534`);
}
