import assert from "node:assert/strict";
import { test } from "node:test";
import { HookError, type HookErrorCode } from "../../src/hook/errors.js";
import { planPrologue, type PlanOptions } from "../../src/hook/relocator/plan.js";
import { relocatePrologue } from "../../src/hook/relocator/relocate.js";
import { buildPatch } from "../../src/hook/trampoline/patch.js";
import { hexBytes, walkCode } from "./support/code-walk.js";

const A = 0x7f0012340000n;
const NEAR = A + 0x100000n;
const FAR = A + 0x100000000n;

function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));
}

function plan(hex: string, options: PlanOptions & { size?: number } = {}) {
  const bytes = bytesOf(hex);
  const { size, ...planOptions } = options;
  return planPrologue({ name: "f", address: A, bytes, ...(size === undefined ? {} : { size }) }, planOptions);
}

function refusal(hex: string, code: HookErrorCode, message: RegExp, options: PlanOptions & { size?: number } = {}): void {
  assert.throws(
    () => plan(hex, options),
    (e: unknown) => e instanceof HookError && e.code === code && message.test(e.message),
    `${hex} should be refused with ${code}`,
  );
}

test("relocator: a plain prologue is copied and followed by a jump back", () => {
  // push %rbp; mov %rsp,%rbp; sub $0x10,%rsp; ...
  const p = plan("55 48 89 e5 48 83 ec 10 48 89 7d f8 c3", { size: 13 });
  assert.equal(p.patchOffset, 0);
  assert.equal(p.patchLength, 8);
  assert.equal(p.displaced.length, 3);
  assert.equal(p.fallsThrough, true);
  assert.equal(p.branchScan, "function");
  assert.deepEqual([...p.originalBytes], [...bytesOf("55 48 89 e5 48 83 ec 10")]);
  const code = relocatePrologue(p, NEAR);
  assert.equal(hexBytes(code.subarray(0, 8)), "55 48 89 e5 48 83 ec 10");
  const walked = walkCode(code, NEAR);
  assert.equal(walked.length, 4);
  assert.equal(walked[3]!.branchTarget, A + 8n);
});

test("relocator: endbr64 stays in place and the patch goes after it", () => {
  const p = plan("f3 0f 1e fa 55 48 89 e5 53 48 83 ec 08 c3", { size: 14 });
  assert.equal(p.patchOffset, 4);
  assert.equal(p.patchAddress, A + 4n);
  assert.equal(p.patchLength, 5);
  assert.equal(hexBytes(p.originalBytes), "55 48 89 e5 53");
  const whole = plan("f3 0f 1e fa 55 48 89 e5 53 48 83 ec 08 c3", { size: 14, keepEndbr64: false });
  assert.equal(whole.patchOffset, 0);
  assert.equal(whole.patchLength, 5);
  assert.equal(whole.displaced[0]!.isEndbr64, true);
  const patch = buildPatch(p, NEAR);
  assert.equal(patch.length, 5);
  assert.equal(patch[0], 0xe9);
  assert.equal(new DataView(patch.buffer).getInt32(1, true), Number(NEAR - (A + 4n + 5n)));
});

test("relocator: patch padding is int3 and a stub beyond ±2 GB needs a 14-byte patch", () => {
  const p = plan("55 48 89 e5 48 83 ec 10 c3", { size: 9 });
  assert.equal(hexBytes(buildPatch(p, NEAR).subarray(5)), "cc cc cc");
  assert.throws(() => buildPatch(p, FAR), (e: unknown) => e instanceof HookError && e.code === "HOOK_OUT_OF_RANGE");
  // push %rbp; mov %rsp,%rbp; push %r15; push %r14; push %r13; push %r12; push %rbx; sub $0x18,%rsp
  const wide = plan("55 48 89 e5 41 57 41 56 41 55 41 54 53 48 83 ec 18 c3", { size: 18, patchSize: 14 });
  assert.equal(wide.patchLength, 17);
  const patch = buildPatch(wide, FAR);
  const walked = walkCode(patch.subarray(0, 14), wide.patchAddress);
  assert.equal(walked[0]!.absoluteTarget, FAR);
  assert.equal(hexBytes(patch.subarray(14)), "cc cc cc");
});

test("relocator: RIP-relative operands keep pointing at the same address", () => {
  // lea 0x1000(%rip),%rax; movl $0x5,0x20(%rip); ret
  const p = plan("48 8d 05 00 10 00 00 c7 05 20 00 00 00 05 00 00 00 c3", { size: 18 });
  assert.equal(p.patchLength, 7);
  const walkedNear = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(walkedNear[0]!.ripTarget, A + 7n + 0x1000n);
  const both = plan("c7 05 20 00 00 00 05 00 00 00 c3", { size: 11 });
  const walked = walkCode(relocatePrologue(both, NEAR), NEAR);
  assert.equal(walked[0]!.ripTarget, A + 10n + 0x20n, "disp32 is relative to the end, after the imm32");
  assert.equal(hexBytes(walked[0]!.bytes.subarray(6)), "05 00 00 00", "the immediate is unchanged");
  assert.throws(
    () => relocatePrologue(p, FAR),
    (e: unknown) => e instanceof HookError && e.code === "HOOK_OUT_OF_RANGE" && /RIP-relative operand refers to/.test(e.message),
  );
});

