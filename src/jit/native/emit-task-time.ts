// Native time and task helpers: clocks through the vDSO (no system call when the clock source allows it),
// the task's ids without a system call per call where the process allows it, the CPU number, and a fast
// pseudo-random generator. Results match src/helpers/time.ts and task.ts.
//
//   current_tgid() -> eax         getpid() once per process (the private block is wiped in a forked child)
//   get_current_pid_tgid() -> rax tgid << 32 | tid; the tid comes from glibc's thread descriptor at
//                                 %fs:tidOffset when known (kept right by the kernel), else gettid()
//   get_current_uid_gid() -> rax  gid << 32 | uid (system calls: credentials can change at any time)
//   get_current_comm(rdi buf, rsi size) -> rax   the calling thread's name (prctl PR_GET_NAME)
//   get_smp_processor_id() -> rax, get_prandom_u32() -> rax
//   ktime_get_ns / ktime_get_boot_ns / ktime_get_coarse_ns / jiffies64() -> rax
//   clock_ns(edi clock) -> rax    the shared clock routine

import { Errno } from "../../maps/errno.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, RAX, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M } from "./asm.js";
import { emitCpu, PrivateBlock, Sys, type EmitContext } from "./emit-context.js";

const CLOCK_MONOTONIC = 1;
const CLOCK_MONOTONIC_COARSE = 6;
const CLOCK_BOOTTIME = 7;
const PR_GET_NAME = 16;
const TASK_COMM_LEN = 16;
/** The kernel's HZ for bpf_jiffies64, as src/helpers/time.ts derives it. */
const HZ = 250;
const NS_PER_SECOND = 1_000_000_000;

export function emitTaskAndTime(ctx: EmitContext): void {
  const a = ctx.a;

  a.fn("current_tgid");
  {
    const known = a.label();
    a.li(RCX, ctx.privateBlock);
    a.ld(32, RAX, M(RCX, PrivateBlock.tgid));
    a.test(RAX, RAX, 32);
    a.j(Cond.NE, known);
    a.li(RAX, Sys.getpid);
    a.syscall();
    a.li(RCX, ctx.privateBlock);
    a.st(32, M(RCX, PrivateBlock.tgid), RAX);
    a.bind(known);
    a.ret();
  }

  a.fn("get_current_pid_tgid");
  a.callFn("current_tgid");
  a.mov(RDX, RAX);
  a.shli(RDX, 32);
  if (ctx.tidOffset !== undefined) {
    a.movFromFs(32, RAX, ctx.tidOffset);
  } else {
    a.li(RAX, Sys.gettid);
    a.syscall();
  }
  a.or(RAX, RDX);
  a.ret();

  a.fn("get_current_uid_gid");
  a.li(RAX, Sys.getgid);
  a.syscall();
  a.mov(RDX, RAX);
  a.shli(RDX, 32);
  a.li(RAX, Sys.getuid);
  a.syscall();
  a.mov(RAX, RAX, 32);
  a.or(RAX, RDX);
  a.ret();

  a.fn("get_current_comm");
  {
    const invalid = a.label();
    const copy = a.label();
    const done = a.label();
    a.test(RSI, RSI);
    a.j(Cond.E, invalid);
    a.push(RBX);
    a.push(R12);
    a.subi(RSP, 24);
    a.mov(RBX, RDI);
    a.mov(R12, RSI);
    a.li(RAX, Sys.prctl);
    a.li(RDI, PR_GET_NAME);
    a.mov(RSI, RSP);
    a.syscall();
    a.mov(RDI, RBX);
    a.mov(RDX, R12);
    a.callFn("zero_bytes");
    // At most min(15, size - 1) bytes of the name; the rest stays zero.
    a.lea(RCX, M(R12, -1));
    a.cmpi(RCX, TASK_COMM_LEN - 1);
    const capped = a.label();
    a.j(Cond.BE, capped);
    a.li(RCX, TASK_COMM_LEN - 1);
    a.bind(capped);
    a.li(RDX, 0);
    a.bind(copy);
    a.cmp(RDX, RCX);
    a.j(Cond.AE, done);
    a.ld(8, RAX, M(RSP, 0, RDX));
    a.test(RAX, RAX, 32);
    a.j(Cond.E, done);
    a.st(8, M(RBX, 0, RDX), RAX);
    a.addi(RDX, 1);
    a.jmp(copy);
    a.bind(done);
    a.li(RAX, 0);
    a.addi(RSP, 24);
    a.pop(R12);
    a.pop(RBX);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
  }

  a.fn("get_smp_processor_id");
  emitCpu(ctx, RAX);
  a.ret();

  // xorshift64* on a per-process state (threads racing on it only mix it further), seeded from the TSC.
  a.fn("get_prandom_u32");
  {
    const seeded = a.label();
    a.li(RSI, ctx.privateBlock);
    a.ld(64, RCX, M(RSI, PrivateBlock.prandom));
    a.test(RCX, RCX);
    a.j(Cond.NE, seeded);
    a.rdtscp();
    a.shli(RDX, 32);
    a.or(RAX, RDX);
    a.ori(RAX, 1);
    a.mov(RCX, RAX);
    a.bind(seeded);
    for (const [shift, left] of [[12, false], [25, true], [27, false]] as const) {
      a.mov(RAX, RCX);
      if (left) a.shli(RAX, shift);
      else a.shri(RAX, shift);
      a.xor(RCX, RAX);
    }
    a.st(64, M(RSI, PrivateBlock.prandom), RCX);
    a.li(RAX, 0x2545f4914f6cdd1dn);
    a.imul(RAX, RCX);
    a.shri(RAX, 32);
    a.ret();
  }

  // clock_ns(edi clock) -> rax nanoseconds: the vDSO's clock_gettime, or the system call without one.
  a.fn("clock_ns");
  a.subi(RSP, 24); // a 16-byte timespec, and rsp 16-byte aligned for the call
  a.mov(RSI, RSP);
  if (ctx.clockGettime !== undefined) {
    a.callAbs(ctx.clockGettime);
  } else {
    a.li(RAX, Sys.clockGettime);
    a.syscall();
  }
  a.ld(64, RAX, M(RSP));
  a.li(RCX, NS_PER_SECOND);
  a.imul(RAX, RCX);
  a.opm(0, RAX, M(RSP, 8)); // AluOp.Add
  a.addi(RSP, 24);
  a.ret();

  for (const [name, clock] of [
    ["ktime_get_ns", CLOCK_MONOTONIC],
    ["ktime_get_boot_ns", CLOCK_BOOTTIME],
    ["ktime_get_coarse_ns", CLOCK_MONOTONIC_COARSE],
  ] as const) {
    a.fn(name);
    a.li(RDI, clock);
    a.jmpFn("clock_ns");
  }

  a.fn("jiffies64");
  a.subi(RSP, 8);
  a.li(RDI, CLOCK_BOOTTIME);
  a.callFn("clock_ns");
  a.li(RCX, HZ);
  a.imul(RAX, RCX);
  a.li(RDX, 0);
  a.li(RCX, NS_PER_SECOND);
  a.div(RCX);
  a.addi(RSP, 8);
  a.ret();
}
