// /proc/PID/maps parsing, modules, free address ranges, and symbol resolution checked against the addresses a
// victim prints for its own functions.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { InjectionSession } from "../../src/inject/index.js";
import { findFreeRangeNear, freeRangesNear, REL32_REACH, unmappedRanges } from "../../src/process/address-gaps.js";
import { ProcessError } from "../../src/process/errors.js";
import { findModule, modulesOf, parseMaps, readMaps } from "../../src/process/maps.js";
import { injectSkipReason, Victim, VictimBuilder } from "./victims.js";

const MAPS = `55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1311 /usr/bin/my app
55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1311 /usr/bin/my app
55d0c0a02000-55d0c0a03000 rw-p 00002000 fe:01 1311 /usr/bin/my app
55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000028000 r--p 00000000 fe:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000028000-7f000019d000 r-xp 00028000 fe:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f000019d000-7f00001f5000 r--p 0019d000 fe:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f00001f5000-7f00001f9000 r--p 001f4000 fe:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f00001f9000-7f00001fb000 rw-p 001f8000 fe:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f00001fb000-7f0000208000 rw-p 00000000 00:00 0 
7f0000300000-7f0000301000 rw-s 00000000 00:01 77                         /memfd:arena (deleted)
7f0000400000-7f0000401000 r--p 00000000 fe:01 3333                       /opt/lib/libc.so.6
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe("maps", () => {
  const entries = parseMaps(MAPS);

  test("parses every field, paths with spaces and deleted files", () => {
    assert.equal(entries.length, 15);
    const app = entries[1]!;
    assert.deepEqual(
      { start: app.start, end: app.end, perms: app.perms, exec: app.executable, offset: app.offset, device: app.device, inode: app.inode, path: app.path },
      { start: 0x55d0c0a01000n, end: 0x55d0c0a02000n, perms: "r-xp", exec: true, offset: 0x1000n, device: "fe:01", inode: 1311n, path: "/usr/bin/my app" },
    );
    assert.equal(entries[3]!.path, "[heap]");
    assert.equal(entries[9]!.path, "");
    const memfd = entries[10]!;
    assert.equal(memfd.path, "/memfd:arena");
    assert.equal(memfd.deleted, true);
    assert.equal(memfd.shared, true);
    assert.equal(entries[14]!.start, 0xffffffffff600000n);
    assert.throws(() => parseMaps("garbage line\n"), /unrecognised/);
  });

  test("modules: one per loaded file, based at its first mapping", () => {
    const modules = modulesOf(entries);
    assert.deepEqual(
      modules.map((m) => [m.name, m.base, m.end, m.mappings.length]),
      [
        ["my app", 0x55d0c0a00000n, 0x55d0c0a03000n, 3],
        ["libc.so.6", 0x7f0000000000n, 0x7f00001fb000n, 5],
        ["memfd:arena", 0x7f0000300000n, 0x7f0000301000n, 1],
        ["libc.so.6", 0x7f0000400000n, 0x7f0000401000n, 1],
      ],
    );
  });

  test("findModule by file name, by path, and its errors", () => {
    const modules = modulesOf(entries);
    assert.equal(findModule(modules, "my app").base, 0x55d0c0a00000n);
    assert.equal(findModule(modules, "/usr/lib/x86_64-linux-gnu/libc.so.6").base, 0x7f0000000000n);
    assert.throws(
      () => findModule(modules, "libc.so.6", 42),
      (e: unknown) =>
        e instanceof ProcessError &&
        e.code === "PROC_MODULE_AMBIGUOUS" &&
        e.message === "libc.so.6 matches several files in process 42: /usr/lib/x86_64-linux-gnu/libc.so.6, /opt/lib/libc.so.6; give an absolute path",
    );
    assert.throws(
      () => findModule(modules, "libssl.so.3", 42),
      (e: unknown) => e instanceof ProcessError && e.code === "PROC_MODULE_NOT_FOUND" && /^process 42 has no module libssl.so.3 mapped \(it maps: my app, libc.so.6, memfd:arena\)$/.test(e.message),
    );
  });

  test("the same file mapped twice by the loader and by the program: the executable mapping wins", () => {
    const twice = parseMaps(`7f0000000000-7f0000001000 r--p 00000000 fe:01 9 /lib/libx.so
