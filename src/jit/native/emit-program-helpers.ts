// Native helpers that deal with the running program itself: bpf_loop calling a JIT-compiled callback,
// bpf_get_stack walking frame pointers from the probe's registers, the probe helpers of a run without a
// probe, and the exit a poisoned instruction takes.
//
//   loop(rdi count, rsi callback, rdx ctx, rcx flags) -> rax iterations / -errno
//   get_stack(rdi pt_regs, rsi buf, rdx size, rcx flags) -> rax bytes / -errno
//   abort_run(rax message number): records it in the private block and ends the whole run (see below)
//
// Calling a callback: the JIT compiles a bpf-to-bpf call as `push rbx, r13, r14, r15, rbp` (eBPF r6..r9
// and r10), `sub rbp, 512` (a fresh eBPF frame), `call`; the callee may change those five registers and
// returns with `ret`. bpf_loop does the same around each call, so the callback runs exactly as a
// subprogram would (r12, the run's frame base, stays as it is).
//
// Ending a run: the JIT calls a program's body from its entry with rsp at the frame base (r12), so the
// return address at [r12 - 8] leads to the epilogue that restores the caller's registers; a tail call
// keeps r12 and re-enters the same way. abort_run jumps there from any depth.

import { Errno } from "../../maps/errno.js";
import { STACK_FRAME_SIZE } from "../../isa/opcodes.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { FRAME } from "../x64/compiler/register-map.js";
import { M } from "./asm.js";
import { PrivateBlock, type EmitContext } from "./emit-context.js";

/** BPF_MAX_LOOPS. */
const MAX_LOOPS = 1 << 23;
/** struct pt_regs offsets (x86-64): rbp and rip. */
const PT_REGS_RBP = 32;
const PT_REGS_RIP = 128;
/** bpf_get_stack flags: skip count in the low byte, BPF_F_USER_STACK, BPF_F_USER_BUILD_ID. */
const STACK_FLAGS = 0xff | (1 << 8) | (1 << 11);
/** Frames a walk follows at most (the kernel's sysctl_perf_event_max_stack default). */
const MAX_FRAMES = 127;

