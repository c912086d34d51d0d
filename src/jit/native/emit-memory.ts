// Native memory helpers that must survive a bad address. Two ways to read or write memory that may not
// be there, chosen per library (EmitContext.faultGuard):
//   - system calls (the default): process_vm_readv / process_vm_writev on this very process, which the
//     kernel answers with EFAULT or a short count for unmapped or protected memory. About a microsecond.
//   - the fault guard (fault-guard.ts): plain copies inside guarded code, a SIGSEGV handler turning a
//     fault there into -EFAULT. A few nanoseconds, but it owns the process's SIGSEGV/SIGBUS handlers.
// Results match src/helpers/memory.ts: a failed read zeroes the destination and returns -EFAULT; a string
// read copies up to the NUL and returns the length with it.
//
//   probe_read(rdi dst, rsi size, rdx src) -> rax 0 / -EFAULT           (also _user, _kernel)
//   probe_read_str(rdi dst, rsi size, rdx src) -> rax length / -EFAULT  (also _user_str, _kernel_str)
//   probe_write_user(rdi dst, rsi src, rdx len) -> rax 0 / -EFAULT
//   strncmp(rdi s1, rsi size, rdx s2) -> rax -1 / 0 / 1
// Internal (no zeroing on failure):
//   read_bytes(rdi dst, rsi src, rdx len) -> rax 0 / -EFAULT
//   read_string(rdi dst, rsi src, rdx limit >= 1) -> rax length with the NUL / -EFAULT (probe_read_str's rule)

import { Errno } from "../../maps/errno.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R12, R13, R14, R15, R8, R9, RAX, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import { Sys, type EmitContext } from "./emit-context.js";

/** Bytes a system-call string read moves per call through its stack buffer. */
const STRING_CHUNK = 256;

export function emitMemoryHelpers(ctx: EmitContext): void {
  const a = ctx.a;
  if (ctx.faultGuard) {
    const guard = ctx.faultGuard;
    a.fn("read_bytes");
    a.li(RAX, guard.guardedCopy);
    a.jmpReg(RAX);
    a.fn("read_string");
    a.li(RAX, guard.guardedCopyString);
    a.jmpReg(RAX);
    a.fn("write_bytes");
    a.li(RAX, guard.guardedCopy);
    a.jmpReg(RAX);
  } else {
    emitSystemCallAccess(a);
  }

  // probe_read / probe_read_str(rdi dst, rsi size, rdx src): the copy, and on a fault a zeroed destination.
  for (const [name, copy] of [
    ["probe_read", "read_bytes"],
    ["probe_read_str", "read_string"],
  ] as const) {
    a.fn(name);
    const empty = a.label();
    const failed = a.label();
    const out = a.label();
    a.test(RSI, RSI);
    a.j(Cond.E, empty);
    a.push(RBX);
    a.push(R12);
    a.subi(RSP, 8);
    a.mov(RBX, RDI);
    a.mov(R12, RSI);
    a.mov(RSI, RDX);
    a.mov(RDX, R12);
    a.callFn(copy);
    a.test(RAX, RAX);
    a.j(Cond.S, failed);
    a.bind(out);
    a.addi(RSP, 8);
    a.pop(R12);
    a.pop(RBX);
    a.ret();
    a.bind(failed);
    a.mov(RDI, RBX);
    a.mov(RDX, R12);
    a.callFn("zero_bytes");
    a.li(RAX, -Errno.EFAULT);
    a.jmp(out);
    a.bind(empty);
    a.li(RAX, 0);
    a.ret();
  }

  a.fn("probe_write_user");
  {
    // write_bytes(rdi target, rsi source, rdx len): the arguments are already in place.
    const failed = a.label();
    a.callFn("write_bytes");
    a.test(RAX, RAX);
    a.j(Cond.NE, failed);
    a.ret();
    a.bind(failed);
    a.li(RAX, -Errno.EFAULT);
    a.ret();
  }

  a.fn("strncmp");
  {
    const loop = a.label();
    const equal = a.label();
    const less = a.label();
    const same = a.label();
    a.li(RCX, 0);
    a.bind(loop);
    a.cmp(RCX, RSI);
    a.j(Cond.AE, equal);
    a.ld(8, RAX, M(RDI, 0, RCX));
    a.ld(8, R8, M(RDX, 0, RCX));
    a.cmp(RAX, R8, 32);
    a.j(Cond.E, same);
    a.j(Cond.B, less);
    a.li(RAX, 1);
    a.ret();
    a.bind(same);
    a.test(RAX, RAX, 32);
    a.j(Cond.E, equal);
    a.addi(RCX, 1);
    a.jmp(loop);
    a.bind(equal);
    a.li(RAX, 0);
    a.ret();
    a.bind(less);
    a.li(RAX, -1);
    a.ret();
  }
}

