// End to end in this process: a C library built with gcc is loaded with koffi, its functions are patched
// with the generated stubs, and calling them runs small native programs exactly as a hooked target would.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import koffi from "koffi";
import { HookError } from "../../src/hook/errors.js";
import { Invocation, PtRegs, USER_CS, USER_SS } from "../../src/hook/trampoline/frame-layout.js";
import { threadKeySourceFor } from "../../src/hook/trampoline/thread-key.js";
import type { ThreadKeySource } from "../../src/hook/trampoline/thread-stacks.js";
import { HookLab, type InstalledHook, type LabHookOptions } from "./support/hook-lab.js";
import { nativeBytes, symbolAddress } from "./support/local-process.js";
import {
  clobberingProgram,
  countingProgram,
  overridingProgram,
  recordingProgram,
  summingProgram,
} from "./support/test-programs.js";
import { buildVictimLibrary, gccAvailable, type VictimLibrary } from "./support/victim-library.js";

const skip = process.arch !== "x64" || process.platform !== "linux"
  ? "x86-64 Linux only"
  : !gccAvailable()
    ? "gcc is not installed (needed to build the victim library)"
    : false;

const keySource: ThreadKeySource = process.platform === "linux" ? threadKeySourceFor(new Uint8Array(readFileSync("/proc/self/auxv"))) : "tcb-self";