export function emitProgramHelpers(ctx: EmitContext): void {
  const a = ctx.a;

  a.fn("loop");
  {
    const invalid = a.label();
    const tooMany = a.label();
    const next = a.label();
    const done = a.label();
    const stopped = a.label();
    const out = a.label();
    a.test(RCX, RCX);
    a.j(Cond.NE, invalid);
    a.cmpi(RDI, MAX_LOOPS);
    a.j(Cond.A, tooMany);
    for (const reg of [RBX, R13, R14, R15, RBP]) a.push(reg);
    a.subi(RBP, STACK_FRAME_SIZE);
    a.mov(RBX, RDI);
    a.mov(R13, RSI);
    a.mov(R14, RDX);
    a.li(R15, 0);
    a.bind(next);
    a.cmp(R15, RBX);
    a.j(Cond.AE, done);
    a.mov(RDI, R15);
    a.mov(RSI, R14);
    a.callReg(R13);
    a.addi(R15, 1);
    a.test(RAX, RAX);
    a.j(Cond.NE, stopped);
    a.jmp(next);
    a.bind(stopped);
    a.mov(RAX, R15);
    a.jmp(out);
    a.bind(done);
    a.mov(RAX, RBX);
    a.bind(out);
    for (const reg of [RBP, R15, R14, R13, RBX]) a.pop(reg);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
    a.bind(tooMany);
    a.li(RAX, -Errno.E2BIG);
    a.ret();
  }

  a.fn("get_stack");
  {
    // rbx buf, r12 frames wanted (size / 8), r13 frames written, r14 frames to skip, r15 frame pointer,
    // rbp return address; [rsp] the 16 bytes a frame read lands in.
    const saved = [RBX, RBP, R12, R13, R14, R15];
    const invalid = a.label();
    const walk = a.label();
    const skipIt = a.label();
    const advance = a.label();
    const stop = a.label();
    const out = a.label();
    a.testi(RCX, ~STACK_FLAGS);
    a.j(Cond.NE, invalid);
    for (const reg of saved) a.push(reg);
    a.subi(RSP, 40);
    a.st(64, M(RSP, 16), RDX); // the size
    a.mov(RBX, RSI);
    a.mov(R12, RDX);
    a.shri(R12, 3);
    a.li(R13, 0);
    a.mov(R14, RCX, 32);
    a.andi(R14, 0xff, 32);
    a.ld(64, R15, M(RDI, PT_REGS_RBP));
    a.ld(64, RBP, M(RDI, PT_REGS_RIP));
    a.st(64, M(RSP, 24), R13); // frames followed
    a.bind(walk);
    a.test(RBP, RBP);
    a.j(Cond.E, stop);
    a.cmp(R13, R12);
    a.j(Cond.AE, stop);
    a.test(R14, R14);
    a.j(Cond.NE, skipIt);
    a.st(64, M(RBX, 0, R13, 8), RBP);
    a.addi(R13, 1);
    a.jmp(advance);
    a.bind(skipIt);
    a.subi(R14, 1);
    a.bind(advance);
    a.opMemImm(0, M(RSP, 24), 1); // AluOp.Add
    a.cmpMemImm(M(RSP, 24), MAX_FRAMES);
    a.j(Cond.AE, stop);
    // The next frame: [fp] is the caller's frame pointer, [fp + 8] the return address. Read fault-tolerantly.
    a.test(R15, R15);
    a.j(Cond.E, stop);
    a.lea(RDI, M(RSP, 0));
    a.mov(RSI, R15);
    a.li(RDX, 16);
    a.callFn("read_bytes");
    a.test(RAX, RAX);
    a.j(Cond.NE, stop);
    // The return address counts; the walk goes on only up the stack (a chain that does not is broken, or
    // ends with a zero frame pointer).
    const upwards = a.label();
    a.ld(64, RAX, M(RSP, 0));
    a.cmp(RAX, R15);
    a.j(Cond.A, upwards);
    a.li(RAX, 0);
    a.bind(upwards);
    a.mov(R15, RAX);
    a.ld(64, RBP, M(RSP, 8));
    a.jmp(walk);
    a.bind(stop);
    // Zero the rest of the buffer; no frame at all is -EFAULT.
    a.lea(RDI, M(RBX, 0, R13, 8));
    a.ld(64, RDX, M(RSP, 16));
    a.mov(RAX, R13);
    a.shli(RAX, 3);
    a.sub(RDX, RAX);
    a.callFn("zero_bytes");
    a.mov(RAX, R13);
    a.shli(RAX, 3);
    a.test(R13, R13);
    a.j(Cond.NE, out);
    a.cmpMemImm(M(RSP, 16), 0);
    a.j(Cond.E, out);
    a.li(RAX, -Errno.EFAULT);
    a.bind(out);
    a.addi(RSP, 40);
    for (let i = saved.length - 1; i >= 0; i--) a.pop(saved[i]!);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
  }

  // The probe helpers outside a probe (a test run): what src/helpers/probe.ts answers without a probe.
  a.fn("no_probe_zero");
  a.li(RAX, 0);
  a.ret();
  a.fn("no_probe_get_func_arg");
  a.sti(64, M(RDX), 0);
  a.li(RAX, -Errno.EINVAL);
  a.ret();
  a.fn("no_probe_get_func_ret");
  a.li(RAX, -Errno.EOPNOTSUPP);
  a.ret();
  a.fn("no_probe_override_return");
  a.li(RAX, -Errno.EINVAL);
  a.ret();

  a.fn("abort_run");
  a.li(RCX, ctx.privateBlock);
  a.addi(RAX, 1);
  a.st(64, M(RCX, PrivateBlock.abort), RAX);
  a.lea(RSP, M(FRAME, -8));
  a.li(RAX, 0);
  a.ret();
}
