// What a session offers the hook layer: shared memory in the target, memory near code, code writes guarded
// against threads executing them, stepping threads out of a range, signals kept safe; and the pause it costs.

import assert from "node:assert/strict";
import { closeSync, ftruncateSync, readdirSync, readSync, writeSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { InjectError, InjectionSession } from "../../src/inject/index.js";
import { memfdCreate } from "../../src/native/memfd.js";
import { pidfdGetfd, pidfdOpen } from "../../src/native/pidfd.js";
import { processVmWrite } from "../../src/native/process-vm.js";
import { Prot, SysX64 } from "../../src/native/x86-64-syscalls.js";
import { REL32_REACH } from "../../src/process/address-gaps.js";
import { AuxType, readAuxv } from "../../src/process/auxv.js";
import { mappingAt, readMaps, type MapEntry } from "../../src/process/maps.js";
import { ProcessMemory } from "../../src/process/memory.js";
import { injectSkipReason, Victim, VictimBuilder } from "./victims.js";

const skip = injectSkipReason() ?? false;

/** Reads target memory without a session (we are root, or its parent). */
function readTarget(pid: number, address: bigint, length: number): Uint8Array {
  const memory = new ProcessMemory(pid);
  try {
    return memory.read(address, length);
  } finally {
    memory.close();
  }
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe("session services", { skip }, () => {
  let builder: VictimBuilder;
  let threadsVictim: string;
  before(() => {
    builder = new VictimBuilder();
    threadsVictim = builder.build("threads");
  });
  after(() => builder?.remove());

  test("a memfd of ours mapped shared into the target: both sides see each other's writes", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    const arena = memfdCreate("bpftime-test-arena");
    try {
      ftruncateSync(arena, 8192);
      writeSync(arena, Buffer.from("from cli"), 0, 8, 0);
      await victim.waitForLine(/^ready/);
      const fds = fdCount(victim.pid);
      const mapsBefore = readMaps(victim.pid);
      const entry = readAuxv(victim.pid).get(AuxType.AT_ENTRY)!;
      const stubBytes = Buffer.from(readTarget(victim.pid, entry, 3));
      const session = InjectionSession.attach(victim.pid);
      let address: bigint;
      try {
        address = session.mapSharedFd(arena, 8192);
        assert.equal(Buffer.from(session.read(address, 8)).toString(), "from cli");
        session.write(address + 100n, Buffer.from("from the target side"));
        const seen = Buffer.alloc(20);
        readSync(arena, seen, 0, 20, 100);
        assert.equal(seen.toString(), "from the target side");
        const mapping = mappingAt(session.maps(), address);
        assert.equal(mapping?.perms, "rw-s");
        assert.equal(mapping?.path, "/memfd:bpftime-test-arena");
      } finally {
        session.detach();
      }
      assert.equal(fdCount(victim.pid), fds, "the target's temporary fd is closed again");
      assert.ok(mappingAt(readMaps(victim.pid), address), "the arena stays mapped after detach");
      // Nothing else is left behind: the scratch page for the path and the syscall stub are gone.
      const describe = (m: MapEntry) => `${m.start}-${m.end} ${m.perms} ${m.path}`;
      assert.deepEqual(readMaps(victim.pid).filter((m) => m.start !== address).map(describe), mapsBefore.map(describe));
      assert.deepEqual(Buffer.from(readTarget(victim.pid, entry, 3)), stubBytes, "the bytes under the syscall stub are back");
      victim.send("q");
      assert.equal((await victim.finish()).code, 0);
    } finally {
      closeSync(arena);
      victim.kill();
    }
  });

  test("a memfd created in the target, copied out with pidfd_getfd, shares its pages with us", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      const session = InjectionSession.attach(victim.pid);
      let ours: number | undefined;
      try {
        const theirs = session.memfdCreate("made-in-target");
        const pidfd = pidfdOpen(victim.pid);
        try {
          ours = pidfdGetfd(pidfd, theirs);
        } finally {
          closeSync(pidfd);
        }
        ftruncateSync(ours, 4096);
        const address = session.mmap({ length: 4096, flags: 0x01 /* MAP_SHARED */, fd: theirs });
        session.close(theirs);
        writeSync(ours, Buffer.from("written by the cli"), 0, 18, 0);
        assert.equal(Buffer.from(session.read(address, 18)).toString(), "written by the cli");
        // process_vm_writev works on writable pages and refuses read-only text (which /proc/PID/mem patches).
        processVmWrite(victim.pid, address + 32n, Buffer.from("vm"));
        assert.equal(Buffer.from(session.read(address + 32n, 2)).toString(), "vm");
        const text = session.resolveFunction("threads", "busy").address;
        assert.throws(() => processVmWrite(victim.pid, text, session.read(text, 1)), /process_vm_writev.*EFAULT/);
        session.munmap(address, 4096);
      } finally {
        session.detach();
        if (ours !== undefined) closeSync(ours);
      }
      victim.send("q");
      assert.equal((await victim.finish()).code, 0);
    } finally {
      victim.kill();
    }
  });

  test("memory allocated near a function, code written there, and called", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      const session = InjectionSession.attach(victim.pid);
      try {
        const malloc = session.resolveFunction("libc.so.6", "malloc").address;
        const page = session.allocateNear(malloc, 4096, Prot.READ | Prot.EXEC);
        const distance = page > malloc ? page - malloc : malloc - page;
        assert.ok(distance + 4096n <= REL32_REACH, `within rel32 reach (0x${distance.toString(16)} away)`);
        assert.equal(mappingAt(session.maps(), page)?.perms, "r-xp");
        // mov eax, 42; ret — written into a read-only executable page through /proc/PID/mem.
        session.writeCode(page, Uint8Array.of(0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3));
        assert.equal(session.callFunction(page), 42n);
        // A call that faults is reported, and the target survives it.
        assert.throws(() => session.callFunction(0x10n), (e: unknown) => e instanceof InjectError && e.code === "INJECT_REMOTE" && /faulted.*SIGSEGV/.test(e.message));
        assert.equal(Number(session.syscall(SysX64.getpid)), victim.pid);
        session.munmap(page, 4096);
      } finally {
        session.detach();
      }
      victim.send("q");
      const exit = await victim.finish();
      assert.equal(exit.code, 0, victim.lines.join("\n"));
    } finally {
      victim.kill();
    }
  });

  test("threads inside a range are found, code under them is refused, and they can be stepped out", { timeout: 60_000 }, async () => {
    const victim = Victim.start(threadsVictim);
    try {
      await victim.waitForLine(/^ready/);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const session = InjectionSession.attach(victim.pid);
      try {
        const positions = session.threadPositions();
        const busy = positions.find((p) => !p.restartsSyscall && p.tid !== victim.pid)!;
        assert.ok(busy, "a thread stopped in user code");
        const at = busy.resumeAt;
        assert.ok(session.threadsExecutingIn(at - 1n, at + 1n).some((p) => p.tid === busy.tid));
        assert.ok(!session.threadsExecutingIn(at, at + 1n).some((p) => p.tid === busy.tid), "resuming at the start is not inside");
        assert.ok(session.threadsExecutingIn(at, at + 1n, { includeStart: true }).some((p) => p.tid === busy.tid));
        const original = session.read(at - 1n, 2);
        assert.throws(() => session.writeCode(at - 1n, original), (e: unknown) => e instanceof InjectError && e.code === "INJECT_UNSAFE" && e.message.includes(`${busy.tid} at 0x${at.toString(16)}`));

        const next = session.stepOutOf(busy.tid, at, at + 1n, { includeStart: true });
        assert.notEqual(next, at);
        assert.ok(!session.threadsExecutingIn(at, at + 1n, { includeStart: true }).some((p) => p.tid === busy.tid));

        // A thread blocked in read resumes on the `syscall` instruction itself, two bytes before rip.
        const blocked = positions.find((p) => p.restartsSyscall)!;
        assert.ok(blocked, "a thread stopped inside a system call");
        assert.equal(blocked.resumeAt, blocked.rip - 2n);
        assert.deepEqual([...session.read(blocked.resumeAt, 2)], [0x0f, 0x05]);
        assert.throws(() => session.stepOutOf(blocked.tid, blocked.resumeAt, blocked.rip, { includeStart: true }), (e: unknown) => e instanceof InjectError && e.code === "INJECT_UNSAFE");
        assert.throws(() => session.writeCode(blocked.resumeAt - 1n, session.read(blocked.resumeAt - 1n, 3)), /threads execute inside it/);

        // Where no thread is, the same bytes can be written back.
        const sleeper = session.resolveFunction("threads", "sleeper").address;
        session.writeCode(sleeper, session.read(sleeper, 8));
      } finally {
        session.detach();
      }
      victim.send("q");
      const exit = await victim.finish();
      assert.equal(exit.code, 0, victim.lines.join("\n"));
      assert.ok(victim.lines.includes("result ok"));
    } finally {
      victim.kill();
    }
  });

  test("signals that arrive while the process is held are delivered after detach", { timeout: 60_000 }, async () => {
    const victim = Victim.start(builder.build("signals"));
    try {
      await victim.waitForLine(/^ready/);
      const session = InjectionSession.attach(victim.pid);
      try {
        process.kill(victim.pid, "SIGUSR1");
        // Resuming the thread for our own code makes it stop to deliver SIGUSR1 first: that one is kept.
        assert.equal(Number(session.syscall(SysX64.getpid)), victim.pid);
        // And one that stays pending in the kernel until the threads run again.
        process.kill(victim.pid, "SIGUSR1");
      } finally {
        session.detach();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      victim.send("q");
      assert.equal((await victim.finish()).code, 0);
      assert.ok(victim.lines.includes("usr1 2"), victim.lines.join("\n"));
    } finally {
      victim.kill();
    }
  });

  test("pause of attach + mmap + detach, 1 thread and 9 threads", { timeout: 60_000 }, async (t) => {
    const single = builder.build("single");
    for (const [label, path, threads] of [
      ["1 thread", single, 1],
      ["8 worker threads", threadsVictim, 9],
    ] as const) {
      const victim = Victim.start(path);
      try {
        await victim.waitForLine(/^ready/);
        const pauses: number[] = [];
        const stops: number[] = [];
        for (let round = 0; round < 30; round++) {
          const session = InjectionSession.attach(victim.pid);
          const page = session.mmap({ length: 4096, prot: Prot.READ | Prot.EXEC });
          assert.ok(page > 0n);
          const report = session.detach();
          assert.equal(report.threads, threads);
          assert.ok(report.pauseMs !== undefined && report.pauseMs >= report.stopMs && report.stopMs > 0);
          pauses.push(report.pauseMs);
          stops.push(report.stopMs);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        t.diagnostic(`${label}: all threads stopped after ${median(stops).toFixed(2)} ms (median), paused ${median(pauses).toFixed(2)} ms median, ${Math.max(...pauses).toFixed(2)} ms max over 30 attaches`);
        victim.send("q");
        const exit = await victim.finish();
        assert.equal(exit.code, 0, victim.lines.join("\n"));
      } finally {
        victim.kill();
      }
    }
  });
});
