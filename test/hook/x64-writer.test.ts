import assert from "node:assert/strict";
import { test } from "node:test";
import { jumpIfTo, jumpTo, pushAddress } from "../../src/hook/emit/far-reach.js";
import { Cond, HookCodeRangeError, mem, Reg, rip, X64Writer } from "../../src/hook/emit/x64-writer.js";
import { hexBytes, walkCode } from "./support/code-walk.js";

// Expected bytes as GNU objdump 2.40 decodes them.
test("x64 writer: encodings of the stub instructions", () => {
  const cases: [string, (w: X64Writer) => void][] = [
    ["41 57", (w) => w.push(Reg.r15)],
    ["41 5c", (w) => w.pop(Reg.r12)],
    ["6a ff", (w) => w.pushImm32(-1)],
    ["68 78 56 34 12", (w) => w.pushImm32(0x12345678)],
    ["48 89 e3", (w) => w.mov(Reg.rbx, Reg.rsp)],
    ["48 8b 83 c8 00 00 00", (w) => w.load(Reg.rax, mem(Reg.rbx, 200))],
    ["4d 8b 2c 24", (w) => w.load(Reg.r13, mem(Reg.r12))],
    ["48 8b 45 00", (w) => w.load(Reg.rax, mem(Reg.rbp))],
    ["48 89 54 c6 10", (w) => w.store(mem(Reg.rsi, 16, Reg.rax, 8), Reg.rdx)],
    ["48 c7 83 a8 00 00 00 00 00 00 00", (w) => w.storeImm(mem(Reg.rbx, 168), 0)],
    ["c7 44 24 04 ff 7f 00 00", (w) => w.storeImm32(mem(Reg.rsp, 4), 0x7fff)],
    ["b8 05 00 00 00", (w) => w.movImm(Reg.rax, 5n)],
    ["49 b9 78 56 34 12 ff 7f 00 00", (w) => w.movImm(Reg.r9, 0x7fff12345678n)],
    ["48 c7 c1 fe ff ff ff", (w) => w.movImm(Reg.rcx, -2n)],
    ["48 8d 64 24 80", (w) => w.lea(Reg.rsp, mem(Reg.rsp, -128))],
    ["48 83 e4 f0", (w) => w.aluImm("and", Reg.rsp, -16)],
    ["48 81 ec 00 01 00 00", (w) => w.aluImm("sub", Reg.rsp, 256)],
    ["4c 39 c0", (w) => w.alu("cmp", Reg.rax, Reg.r8)],
    ["45 31 c9", (w) => w.zero(Reg.r9)],
    ["48 c1 e9 36", (w) => w.shr(Reg.rcx, 54)],
    ["48 69 c9 b1 79 37 9e", (w) => w.imulImm(Reg.rcx, Reg.rcx, 0x9e3779b1 | 0)],
    ["49 0f af c8", (w) => w.imul(Reg.rcx, Reg.r8)],
    ["f0 4c 0f b1 06", (w) => w.lockCmpxchg(mem(Reg.rsi), Reg.r8)],
    ["f0 48 83 00 01", (w) => w.lockAddImm(mem(Reg.rax), 1)],
    ["41 ff 14 24", (w) => w.call(mem(Reg.r12))],
    ["ff 64 24 f8", (w) => w.jmpIndirect(mem(Reg.rsp, -8))],
    ["44 0f 29 8c 24 90 00 00 00", (w) => w.storeXmm(mem(Reg.rsp, 0x90), 9)],
    ["44 0f 28 bc 24 f0 00 00 00", (w) => w.loadXmm(15, mem(Reg.rsp, 0xf0))],
    ["64 4c 8b 04 25 00 00 00 00", (w) => w.loadFs(Reg.r8, 0)],
    ["f3 49 0f ae c0", (w) => w.rdfsbase(Reg.r8)],
    ["0f ba a3 90 00 00 00 0a", (w) => w.bt(mem(Reg.rbx, 0x90), 10)],
    ["0f b6 8b 91 00 00 00", (w) => w.loadByteZeroExtended(Reg.rcx, mem(Reg.rbx, 0x91))],
    ["88 c4 80 c1 7f 9e", (w) => { w.movAhAl(); w.addCl(0x7f); w.sahf(); }],
  ];
  for (const [expected, emit] of cases) {
    const w = new X64Writer(0x1000n);
    emit(w);
    assert.equal(hexBytes(w.finish()), expected);
  }
});

test("x64 writer: labels and RIP-relative references resolve against the origin", () => {
  const w = new X64Writer(0x7f0000001000n);
  const target = w.label();
  w.jmp(target);
  w.jcc(Cond.ne, target);
  w.lea(Reg.rdx, rip(target));
  w.storeImm(rip(0x7f0000002000n), 7); // the disp32 is relative to the end, after the imm32
  w.bind(target);
  w.ret();
  const walked = walkCode(w.finish(), w.origin);
  const end = walked.at(-1)!.address;
  assert.equal(walked[0]!.branchTarget, end);
  assert.equal(walked[1]!.branchTarget, end);
  assert.equal(walked[2]!.ripTarget, end);
  assert.equal(walked[3]!.ripTarget, 0x7f0000002000n);
});

test("x64 writer: references beyond ±2 GB are an error, and the far forms avoid them", () => {
  const w = new X64Writer(0x1000n);
  w.jmp(0x1000n + 0x100000000n);
  assert.throws(() => w.finish(), HookCodeRangeError);
  const far = 0x7fff00000000n;
  const f = new X64Writer(0x1000n);
  jumpTo(f, far);
  jumpIfTo(f, Cond.e, far);
  jumpTo(f, 0x2000n);
  const walked = walkCode(f.finish(), 0x1000n);
  assert.equal(walked[0]!.absoluteTarget, far);
  assert.equal(hexBytes(walked[1]!.bytes), "75 0e");
  assert.equal(walked[2]!.absoluteTarget, far);
  assert.equal(walked[3]!.branchTarget, 0x2000n);
});

test("x64 writer: pushAddress pushes any 64-bit value without a register", () => {
  const cases: [bigint, string][] = [
    [0x12345678n, "68 78 56 34 12"],
    [0xffffffffffffff80n, "6a 80"],
    [0x7f0012345678n, "68 78 56 34 12 c7 44 24 04 00 7f 00 00"],
    [0x80000000n, "68 00 00 00 80 c7 44 24 04 00 00 00 00"],
  ];
  for (const [value, expected] of cases) {
    const w = new X64Writer(0n);
    pushAddress(w, value);
    assert.equal(hexBytes(w.finish()), expected, value.toString(16));
  }
});
