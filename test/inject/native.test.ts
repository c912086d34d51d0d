// Byte layouts of the ptrace/wait interfaces, without a target process.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { restartPending, resumeAddress } from "../../src/inject/thread.js";
import { decodeUserRegs, encodeUserRegs, USER_REGS_FIELDS, USER_REGS_OFFSET, USER_REGS_SIZE, asSigned, type UserRegs } from "../../src/native/user-regs.js";
import { decodeWaitStatus } from "../../src/native/wait.js";
import { AuxType, parseAuxv } from "../../src/process/auxv.js";

describe("wait statuses", () => {
  test("exit, signal death, ptrace stops with and without an event", () => {
    assert.deepEqual(decodeWaitStatus(7 << 8), { kind: "exited", code: 7 });
    assert.deepEqual(decodeWaitStatus(9), { kind: "killed", signal: 9, coreDumped: false });
    assert.deepEqual(decodeWaitStatus(11 | 0x80), { kind: "killed", signal: 11, coreDumped: true });
    // The status of a PTRACE_INTERRUPT stop as measured on this machine: 0x80057f.
    assert.deepEqual(decodeWaitStatus(0x80057f), { kind: "stopped", signal: 5, event: 128 });
    assert.deepEqual(decodeWaitStatus((3 << 16) | (5 << 8) | 0x7f), { kind: "stopped", signal: 5, event: 3 });
    assert.deepEqual(decodeWaitStatus((10 << 8) | 0x7f), { kind: "stopped", signal: 10, event: 0 });
    assert.deepEqual(decodeWaitStatus(0xffff), { kind: "continued" });
  });
});

describe("user_regs_struct", () => {
  test("27 words in the kernel's order; the first 21 match pt_regs", () => {
    assert.equal(USER_REGS_SIZE, 216);
    assert.equal(USER_REGS_FIELDS.length, 27);
    // pt_regs offsets (bpftime.md §6): rax 80, orig_rax 120, rip 128, rsp 152.
    assert.equal(USER_REGS_OFFSET.rax, 80);
    assert.equal(USER_REGS_OFFSET.orig_rax, 120);
    assert.equal(USER_REGS_OFFSET.rip, 128);
    assert.equal(USER_REGS_OFFSET.rsp, 152);
    assert.equal(USER_REGS_OFFSET.gs, 208);
  });

  test("encode and decode are inverse, and values are little-endian unsigned", () => {
    const regs = Object.fromEntries(USER_REGS_FIELDS.map((name, i) => [name, BigInt(i) * 0x0101010101010101n])) as UserRegs;
    regs.orig_rax = -1n; // stored unsigned
    const bytes = new Uint8Array(USER_REGS_SIZE);
    const view = new DataView(bytes.buffer);
    encodeUserRegs(regs, view);
    assert.deepEqual([...bytes.subarray(120, 128)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert.deepEqual([...bytes.subarray(8, 16)], [1, 1, 1, 1, 1, 1, 1, 1], "r14 is word 1");
    const back = decodeUserRegs(view);
    assert.equal(back.orig_rax, 2n ** 64n - 1n);
    assert.equal(asSigned(back.orig_rax), -1n);
    assert.equal(back.rip, regs.rip);
  });

  test("a thread stopped in an interrupted system call resumes on the syscall instruction", () => {
    const base = Object.fromEntries(USER_REGS_FIELDS.map((name) => [name, 0n])) as UserRegs;
    const inNanosleep = { ...base, orig_rax: 230n, rax: BigInt.asUintN(64, -516n), rip: 0x1000n };
    assert.equal(restartPending(inNanosleep), true);
    assert.equal(resumeAddress(inNanosleep), 0xffen);
    const inRead = { ...base, orig_rax: 0n, rax: BigInt.asUintN(64, -512n), rip: 0x2000n };
    assert.equal(resumeAddress(inRead), 0x1ffen);
    const returned = { ...base, orig_rax: 0n, rax: 5n, rip: 0x3000n };
    assert.equal(restartPending(returned), false, "a finished read");
    const notInSyscall = { ...base, orig_rax: BigInt.asUintN(64, -1n), rax: BigInt.asUintN(64, -512n), rip: 0x4000n };
    assert.equal(resumeAddress(notInSyscall), 0x4000n, "orig_rax = -1: no system call to restart");
  });
});

describe("auxv", () => {
  test("pairs up to AT_NULL", () => {
    const bytes = new Uint8Array(16 * 4);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt(AuxType.AT_PAGESZ), true);
    view.setBigUint64(8, 4096n, true);
    view.setBigUint64(16, BigInt(AuxType.AT_ENTRY), true);
    view.setBigUint64(24, 0x401020n, true);
    // AT_NULL, then garbage that must be ignored
    view.setBigUint64(48, 99n, true);
    const auxv = parseAuxv(bytes);
    assert.equal(auxv.get(AuxType.AT_ENTRY), 0x401020n);
    assert.equal(auxv.get(AuxType.AT_PAGESZ), 4096n);
    assert.equal(auxv.size, 2);
  });
});