describe("in-process hooks", { skip }, () => {
  let victim: VictimLibrary;
  let lib: ReturnType<typeof koffi.load>;
  let lab: HookLab;
  const hooks: InstalledHook[] = [];
  const originals = new Map<string, Uint8Array>();

  const address = (name: string): bigint => symbolAddress(victim.path, name);
  const size = (name: string): number => victim.symbols.get(name)!.size;
  const hook = (name: string, options: LabHookOptions = {}): InstalledHook => {
    const at = address(name);
    if (!originals.has(name)) originals.set(name, nativeBytes(at, size(name)).slice());
    const installed = lab.hook(name, at, size(name), options);
    hooks.push(installed);
    return installed;
  };
  const unhook = (installed: InstalledHook): void => {
    installed.unpatch();
    hooks.splice(hooks.indexOf(installed), 1);
  };

  before(() => {
    victim = buildVictimLibrary();
    lib = koffi.load(victim.path);
    lab = new HookLab(address("add2"), keySource);
  });

  after(() => {
    for (const installed of [...hooks]) unhook(installed);
    victim?.remove();
  });

  it("uprobe: runs the program on every call with the arguments in a kernel-layout pt_regs", () => {
    const sum6 = lib.func("long sum6(long, long, long, long, long, long)");
    const cells = { count: lab.cell(), di: lab.cell(), si: lab.cell(), dx: lab.cell(), cx: lab.cell(), r8: lab.cell(), r9: lab.cell() };
    const more = { ip: lab.cell(), sp: lab.cell(), flags: lab.cell(), cs: lab.cell(), ss: lab.cell(), orig: lab.cell(), funcIp: lab.cell(), cookie: lab.cell() };
    const installed = hook("sum6");
    installed.setEntryPrograms([
      { entry: countingProgram(lab, cells.count), cookie: 0n },
      {
        entry: recordingProgram(lab, [
          [PtRegs.rdi, cells.di], [PtRegs.rsi, cells.si], [PtRegs.rdx, cells.dx], [PtRegs.rcx, cells.cx], [PtRegs.r8, cells.r8], [PtRegs.r9, cells.r9],
          [PtRegs.rip, more.ip], [PtRegs.rsp, more.sp], [PtRegs.eflags, more.flags], [PtRegs.cs, more.cs], [PtRegs.ss, more.ss],
          [PtRegs.orig_rax, more.orig], [Invocation.funcIp, more.funcIp], [Invocation.cookie, more.cookie],
        ]),
        cookie: 0xc00c1en,
      },
    ]);
    assert.equal(sum6(1, 2, 3, 4, 5, 6), 1 + 4 + 9 + 16 + 25 + 36);
    assert.equal(sum6(-1, 20, 30, 40, 50, 60), -1 + 40 + 90 + 160 + 250 + 360);
    assert.equal(lab.u64(cells.count), 2n);
    assert.deepEqual(
      [cells.di, cells.si, cells.dx, cells.cx, cells.r8, cells.r9].map((c) => BigInt.asIntN(64, lab.u64(c))),
      [-1n, 20n, 30n, 40n, 50n, 60n],
    );
    assert.equal(lab.u64(more.ip), address("sum6"), "pt_regs.rip is the probed address (the endbr64 stays before the patch)");
    assert.equal(lab.u64(more.funcIp), address("sum6"));
    assert.equal(lab.u64(more.sp) % 16n, 8n, "pt_regs.rsp is the caller's rsp at entry: it points at the return address");
    assert.equal(lab.u64(more.flags) & 2n, 2n, "eflags has its always-one bit");
    assert.equal(lab.u64(more.cs), BigInt(USER_CS));
    assert.equal(lab.u64(more.ss), BigInt(USER_SS));
    assert.equal(lab.u64(more.orig), 0xffffffffffffffffn);
    assert.equal(lab.u64(more.cookie), 0xc00c1en);
  });

  it("several programs with their own cookies, attached and detached without touching the patch", () => {
    const add2 = lib.func("long add2(long, long)");
    const total = lab.cell();
    const installed = hook("add2");
    const patched = nativeBytes(installed.plan.patchAddress, installed.plan.patchLength).slice();
    const program = summingProgram(lab, Invocation.cookie, total);
    installed.setEntryPrograms([{ entry: program, cookie: 10n }, { entry: program, cookie: 32n }]);
    for (let i = 0; i < 3; i++) assert.equal(add2(i, 1), i + 1);
    assert.equal(lab.u64(total), 3n * 42n);
    installed.setEntryPrograms([{ entry: program, cookie: 1000n }]);
    assert.equal(add2(2, 2), 4);
    assert.equal(lab.u64(total), 3n * 42n + 1000n);
    installed.setEntryPrograms([]);
    assert.equal(add2(2, 3), 5);
    assert.equal(lab.u64(total), 3n * 42n + 1000n);
    assert.deepEqual(nativeBytes(installed.plan.patchAddress, installed.plan.patchLength), patched, "the patch was never rewritten");
  });

  it("override: the function does not run and the caller gets the value", () => {
    const fib = lib.func("long fib(long)");
    const reset = lib.func("void fib_reset(void)");
    const calls = lib.func("long fib_get_calls(void)");
    const seen = lab.cell();
    const installed = hook("fib");
    installed.setEntryPrograms([{ entry: countingProgram(lab, seen), cookie: 0n }, { entry: overridingProgram(lab, -7), cookie: 0n }]);
    reset();
    assert.equal(fib(10), -7);
    assert.equal(calls(), 0, "fib's body never ran");
    assert.equal(lab.u64(seen), 1n);
    installed.setEntryPrograms([]);
    assert.equal(fib(10), 55);
    unhook(installed);
  });

  it("uretprobe: sees the return value, with pt_regs.rip the real return address", () => {
    const add2 = lib.func("long add2(long, long)");
    const installed = hooks.find((h) => h.plan.code.name === "add2")!;
    const ret = lab.cell();
    const ip = lab.cell();
    const slot = lab.cell();
    const sp = lab.cell();
    installed.setReturnPrograms([{ entry: recordingProgram(lab, [[PtRegs.rax, ret], [PtRegs.rip, ip], [-8, slot], [PtRegs.rsp, sp]]), cookie: 0n }]);
    assert.equal(add2(40, 2), 42);
    assert.equal(lab.u64(ret), 42n);
    assert.equal(lab.u64(ip), lab.u64(slot), "rip = the address stored where the return address was (regs->sp - 8)");
    assert.notEqual(lab.u64(ip), installed.slice.returnStub);
    assert.equal(lab.u64(sp) % 16n, 0n, "rsp is the caller's after the return");
    // Entry and return programs together, then the override seen by the return program.
    const entries = lab.cell();
    installed.setEntryPrograms([{ entry: countingProgram(lab, entries), cookie: 0n }, { entry: overridingProgram(lab, 1234), cookie: 0n }]);
    assert.equal(add2(1, 1), 1234);
    assert.equal(lab.u64(ret), 1234n);
    assert.equal(lab.u64(entries), 1n);
    installed.setEntryPrograms([]);
    installed.setReturnPrograms([]);
    assert.equal(add2(1, 1), 2);
  });

  it("uretprobe under recursion: one return per call, in order", () => {
    const fib = lib.func("long fib(long)");
    const reset = lib.func("void fib_reset(void)");
    const calls = lib.func("long fib_get_calls(void)");
    const returnSum = lib.func("long fib_get_return_sum(void)");
    const entries = lab.cell();
    const returns = lab.cell();
    const sum = lab.cell();
    const installed = hook("fib");
    installed.setEntryPrograms([{ entry: countingProgram(lab, entries), cookie: 0n }]);
    installed.setReturnPrograms([{ entry: summingProgram(lab, PtRegs.rax, sum, returns), cookie: 0n }]);
    reset();
    assert.equal(fib(20), 6765);
    assert.equal(calls(), 21891);
    assert.equal(lab.u64(entries), 21891n);
    assert.equal(lab.u64(returns), 21891n);
    assert.equal(lab.u64(sum), BigInt(returnSum()));
    unhook(installed);
  });

  for (const key of ["fs-base", "tcb-self"] as const) {
    it(`8 threads created after attach, counted exactly (thread key: ${key})`, (t) => {
      if (key === "fs-base" && keySource !== "fs-base") {
        t.skip("the kernel does not enable FSGSBASE here");
        return;
      }
      const runThreads = lib.func("long run_threads(int, long)");
      const counted = (x: bigint): bigint => x * 3n + 1n;
      const iterations = 20000n;
      const perThread = (iterations * (iterations - 1n) / 2n) * 3n + iterations;
      const entries = lab.cell();
      const returns = lab.cell();
      const sum = lab.cell();
      const threadStacks = lab.threadStackTable({ slotCountLog2: 6, slotSizeLog2: 8, maxProbes: 8 }, key);
      const installed = hook("counted", { threadStacks });
      installed.setEntryPrograms([{ entry: countingProgram(lab, entries), cookie: 0n }]);
      installed.setReturnPrograms([{ entry: summingProgram(lab, PtRegs.rax, sum, returns), cookie: 0n }]);
      assert.equal(BigInt(runThreads(8, Number(iterations))), 8n * perThread);
      assert.equal(lab.u64(entries), 8n * iterations);
      assert.equal(lab.u64(returns), 8n * iterations);
      assert.equal(lab.u64(sum), 8n * perThread);
      assert.equal(counted(2n), 7n);
      unhook(installed);
    });
  }

  it("fail open: a full thread table or a too-deep recursion skips uretprobes, never the calls", () => {
    const runThreads = lib.func("long run_threads(int, long)");
    const entries = lab.cell();
    const returns = lab.cell();
    // A table whose two slots other threads already hold: no thread of this run can get one.
    const full = lab.threadStackTable({ slotCountLog2: 1, slotSizeLog2: 8, maxProbes: 2 }, keySource);
    lab.setU64(full.address, 0x1111n);
    lab.setU64(full.address + 256n, 0x2222n);
    const installed = hook("counted", { threadStacks: full });
    installed.setEntryPrograms([{ entry: countingProgram(lab, entries), cookie: 0n }]);
    installed.setReturnPrograms([{ entry: countingProgram(lab, returns), cookie: 0n }]);
    const iterations = 5000;
    const perThread = (BigInt(iterations) * BigInt(iterations - 1) / 2n) * 3n + BigInt(iterations);
    assert.equal(BigInt(runThreads(8, iterations)), 8n * perThread);
    assert.equal(lab.u64(entries), 8n * BigInt(iterations));
    assert.equal(lab.u64(returns), 0n, "every uretprobe skipped");
    unhook(installed);

    // Room for 3 nested frames: deeper fib calls return normally without their uretprobe.
    const fib = lib.func("long fib(long)");
    const shallow = lab.threadStackTable({ slotCountLog2: 2, slotSizeLog2: 6, maxProbes: 4 }, keySource);
    const deep = hook("fib", { threadStacks: shallow });
    const fibReturns = lab.cell();
    deep.setReturnPrograms([{ entry: countingProgram(lab, fibReturns), cookie: 0n }]);
    assert.equal(fib(15), 610);
    const fibSeen = lab.u64(fibReturns);
    assert.ok(fibSeen > 0n && fibSeen < 1973n, `fib returns seen: ${fibSeen}`);
    unhook(deep);
  });

  it("uretprobe after longjmp: abandoned frames are dropped, the outer return still found", () => {
    const catcher = lib.func("long catcher(long)");
    const returns = { catcher: lab.cell(), thrower: lab.cell() };
    const hookedCatcher = hook("catcher");
    const hookedThrower = hook("thrower");
    hookedCatcher.setReturnPrograms([{ entry: countingProgram(lab, returns.catcher), cookie: 0n }]);
    hookedThrower.setReturnPrograms([{ entry: countingProgram(lab, returns.thrower), cookie: 0n }]);
    for (let i = 0; i < 5; i++) assert.equal(catcher(3), 77);
    assert.equal(lab.u64(returns.catcher), 5n);
    assert.equal(lab.u64(returns.thrower), 0n, "no thrower frame ever returned");
    unhook(hookedThrower);
    unhook(hookedCatcher);
  });

  it("uretprobe across fork: parent and child each return through their own copy of the frames", () => {
    const forkTest = lib.func("long fork_test(long)");
    const returns = lab.cell();
    const installed = hook("forked_value");
    installed.setReturnPrograms([{ entry: countingProgram(lab, returns), cookie: 0n }]);
    assert.equal(forkTest(5), 5 + 42, "the child exited 42: its forked_value returned 1005");
    assert.equal(lab.u64(returns), 1n, "the child's count went to its own memory");
    unhook(installed);
  });

  it("registers, vector registers and flags survive programs that clobber them", () => {
    const mix8 = lib.func("double mix8(double, double, double, double, double, double, double, double)");
    const half = lib.func("double half(double)");
    const sum6 = lib.func("long sum6(long, long, long, long, long, long)");
    const clobber = clobberingProgram(lab);
    const m = hook("mix8");
    m.setEntryPrograms([{ entry: clobber, cookie: 0n }]);
    m.setReturnPrograms([{ entry: clobber, cookie: 0n }]);
    assert.equal(mix8(1, 2, 3, 4, 5, 6, 7, 8.5), 1 + 4 + 9 + 16 + 25 + 36 + 49 + 68);
    const h = hook("half");
    h.setEntryPrograms([{ entry: clobber, cookie: 0n }]);
    h.setReturnPrograms([{ entry: clobber, cookie: 0n }]);
    assert.equal(half(3), 1.5, "xmm0 survives both stubs");
    const s = hooks.find((x) => x.plan.code.name === "sum6")!;
    s.setEntryPrograms([{ entry: clobber, cookie: 0n }]);
    s.setReturnPrograms([{ entry: clobber, cookie: 0n }]);
    assert.equal(sum6(1, 1, 1, 1, 1, 1), 21);
  });

  it("probe inside a function body: red zone, flags and rip as at the probed instruction", () => {
    const probe = lib.func("long asm_offset_probe(long, long)");
    assert.equal(probe(1, 5), 1 + 1 + 7);
    const ip = lab.cell();
    const redZone = lab.cell();
    const installed = hook("asm_offset_probe", { offset: 8 });
    assert.equal(installed.plan.patchAddress, address("asm_offset_probe") + 8n);
    installed.setEntryPrograms([
      { entry: clobberingProgram(lab), cookie: 0n },
      { entry: recordingProgram(lab, [[PtRegs.rip, ip], [-8, redZone]]), cookie: 0n },
    ]);
    assert.equal(probe(1, 5), 1 + 1 + 7, "CF from cmp survives (a < b)");
    assert.equal(lab.u64(redZone), 1n, "the red zone still holds a");
    assert.equal(probe(5, 1), 0 + 5 + 7, "CF clear survives too");
    assert.equal(lab.u64(ip), address("asm_offset_probe") + 8n);
  });

  it("hand-written prologues: short jcc, call, RIP-relative load, get-PC call, tail jmp", () => {
    const count = lab.cell();
    const returns = lab.cell();
    const check = (name: string, proto: string, cases: [number[], number | bigint][]): void => {
      const fn = lib.func(proto);
      const installed = hook(name);
      installed.setEntryPrograms([{ entry: countingProgram(lab, count), cookie: 0n }]);
      installed.setReturnPrograms([{ entry: countingProgram(lab, returns), cookie: 0n }]);
      const before = lab.u64(count);
      for (const [args, expected] of cases) {
        const result: unknown = fn(...args);
        assert.equal(typeof expected === "bigint" ? BigInt(result as number | bigint) : result, expected, `${name}(${args.join(", ")})`);
      }
      assert.equal(lab.u64(count) - before, BigInt(cases.length), `${name}: program runs`);
    };
    check("asm_jcc_prologue", "long asm_jcc_prologue(long)", [[[0], 100], [[5], 6]]);
    check("asm_call_prologue", "long asm_call_prologue(long)", [[[7], 21], [[-3], -9]]);
    check("asm_rip_prologue", "long asm_rip_prologue(long)", [[[5], 1005]]);
    check("asm_jmp_only", "long asm_jmp_only(long)", [[[21], 42]]);
    const getPc = address("asm_getpc");
    check("asm_getpc", "uint64_t asm_getpc(void)", [[[], getPc + 5n]]);
    assert.equal(lab.u64(returns), 7n);
  });

  it("refusals name the function and the reason, and leave the code untouched", () => {
    for (const [name, code, message] of [
      ["asm_branch_into", "HOOK_BRANCH_INTO_PATCH", /function asm_branch_into: a branch at \+0x8 jumps to \+0x2, into the first 5 bytes/],
      ["asm_too_short", "HOOK_TOO_SHORT", /function asm_too_short: too short to patch/],
    ] as const) {
      const before = nativeBytes(address(name), size(name)).slice();
      assert.throws(() => hook(name), (e: unknown) => e instanceof HookError && e.code === code && message.test(e.message));
      assert.deepEqual(nativeBytes(address(name), size(name)), before);
    }
    const branchInto = lib.func("long asm_branch_into(long)");
    assert.equal(branchInto(4), 10);
  });

  it("unpatching restores every hooked function's original bytes exactly", () => {
    for (const installed of [...hooks]) unhook(installed);
    assert.ok(originals.size >= 10);
    for (const [name, bytes] of originals) assert.deepEqual(nativeBytes(address(name), bytes.length), bytes, name);
    const add2 = lib.func("long add2(long, long)");
    assert.equal(add2(2, 3), 5);
  });
});
