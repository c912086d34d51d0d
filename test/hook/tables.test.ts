import assert from "node:assert/strict";
import { test } from "node:test";
import { threadsInsidePatch } from "../../src/hook/patch-safety.js";
import { planPrologue } from "../../src/hook/relocator/plan.js";
import { auxvValue, fsgsbaseEnabled, threadKeySourceFor } from "../../src/hook/trampoline/thread-key.js";
import { Invocation, PT_REGS_SIZE, PtRegs } from "../../src/hook/trampoline/frame-layout.js";
import { decodeProgramTable, encodeProgramTable, programTableSize } from "../../src/hook/trampoline/program-table.js";
import {
  compactThreadStacks,
  readThreadStacks,
  threadSlotIndex,
  threadStackDepth,
  threadStackTableSize,
} from "../../src/hook/trampoline/thread-stacks.js";

test("frame layout: pt_regs is the kernel's 21 u64 fields and the record follows it", () => {
  const order = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss"] as const;
  order.forEach((name, i) => assert.equal(PtRegs[name], i * 8, name));
  assert.equal(PT_REGS_SIZE, 168);
  assert.equal(Invocation.overrideFlag, PT_REGS_SIZE);
});

test("program table: count then {entry, cookie} pairs", () => {
  const programs = [
    { entry: 0x7f0000001000n, cookie: 1n },
    { entry: 0x7f0000002000n, cookie: 0xffffffffffffffffn },
  ];
  const bytes = encodeProgramTable(programs);
  assert.equal(bytes.length, programTableSize(2));
  assert.equal(new DataView(bytes.buffer).getBigUint64(0, true), 2n);
  assert.equal(new DataView(bytes.buffer).getBigUint64(16, true), 1n);
  assert.deepEqual(decodeProgramTable(bytes), programs);
  assert.deepEqual(decodeProgramTable(encodeProgramTable([])), []);
});

const SHAPE = { slotCountLog2: 4, slotSizeLog2: 6, maxProbes: 4 } as const;

function slotWith(table: Uint8Array, index: number, key: bigint, frames: [bigint, bigint][]): void {
  const view = new DataView(table.buffer);
  const base = index * 64;
  view.setBigUint64(base, key, true);
  view.setBigUint64(base + 8, BigInt(frames.length), true);
  frames.forEach(([ret, location], f) => {
    view.setBigUint64(base + 16 + f * 16, ret, true);
    view.setBigUint64(base + 24 + f * 16, location, true);
  });
}

test("thread stacks: sizes, hash and reading the table back", () => {
  assert.equal(threadStackTableSize(SHAPE), 16 * 64);
  assert.equal(threadStackDepth(SHAPE), 3);
  assert.equal(threadStackDepth({ slotSizeLog2: 10 }), 63);
  // Thread pointers of glibc threads lie 8 MiB + a guard page apart; they must spread over the slots.
  const indexes = new Set<number>();
  for (let i = 0n; i < 16n; i++) indexes.add(threadSlotIndex(0x7f0000000000n + i * 0x801000n, 10));
  assert.ok(indexes.size >= 15, `16 threads use ${indexes.size} distinct slots`);
  const table = new Uint8Array(threadStackTableSize(SHAPE));
  slotWith(table, 3, 0x7f00001000n, [[0x401000n, 0x7ffe0000n]]);
  slotWith(table, 9, 0x7f00002000n, []);
  const slots = readThreadStacks(table, SHAPE);
  assert.deepEqual(slots.map((s) => [s.index, s.key, s.frames.length]), [[3, 0x7f00001000n, 1], [9, 0x7f00002000n, 0]]);
  assert.deepEqual(slots[0]!.frames[0], { returnAddress: 0x401000n, location: 0x7ffe0000n });
});

test("thread stacks: compaction frees idle slots and puts live ones where a probe finds them", () => {
  const table = new Uint8Array(threadStackTableSize(SHAPE));
  const live = 0x7f00003000n;
  const home = threadSlotIndex(live, SHAPE.slotCountLog2);
  // Idle threads took the live thread's home slot and the one after it.
  slotWith(table, home, 0x7f00004000n, []);
  slotWith(table, (home + 1) % 16, 0x7f00005000n, []);
  slotWith(table, (home + 2) % 16, live, [[0x401234n, 0x7ffd0000n]]);
  const compacted = compactThreadStacks(table, SHAPE);
  const slots = readThreadStacks(compacted, SHAPE);
  assert.equal(slots.length, 1);
  assert.equal(slots[0]!.index, home);
  assert.equal(slots[0]!.key, live);
  assert.deepEqual(slots[0]!.frames, [{ returnAddress: 0x401234n, location: 0x7ffd0000n }]);
});

test("thread key: HWCAP2_FSGSBASE in the auxiliary vector selects rdfsbase", () => {
  const auxv = (entries: [bigint, bigint][]): Uint8Array => {
    const bytes = new Uint8Array((entries.length + 1) * 16);
    const view = new DataView(bytes.buffer);
    entries.forEach(([type, value], i) => {
      view.setBigUint64(i * 16, type, true);
      view.setBigUint64(i * 16 + 8, value, true);
    });
    return bytes;
  };
  const withBit = auxv([[6n, 4096n], [26n, 0b10n]]);
  assert.equal(auxvValue(withBit, 6n), 4096n);
  assert.equal(fsgsbaseEnabled(withBit), true);
  assert.equal(threadKeySourceFor(withBit), "fs-base");
  assert.equal(threadKeySourceFor(auxv([[26n, 0b01n]])), "tcb-self");
  assert.equal(threadKeySourceFor(auxv([[6n, 4096n]])), "tcb-self");
});

test("patch safety: a thread stopped strictly inside the patched bytes blocks the patch", () => {
  const plan = planPrologue({ name: "f", address: 0x1000n, bytes: Uint8Array.of(0x55, 0x48, 0x89, 0xe5, 0x53, 0xc3), size: 6 });
  assert.equal(threadsInsidePatch(plan, [0x1000n, 0x1005n, 0x2000n]), undefined);
  assert.match(threadsInsidePatch(plan, [0x2000n, 0x1001n]) ?? "", /function f: a thread is stopped at 0x1001, inside the bytes to patch \(0x1000\.\.0x1005\)/);
});
