// What every emitter of the native helper library shares: the assembler, how this process finds its CPU
// number, the process-private data block, and small building blocks (spin locks, byte copies, the
// per-CPU slot) that several map types and helpers use.
//
// The library is generated per process: it holds absolute addresses of that process's private block and
// vDSO, which differ between processes. Map regions are reached only through the arguments of each call.

import { Asm, M, type Label } from "./asm.js";
import type { FaultGuard } from "./fault-guard.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R11, R8, RAX, RCX, RDX, RDI, RSI } from "../x64/assembler/registers.js";

/** How generated code learns the current CPU; `fixed` makes per-CPU behaviour reproducible in tests. */
export type CpuSource =
  | { readonly kind: "fixed"; readonly cpu: number }
  | { readonly kind: "rseq"; readonly offset: number }
  | { readonly kind: "rdpid" }
  | { readonly kind: "rdtscp" };

/**
 * The process-private block (MADV_WIPEONFORK, so a forked child starts from zeros and recomputes):
 *   0x00 u32 tgid     getpid() once known, 0 before
 *   0x08 u64 prandom  xorshift state of bpf_get_prandom_u32 (seeded from the TSC when 0)
 *   0x10 u64 abort    set by a poisoned instruction: its message number + 1 (the caller reads and clears it)
 */
export const PrivateBlock = { tgid: 0x00, prandom: 0x08, abort: 0x10, size: 0x40 } as const;

export interface EmitContext {
  readonly a: Asm;
  readonly cpu: CpuSource;
  /** Address of the process-private block. */
  readonly privateBlock: bigint;
  /** __vdso_clock_gettime of this process, or undefined (then clock_gettime is a system call). */
  readonly clockGettime: bigint | undefined;
  /** See ProcessFacts.tidOffset. */
  readonly tidOffset: number | undefined;
  /** The trace ring (a RINGBUF map region) bpf_trace_printk writes records to, if any. */
  readonly traceRing: bigint | undefined;
  /** Guarded copies for probe reads and writes (fault-guard.ts); undefined: system calls instead. */
  readonly faultGuard: FaultGuard | undefined;
}

/** Linux x86-64 system call numbers the helpers use. */
export const Sys = {
  getpid: 39,
  getuid: 102,
  getgid: 104,
  prctl: 157,
  gettid: 186,
  clockGettime: 228,
  processVmReadv: 310,
  processVmWritev: 311,
} as const;

/**
 * Spins of the slow path between yields, and rounds of spinning and yielding before a lock is given up
 * with -EBUSY: seconds, far beyond any critical section, so that only a holder that died (or a process
 * stopped while holding the lock) makes an operation fail instead of hanging its caller forever.
 */
export const LOCK_SPINS = 1000;
export const LOCK_ROUNDS = 200_000;
const SYS_SCHED_YIELD = 24;

/**
 * Takes the lock word at [base + disp] (0 free, 1 held; see src/maps/spinlock.ts): one `lock cmpxchg`
 * inline, else the out-of-line lock_slow. Jumps to `busy` when the lock cannot be had. Uses eax and `one`
 * (any register but rax, rdi); everything else is preserved.
 */
export function emitLock(a: Asm, base: number, disp: number, one: number, busy: Label): void {
  const taken = a.label();
  a.li(one, 1);
  a.li(RAX, 0);
  a.lockCmpxchg(M(base, disp), one);
  a.j(Cond.E, taken);
  a.push(RDI);
  a.lea(RDI, M(base, disp));
  a.callFn("lock_slow");
  a.pop(RDI);
  a.test(RAX, RAX, 32);
  a.j(Cond.NE, busy);
  a.bind(taken);
}

/**
 * lock_slow(rdi lock word) -> eax 0 when taken, 1 when given up. Spins reading (a waiter must not keep
 * the cache line exclusive) with `pause`, and yields the CPU between rounds, since the holder may be a
 * preempted thread waiting for this very CPU. Preserves every register but rax.
 */
export function emitLockSlowPath(a: Asm): void {
  const saved = [RCX, RDX, RSI, R8, R11];
  a.fn("lock_slow");
  const round = a.label();
  const spin = a.label();
  const next = a.label();
  const got = a.label();
  const out = a.label();
  for (const reg of saved) a.push(reg);
  a.li(R8, LOCK_ROUNDS);
  a.bind(round);
  a.li(RDX, LOCK_SPINS);
  a.bind(spin);
  a.pause();
  a.cmpMemImm(M(RDI), 0, 32);
  a.j(Cond.NE, next);
  a.li(RSI, 1);
  a.li(RAX, 0);
  a.lockCmpxchg(M(RDI), RSI);
  a.j(Cond.E, got);
  a.bind(next);
  a.subi(RDX, 1, 32);
  a.j(Cond.NE, spin);
  a.li(RAX, SYS_SCHED_YIELD);
  a.syscall(); // clobbers rcx and r11, both saved
  a.subi(R8, 1, 32);
  a.j(Cond.NE, round);
  a.li(RAX, 1);
  a.jmp(out);
  a.bind(got);
  a.li(RAX, 0);
  a.bind(out);
  for (let i = saved.length - 1; i >= 0; i--) a.pop(saved[i]!);
  a.ret();
}