test("relocator: a short jcc in the prologue becomes a jcc rel32 (or an absolute jump far away)", () => {
  // test %rdi,%rdi; je +0x10; lea 0x1(%rdi),%rax; ret
  const hex = "48 85 ff 74 10 48 8d 47 01 c3";
  const p = plan(hex);
  assert.equal(p.patchLength, 5);
  assert.equal(p.branchScan, "partial");
  const near = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(hexBytes(near[0]!.bytes), "48 85 ff");
  assert.equal(hexBytes(near[1]!.bytes.subarray(0, 2)), "0f 84");
  assert.equal(near[1]!.branchTarget, A + 5n + 0x10n);
  assert.equal(near[2]!.branchTarget, A + 5n);
  const far = walkCode(relocatePrologue(p, FAR), FAR);
  assert.equal(hexBytes(far[1]!.bytes), "75 0e", "inverted condition over the absolute jump");
  assert.equal(far[2]!.absoluteTarget, A + 5n + 0x10n);
  assert.equal(far[3]!.absoluteTarget, A + 5n);
});

test("relocator: a branch to another displaced instruction stays inside the relocated code", () => {
  // je +1 (to +3); nop; mov %rdi,%rax; ret
  const p = plan("74 01 90 48 89 f8 c3", { size: 7 });
  assert.equal(p.patchLength, 6);
  const walked = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(walked[0]!.branchTarget, walked[2]!.address, "je lands on the relocated mov");
  assert.equal(hexBytes(walked[2]!.bytes), "48 89 f8");
  // A displaced branch into the middle of a displaced instruction cannot be relocated.
  refusal("74 02 90 48 89 f8 c3", "HOOK_BRANCH_INTO_PATCH", /inside an instruction of the patched bytes/, { size: 7 });
});

test("relocator: jrcxz and loop keep their rel8 and reach the target through a long jump", () => {
  // jrcxz +0x20; mov %rdi,%rax; ret
  const p = plan("e3 20 48 89 f8 c3");
  const walked = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(hexBytes(walked[0]!.bytes), "e3 02");
  assert.equal(hexBytes(walked[1]!.bytes), "eb 05");
  assert.equal(walked[2]!.branchTarget, A + 2n + 0x20n);
  assert.equal(walked[0]!.branchTarget, walked[2]!.address);
  assert.equal(walked[1]!.branchTarget, walked[3]!.address);
  const jecxz = walkCode(relocatePrologue(plan("67 e3 20 48 89 f8 c3"), FAR), FAR);
  assert.equal(hexBytes(jecxz[0]!.bytes), "67 e3 02");
  assert.equal(hexBytes(jecxz[1]!.bytes), "eb 0e");
  assert.equal(jecxz[2]!.absoluteTarget, A + 3n + 0x20n);
});

test("relocator: a call ending the displaced bytes returns into the original function", () => {
  // push %rbx; mov %rdi,%rbx; call +0x100; add %rbx,%rax; pop %rbx; ret
  const p = plan("53 48 89 fb e8 00 01 00 00 48 01 d8 5b c3", { size: 14 });
  assert.equal(p.patchLength, 9);
  assert.equal(p.fallsThrough, false, "the callee returns straight to the original code");
  assert.equal(p.returnsIntoTrampoline, false);
  const walked = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(hexBytes(walked[0]!.bytes), "53");
  assert.equal(hexBytes(walked[1]!.bytes), "48 89 fb");
  // push low32(A+9) sign-extended, then the high half written over it.
  assert.equal(walked[2]!.instruction.opcode, 0x68);
  assert.equal(new DataView(walked[2]!.bytes.buffer, walked[2]!.bytes.byteOffset).getUint32(1, true), Number((A + 9n) & 0xffffffffn));
  assert.equal(hexBytes(walked[3]!.bytes.subarray(0, 4)), "c7 44 24 04");
  assert.equal(new DataView(walked[3]!.bytes.buffer, walked[3]!.bytes.byteOffset).getUint32(4, true), Number((A + 9n) >> 32n));
  assert.equal(walked[4]!.branchTarget, A + 9n + 0x100n);
  assert.equal(walked.length, 5);
  const far = walkCode(relocatePrologue(p, FAR), FAR);
  assert.equal(far[4]!.absoluteTarget, A + 9n + 0x100n);
});

