// Fault-tolerant memory copies without a system call per copy: a SIGSEGV/SIGBUS handler that, when the
// faulting instruction lies inside the guarded copy routines, resumes at a recovery point that returns
// -EFAULT, and otherwise hands the signal on exactly as before (to the previous handler, e.g. V8's, or,
// for the default action, by restoring it and letting the instruction fault again). bpftime makes its
// probe reads safe the same way.
//
//   guarded_copy(rdi dst, rsi src, rdx len) -> rax 0 / -EFAULT
//   guarded_copy_string(rdi dst, rsi src, rdx limit >= 1) -> rax bytes with the NUL / -EFAULT: copies up
//       to the first NUL, or limit - 1 bytes and a NUL (bpf_probe_read_str's rule)
//
// One guard per process, installed once and never removed (its code must outlive every handler call).
// It relies on nobody replacing the handler afterwards; a later sigaction(SIGSEGV) by the process would
// turn a bad probe address into a crash again. Helpers use it only when asked (NativeRuntimeOptions.
// faultGuard); by default they use process_vm_readv, slower but independent of signal dispositions.

import { syscall } from "../../native/libc.js";
import { loadCode, type NativeRegion } from "../executable-memory.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R8, RAX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { Asm, M } from "./asm.js";
import { emitCopyLoop } from "./emit-context.js";
import { SharedMemory } from "./shared-memory.js";

const SIGBUS = 7;
const SIGSEGV = 11;
const SYS_RT_SIGACTION = 13;
const SYS_RT_SIGRETURN = 15;
const SA_SIGINFO = 4;
const SA_RESTORER = 0x04000000;
const SA_ONSTACK = 0x08000000;
const EFAULT = 14;
/** ucontext_t.uc_mcontext.gregs[REG_RIP] on x86-64. */
const UCONTEXT_RIP = 40 + 16 * 8;
/** struct kernel_sigaction: handler, flags, restorer, mask (8 bytes: _NSIG / 8). */
const KERNEL_SIGACTION_SIZE = 32;
const OLD_SEGV = 0;
const OLD_BUS = KERNEL_SIGACTION_SIZE;
const NEW_ACTION = 2 * KERNEL_SIGACTION_SIZE;

export interface FaultGuard {
  readonly guardedCopy: bigint;
  readonly guardedCopyString: bigint;
}

let installed: { guard: FaultGuard; code: NativeRegion; data: SharedMemory } | undefined;

function emitGuard(data: bigint): { asm: Asm; handler: string; restorer: string } {
  const a = new Asm();
  // Everything between these labels may fault; nothing else in this code may.
  a.fn("guard_start");
  a.fn("guarded_copy");
  emitCopyLoop(a);
  a.li(RAX, 0);
  a.ret();
  a.fn("guarded_copy_string");
  {
    const loop = a.label();
    const nul = a.label();
    const full = a.label();
    a.li(RCX, 0);
    a.lea(R8, M(RDX, -1));
    a.bind(loop);
    a.cmp(RCX, R8);
    a.j(Cond.AE, full);
    a.ld(8, RAX, M(RSI, 0, RCX));
    a.st(8, M(RDI, 0, RCX), RAX);
    a.test(RAX, RAX, 32);
    a.j(Cond.E, nul);
    a.addi(RCX, 1);
    a.jmp(loop);
    a.bind(nul);
    a.lea(RAX, M(RCX, 1));
    a.ret();
    a.bind(full);
    a.sti(8, M(RDI, 0, RCX), 0);
    a.mov(RAX, RDX);
    a.ret();
  }
  a.fn("guard_end");
  a.fn("fault_recovery");
  a.li(RAX, -EFAULT);
  a.ret();

  // fault_handler(edi signal, rsi siginfo, rdx ucontext)
  a.fn("fault_handler");
  {
    const chain = a.label();
    const segv = a.label();
    const restore = a.label();
    a.ld(64, RAX, M(RDX, UCONTEXT_RIP));
    a.leaLabel(RCX, a.ref("guard_start"));
    a.cmp(RAX, RCX);
    a.j(Cond.B, chain);
    a.leaLabel(RCX, a.ref("guard_end"));
    a.cmp(RAX, RCX);
    a.j(Cond.AE, chain);
    a.leaLabel(RCX, a.ref("fault_recovery"));
    a.st(64, M(RDX, UCONTEXT_RIP), RCX);
    a.ret();
    // Not ours: the previous disposition, as if this handler had never been there.
    a.bind(chain);
    a.li(RCX, data + BigInt(OLD_SEGV));
    a.cmpi(RDI, SIGBUS, 32);
    a.j(Cond.NE, segv);
    a.li(RCX, data + BigInt(OLD_BUS));
    a.bind(segv);
    a.ld(64, RAX, M(RCX));
    a.cmpi(RAX, 1); // SIG_DFL or SIG_IGN: put it back and let the instruction fault again
    a.j(Cond.BE, restore);
    a.jmpReg(RAX);
    a.bind(restore);
    a.mov(RSI, RCX);
    a.li(RDX, 0);
    a.li(R10, 8);
    a.li(RAX, SYS_RT_SIGACTION);
    a.syscall();
    a.ret();
  }
  a.fn("signal_restorer");
  a.li(RAX, SYS_RT_SIGRETURN);
  a.syscall();
  return { asm: a, handler: "fault_handler", restorer: "signal_restorer" };
}

/** The process's fault guard, installing it on first use. */
export function installFaultGuard(): FaultGuard {
  if (installed) return installed.guard;
  const data = SharedMemory.shared(4096);
  const { asm, handler, restorer } = emitGuard(data.address);
  const code = loadCode(asm.bytes());
  const at = (name: string): bigint => code.address + BigInt(asm.offsetOf(name));
  const bytes = data.bytes();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setBigUint64(NEW_ACTION, at(handler), true);
  view.setBigUint64(NEW_ACTION + 8, BigInt(SA_SIGINFO | SA_ONSTACK | SA_RESTORER), true);
  view.setBigUint64(NEW_ACTION + 16, at(restorer), true);
  view.setBigUint64(NEW_ACTION + 24, 0n, true);
  for (const [signal, old] of [
    [SIGSEGV, OLD_SEGV],
    [SIGBUS, OLD_BUS],
  ] as const) {
    const result = Number(syscall(SYS_RT_SIGACTION, "int", signal, "void *", data.address + BigInt(NEW_ACTION), "void *", data.address + BigInt(old), "unsigned long", 8));
    if (result !== 0) throw new Error(`rt_sigaction(${signal}) failed`);
  }
  const guard = { guardedCopy: at("guarded_copy"), guardedCopyString: at("guarded_copy_string") };
  installed = { guard, code, data };
  return guard;
}