/** Releases a lock word: a plain store is a release on x86. */
export function emitUnlock(a: Asm, base: number, disp: number): void {
  a.sti(32, M(base, disp), 0);
}

/** dst = the current CPU number. rdtscp also clobbers rcx and rdx: callers treat both as clobbered. */
export function emitCpu(ctx: EmitContext, dst: number): void {
  const a = ctx.a;
  const source = ctx.cpu;
  switch (source.kind) {
    case "fixed":
      a.li(dst, source.cpu);
      return;
    case "rseq":
      // struct rseq { u32 cpu_id_start; u32 cpu_id; ... }: the kernel refreshes cpu_id on every return to
      // user space after a migration.
      a.movFromFs(32, dst, source.offset + 4);
      return;
    case "rdpid":
      a.rdpid(dst);
      a.andi(dst, 0xfff, 32);
      return;
    case "rdtscp":
      a.rdtscp();
      a.mov(dst, RCX, 32);
      a.andi(dst, 0xfff, 32);
  }
}

/**
 * cpu folded into [0, ncpus) (bpf-map.ts cpuSlot): `cpu` is replaced by its slot. ncpus is a register.
 * Uses rax and rdx when it must divide.
 */
export function emitCpuSlot(a: Asm, cpu: number, ncpus: number): void {
  const inRange = a.label();
  a.cmp(cpu, ncpus, 32);
  a.j(Cond.B, inRange);
  a.mov(RAX, cpu, 32);
  a.li(RDX, 0);
  a.div(ncpus, 32);
  a.mov(cpu, RDX, 32);
  a.bind(inRange);
}

/** Copies rdx bytes from [rsi] to [rdi], 8 at a time and then byte by byte; advances both, uses rax. */
export function emitCopyLoop(a: Asm): void {
  const words = a.label();
  const bytes = a.label();
  const done = a.label();
  a.bind(words);
  a.cmpi(RDX, 8);
  a.j(Cond.B, bytes);
  a.ld(64, RAX, M(RSI));
  a.st(64, M(RDI), RAX);
  a.addi(RSI, 8);
  a.addi(RDI, 8);
  a.subi(RDX, 8);
  a.jmp(words);
  a.bind(bytes);
  a.test(RDX, RDX);
  a.j(Cond.E, done);
  a.ld(8, RAX, M(RSI));
  a.st(8, M(RDI), RAX);
  a.addi(RSI, 1);
  a.addi(RDI, 1);
  a.subi(RDX, 1);
  a.jmp(bytes);
  a.bind(done);
}

/**
 * Internal routines every part uses, with the registers they touch:
 *   copy_bytes(rdi dst, rsi src, rdx len)        clobbers rax, rcx, rdx, rdi, rsi
 *   zero_bytes(rdi dst, rdx len)                 clobbers rax, rcx, rdx, rdi
 *   equal_bytes(rdi a, rsi b, rdx len) -> ZF=1 when equal; clobbers rax, rcx, rdx, rdi, rsi
 */
export function emitByteRoutines(a: Asm): void {
  // Small copies word by word (most keys and values are a few words); large ones with rep movsb.
  a.fn("copy_bytes");
  {
    const large = a.label();
    a.cmpi(RDX, 256);
    a.j(Cond.AE, large);
    emitCopyLoop(a);
    a.ret();
    a.bind(large);
    a.mov(RCX, RDX);
    a.repMovsb();
    a.ret();
  }

  a.fn("zero_bytes");
  {
    const words = a.label();
    const tail = a.label();
    const bytes = a.label();
    const done = a.label();
    a.li(RAX, 0);
    a.bind(words);
    a.cmpi(RDX, 8);
    a.j(Cond.B, tail);
    a.st(64, M(RDI), RAX);
    a.addi(RDI, 8);
    a.subi(RDX, 8);
    a.jmp(words);
    a.bind(tail);
    a.test(RDX, RDX);
    a.j(Cond.E, done);
    a.bind(bytes);
    a.st(8, M(RDI), RAX);
    a.addi(RDI, 1);
    a.subi(RDX, 1);
    a.j(Cond.NE, bytes);
    a.bind(done);
    a.ret();
  }

  a.fn("equal_bytes");
  {
    const words = a.label();
    const tail = a.label();
    const bytes = a.label();
    const equal = a.label();
    const differ = a.label();
    a.bind(words);
    a.cmpi(RDX, 8);
    a.j(Cond.B, tail);
    a.ld(64, RAX, M(RDI));
    a.cmpm(RAX, M(RSI));
    a.j(Cond.NE, differ);
    a.addi(RDI, 8);
    a.addi(RSI, 8);
    a.subi(RDX, 8);
    a.jmp(words);
    a.bind(tail);
    a.test(RDX, RDX);
    a.j(Cond.E, equal);
    a.bind(bytes);
    a.ld(8, RAX, M(RDI));
    a.ld(8, RCX, M(RSI));
    a.cmp(RAX, RCX, 32);
    a.j(Cond.NE, differ);
    a.addi(RDI, 1);
    a.addi(RSI, 1);
    a.subi(RDX, 1);
    a.j(Cond.NE, bytes);
    a.bind(equal);
    a.cmp(RAX, RAX); // ZF = 1
    a.bind(differ);
    a.ret();
  }
}