test("relocator: an indirect call ending the displaced bytes becomes push + jmp through the same operand", () => {
  // push %rbp; call *0x40(%rip)
  const p = plan("55 ff 15 40 00 00 00 5d c3", { size: 9 });
  const walked = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(walked.at(-1)!.instruction.flow, "jump-indirect");
  assert.equal(walked.at(-1)!.ripTarget, A + 7n + 0x40n);
  // call *0x8(%rsp) after a push: the push + jmp form would read a moved slot.
  refusal("55 ff 54 24 08 c3", "HOOK_UNRELOCATABLE", /rsp-based operand/);
});

test("relocator: call-to-next-instruction (get PC) pushes the original address and continues", () => {
  // call +0; pop %rax; ret
  const p = plan("e8 00 00 00 00 58 c3", { size: 7 });
  assert.equal(p.fallsThrough, true);
  const walked = walkCode(relocatePrologue(p, NEAR), NEAR);
  assert.equal(walked[0]!.instruction.opcode, 0x68);
  assert.equal(walked.at(-1)!.branchTarget, A + 5n);
});

test("relocator: a call before the end of the displaced bytes is refused unless allowed", () => {
  // call *%rax; mov %rax,%rdi; ret
  refusal("ff d0 48 89 c7 c3", "HOOK_CALL_IN_PATCH", /the call would return to \+0x2, inside the patched bytes/);
  const allowed = plan("ff d0 48 89 c7 c3", { allowCallsReturningIntoTrampoline: true });
  assert.equal(allowed.returnsIntoTrampoline, true);
  assert.equal(allowed.fallsThrough, true);
  const walked = walkCode(relocatePrologue(allowed, NEAR), NEAR);
  assert.equal(hexBytes(walked[0]!.bytes), "ff d0", "a real call, returning into the relocated code");
});

test("relocator: functions too short for the patch are refused", () => {
  refusal("c3", "HOOK_TOO_SHORT", /function f: too short to patch: it is 1 byte, a jmp rel32 needs 5 bytes/, { size: 1 });
  refusal("31 c0 c3 cc cc cc cc cc", "HOOK_TOO_SHORT", /too short to patch: it ends at \+0x3/);
  refusal("f3 0f 1e fa 31 c0 c3", "HOOK_TOO_SHORT", /too short to patch/, { size: 7 });
  // Exactly five bytes ending in a jmp is enough.
  const tail = plan("e9 00 10 00 00", { size: 5 });
  assert.equal(tail.fallsThrough, false);
  assert.equal(walkCode(relocatePrologue(tail, NEAR), NEAR)[0]!.branchTarget, A + 5n + 0x1000n);
});

test("relocator: a branch elsewhere in the function into the patched bytes is refused", () => {
  // xor %eax,%eax; 1: add %rdi,%rax; dec %rdi; jnz 1b; ret
  refusal("31 c0 48 01 f8 48 ff cf 75 f8 c3", "HOOK_BRANCH_INTO_PATCH", /function f: a branch at \+0x8 jumps to \+0x2, into the first 5 bytes/, { size: 11 });
  refusal("f3 0f 1e fa 31 c0 48 01 f8 48 ff cf 75 f8 c3", "HOOK_BRANCH_INTO_PATCH", /into the patched bytes \+0x4\.\.\+0x9/, { size: 15 });
  // A branch back to the patch start itself re-enters the hook, like re-entering the function: allowed.
  const loop = plan("48 01 f8 48 ff cf 75 f8 c3", { size: 9 });
  assert.equal(loop.patchLength, 6);
});

test("relocator: instructions that cannot run elsewhere are refused with their reason", () => {
  refusal("cc 48 89 e5 c3", "HOOK_UNRELOCATABLE", /int3/);
  refusal("cb 90 90 90 90", "HOOK_UNRELOCATABLE", /far transfer/);
  refusal("c7 f8 00 00 00 00 c3", "HOOK_UNRELOCATABLE", /xbegin/);
  refusal("06 90 90 90 90 90", "HOOK_UNDECODABLE", /invalid in 64-bit mode/);
  refusal("55 48 89", "HOOK_UNDECODABLE", /truncated/);
});

test("relocator: probes inside a function must start on an instruction", () => {
  const bytes = "55 48 89 e5 48 83 ec 10 48 89 7d f8 c9 c3";
  const p = plan(bytes, { offset: 4, size: 14 });
  assert.equal(p.patchOffset, 4);
  assert.equal(p.patchLength, 8);
  refusal(bytes, "HOOK_BAD_OFFSET", /\+0x3 is not the start of an instruction/, { offset: 3, size: 14 });
});

test("relocator: system calls in the displaced bytes are flagged", () => {
  // mov $0x27,%eax; syscall; ret
  const p = plan("b8 27 00 00 00 0f 05 c3", { size: 8 });
  assert.equal(p.entersKernel, false, "the 5-byte mov alone covers the patch");
  const q = plan("31 c0 0f 05 90 c3", { size: 6 });
  assert.equal(q.entersKernel, true);
});