/** read_bytes, read_string and write_bytes through process_vm_readv / process_vm_writev. */
function emitSystemCallAccess(a: Asm): void {
  // vm_copy(edi syscall number, rsi local, rdx remote, rcx len) -> rax bytes moved, or -errno.
  a.fn("vm_copy");
  a.subi(RSP, 40); // two struct iovec { void *base; size_t len; }
  a.st(64, M(RSP, 0), RSI);
  a.st(64, M(RSP, 8), RCX);
  a.st(64, M(RSP, 16), RDX);
  a.st(64, M(RSP, 24), RCX);
  a.push(RDI);
  a.callFn("current_tgid");
  a.pop(RCX); // the system call number
  a.mov(RDI, RAX, 32);
  a.mov(RAX, RCX);
  a.lea(RSI, M(RSP, 0));
  a.li(RDX, 1);
  a.lea(R10, M(RSP, 16));
  a.li(R8, 1);
  a.li(R9, 0);
  a.syscall();
  a.addi(RSP, 40);
  a.ret();

  // A whole copy or -EFAULT: a short count (a fault part way) is a failure too.
  for (const [name, sys, local, remote] of [
    ["read_bytes", Sys.processVmReadv, RDI, RSI],
    ["write_bytes", Sys.processVmWritev, RSI, RDI],
  ] as const) {
    a.fn(name);
    const failed = a.label();
    a.push(RDX);
    a.mov(RCX, RDX);
    a.mov(R8, remote);
    a.mov(RSI, local);
    a.mov(RDX, R8);
    a.li(RDI, sys);
    a.callFn("vm_copy");
    a.pop(RDX);
    a.cmp(RAX, RDX);
    a.j(Cond.NE, failed);
    a.li(RAX, 0);
    a.ret();
    a.bind(failed);
    a.li(RAX, -Errno.EFAULT);
    a.ret();
  }

  a.fn("read_string");
  {
    // rbx dst, r12 limit, r13 src, r14 copied so far, r15 bytes in this chunk; the chunk buffer on the stack.
    const saved = [RBX, R12, R13, R14, R15];
    const frame = STRING_CHUNK + 8;
    const loop = a.label();
    const scan = a.label();
    const nul = a.label();
    const chunkDone = a.label();
    const full = a.label();
    const fault = a.label();
    const out = a.label();
    const sized = a.label();
    for (const reg of saved) a.push(reg);
    a.subi(RSP, frame);
    a.mov(RBX, RDI);
    a.mov(R13, RSI);
    a.mov(R12, RDX);
    a.li(R14, 0);
    a.bind(loop);
    // Room for limit - 1 bytes before the final NUL.
    a.lea(RCX, M(R12, -1));
    a.sub(RCX, R14);
    a.j(Cond.E, full);
    a.cmpi(RCX, STRING_CHUNK);
    a.j(Cond.BE, sized);
    a.li(RCX, STRING_CHUNK);
    a.bind(sized);
    a.lea(RSI, M(RSP, 0));
    a.lea(RDX, M(R13, 0, R14));
    a.li(RDI, Sys.processVmReadv);
    a.callFn("vm_copy");
    a.test(RAX, RAX);
    a.j(Cond.LE, fault);
    a.mov(R15, RAX);
    a.li(RCX, 0);
    a.bind(scan);
    a.cmp(RCX, R15);
    a.j(Cond.AE, chunkDone);
    a.ld(8, RAX, M(RSP, 0, RCX));
    a.lea(RDX, M(RBX, 0, R14));
    a.st(8, M(RDX, 0, RCX), RAX);
    a.test(RAX, RAX, 32);
    a.j(Cond.E, nul);
    a.addi(RCX, 1);
    a.jmp(scan);
    a.bind(chunkDone);
    a.add(R14, R15);
    a.jmp(loop);
    a.bind(nul);
    a.lea(RAX, M(R14, 1, RCX));
    a.jmp(out);
    a.bind(full);
    a.sti(8, M(RBX, 0, R14), 0);
    a.mov(RAX, R12);
    a.jmp(out);
    a.bind(fault);
    a.li(RAX, -Errno.EFAULT);
    a.bind(out);
    a.addi(RSP, frame);
    for (let i = saved.length - 1; i >= 0; i--) a.pop(saved[i]!);
    a.ret();
  }
}