7f0000001000-7f0000002000 r-xp 00001000 fe:01 9 /lib/libx.so
7f0000100000-7f0000102000 r--p 00000000 fe:01 9 /lib/libx.so
`);
    const modules = modulesOf(twice);
    assert.equal(modules.length, 2);
    assert.equal(findModule(modules, "libx.so").base, 0x7f0000000000n);
  });

  test("free ranges: gaps between mappings, the stack guard gap kept, nearest first within reach", () => {
    const gaps = unmappedRanges(entries, { low: 0x10000n });
    assert.deepEqual(gaps[0], { start: 0x10000n, end: 0x55d0c0a00000n });
    assert.ok(gaps.some((g) => g.start === 0x55d0c0a03000n && g.end === 0x55d0c1000000n));
    const belowStack = gaps.find((g) => g.start === 0x7f0000401000n)!;
    assert.equal(belowStack.end, 0x7ffc00000000n - 256n * 4096n, "1 MiB below [stack] stays free");
    assert.ok(!gaps.some((g) => g.end > 0x7ffffffff000n), "nothing above the user address space");

    const near = 0x7f0000030000n; // inside libc's text
    const ranges = freeRangesNear(entries, near, 4096);
    assert.ok(ranges.length > 0);
    for (const r of ranges) {
      assert.ok(r.start >= near - REL32_REACH && r.end <= near + REL32_REACH, "within rel32 reach");
      assert.ok(!entries.some((e) => e.start < r.end && e.end > r.start), "unmapped");
    }
    // The nearest free page hugs libc from below (its end is further away).
    assert.equal(findFreeRangeNear(entries, near, 4096), 0x7effffff_f000n);
    assert.equal(findFreeRangeNear(entries, 0x7f00001fa000n, 4096), 0x7f0000208000n, "after the anonymous mapping that follows libc");
    // Just below the executable's first page when aiming there.
    assert.equal(findFreeRangeNear(entries, 0x55d0c0a00100n, 8192), 0x55d0c09fe000n);
    assert.equal(findFreeRangeNear(entries, near, 4096, { reach: 0x1000n }), undefined, "nothing free within 4 KiB");
  });
});

const skip = injectSkipReason() ?? false;

describe("symbols in a live process", { skip }, () => {
  let builder: VictimBuilder;
  before(() => {
    builder = new VictimBuilder();
  });
  after(() => builder?.remove());

  /** Starts a symbols victim and returns the addresses it printed, by name. */
  async function startSymbols(path: string): Promise<{ victim: Victim; printed: Map<string, bigint> }> {
    const victim = Victim.start(path);
    await victim.waitForLine(/^ready/);
    const printed = new Map(
      victim.lines
        .filter((l) => !l.startsWith("ready"))
        .map((l) => {
          const [name, address] = l.split(" ") as [string, string];
          return [name, BigInt(address)] as const;
        }),
    );
    return { victim, printed };
  }

  for (const variant of [
    { name: "PIE", output: "symbols-pie", flags: ["-fPIE", "-pie"] },
    { name: "non-PIE", output: "symbols-nopie", flags: ["-fno-pie", "-no-pie"] },
  ]) {
    test(`${variant.name} executable: own functions (.symtab, static too) and libc's (.dynsym, versioned, IFUNC)`, { timeout: 60_000 }, async () => {
      const path = builder.build("symbols", variant.flags, variant.output);
      const { victim, printed } = await startSymbols(path);
      const session = InjectionSession.attach(victim.pid);
      try {
        const own = session.resolveFunction(variant.output, "victim_function");
        assert.equal(own.table, ".symtab");
        assert.equal(own.address, printed.get("victim_function"));
        assert.equal(own.implementation, own.address);
        const local = session.resolveFunction(path, "local_function");
        assert.equal(local.address, printed.get("local_function"), "a static function, by absolute path");
        if (variant.name === "non-PIE") assert.equal(own.address, BigInt(own.symbol.value), "no load bias");

        // The bytes the file holds at the symbol's file offset are the ones mapped at its address.
        assert.ok(own.fileOffset !== undefined);
        const fromFile = readFileSync(path).subarray(own.fileOffset, own.fileOffset + 16);
        assert.deepEqual(Buffer.from(session.read(own.address, 16)), fromFile);

        const malloc = session.resolveFunction("libc.so.6", "malloc");
        assert.equal(malloc.table, ".dynsym");
        assert.equal(malloc.ifunc, false);
        assert.equal(malloc.implementation, printed.get("malloc"));
        assert.equal(session.resolveFunction("libc.so.6", "malloc@@GLIBC_2.2.5").address, malloc.address);
        assert.equal(session.resolveFunction("libc.so.6", "malloc@GLIBC_2.2.5").address, malloc.address);

        const strlen = session.resolveFunction("libc.so.6", "strlen");
        assert.equal(strlen.ifunc, true, "strlen is an IFUNC in glibc");
        assert.notEqual(strlen.implementation, strlen.address);
        assert.equal(strlen.implementation, printed.get("strlen"), "the resolver, called in the target, picks what dlsym returns");

        const memcpy = session.resolveFunction("libc.so.6", "memcpy");
        assert.equal(memcpy.implementation, printed.get("memcpy"), "the default version, memcpy@@GLIBC_2.14");
        assert.equal(session.resolveFunction("libc.so.6", "memcpy@@GLIBC_2.14").address, memcpy.address);
        const old = session.resolveFunction("libc.so.6", "memcpy@GLIBC_2.2.5");
        assert.notEqual(old.address, memcpy.address, "the compat version is another function");
        assert.equal(old.symbol.version?.hidden, true);

        // libc by its path through the /lib -> /usr/lib symlink resolves to the same module.
        const libc = session.findModule("libc.so.6");
        assert.equal(session.findModule(realpathSync(libc.path)).base, libc.base);

        assert.throws(
          () => session.resolveFunction("libc.so.6", "malloc@GLIBC_9.9"),
          (e: unknown) => e instanceof ProcessError && e.code === "PROC_SYMBOL_NOT_FOUND" && e.message === `malloc@GLIBC_9.9 is not in ${libc.path} (it has malloc@@GLIBC_2.2.5)`,
        );
        assert.throws(
          () => session.resolveFunction("libc.so.6", "no_such_function"),
          (e: unknown) => e instanceof ProcessError && e.message.startsWith(`no function no_such_function in ${libc.path}`),
        );
        assert.throws(() => session.resolveFunction("libnothing.so", "f"), (e: unknown) => e instanceof ProcessError && e.code === "PROC_MODULE_NOT_FOUND");

        // The resolved function really is the function: call it in the target.
        assert.equal(session.callFunction(own.implementation, [5]), 16n, "victim_function(5) = 5*3+1");
        const text = session.mmap({ length: 4096 });
        session.write(text, Buffer.from("seventeen chars!!\0"));
        assert.equal(session.callFunction(strlen.implementation, [text]), 17n);
        session.munmap(text, 4096);
      } finally {
        session.detach();
      }
      assert.equal((await victim.finish()).code, 0);
    });
  }

  test("a stripped executable: its own functions are not found, with the reason", { timeout: 60_000 }, async () => {
    const path = builder.build("symbols", [], "symbols-stripped");
    execFileSync("strip", [path]);
    const { victim } = await startSymbols(path);
    const session = InjectionSession.attach(victim.pid);
    try {
      assert.throws(
        () => session.resolveFunction("symbols-stripped", "victim_function"),
        (e: unknown) =>
          e instanceof ProcessError &&
          e.code === "PROC_SYMBOL_NOT_FOUND" &&
          e.message === `no function victim_function in ${path} (the file is stripped: it has no .symtab, and its .dynsym does not export the name)`,
      );
      // libc still resolves.
      assert.ok(session.resolveFunction("libc.so.6", "free").address > 0n);
    } finally {
      session.detach();
    }
    assert.equal((await victim.finish()).code, 0);
  });

  test("our own maps parse, and contain node and libc", () => {
    const modules = modulesOf(readMaps(process.pid));
    assert.ok(modules.some((m) => m.name === "libc.so.6"));
    assert.ok(modules.some((m) => m.path === realpathSync(process.execPath)));
  });
});
