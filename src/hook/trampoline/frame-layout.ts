// The stack frame the hook stubs build, which is the context every attached program receives.
//
// At [ctx] lies a kernel-layout x86-64 `struct pt_regs` (168 bytes), so programs written for kernel
// uprobes (PT_REGS_PARM1(ctx), PT_REGS_RC(ctx), ...) read it unchanged. Directly above it the stub keeps a
// per-call invocation record. Helpers that the kernel gives the ctx pointer (bpf_get_attach_cookie,
// bpf_get_func_ip, bpf_override_return) find their state at fixed offsets from ctx, so they need no
// thread-local storage at all; the record is private to this call, which makes it correct under recursion
// and across threads by construction. (Like the kernel, this relies on helpers receiving ctx unmodified.)

/** Byte offsets of `struct pt_regs` fields (arch/x86/include/asm/ptrace.h, x86-64). */
export const PtRegs = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  rbp: 32,
  rbx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  rax: 80,
  rcx: 88,
  rdx: 96,
  rsi: 104,
  rdi: 112,
  orig_rax: 120,
  rip: 128,
  cs: 136,
  eflags: 144,
  rsp: 152,
  ss: 160,
} as const;

export const PT_REGS_SIZE = 168;

/** Offsets (from ctx) of the invocation record the stub keeps above pt_regs. */
export const Invocation = {
  /** u64, 0 on entry; a program sets it non-zero (bpf_override_return) to skip the function. */
  overrideFlag: 168,
  /** u64: the value the caller then sees in rax. */
  overrideValue: 176,
  /** u64: the attach cookie of the program being called (rewritten before each program). */
  cookie: 184,
  /** u64: the hooked function's entry address (bpf_get_func_ip). */
  funcIp: 192,
} as const;

/** Bytes from ctx to the end of the record: the stack pointer at the hook is ctx + this (+128 past a red zone). */
export const FRAME_SIZE = 200;

/** The return stub keeps the real return address in one more slot above the record, at ctx + 200. */
export const RETURN_ADDRESS_SLOT = FRAME_SIZE;

/** Linux x86-64 user segment selectors (__USER_CS, __USER_DS), as the kernel reports them in pt_regs. */
export const USER_CS = 0x33;
export const USER_SS = 0x2b;

/** pt_regs.orig_rax outside a system call. */
export const NO_SYSCALL = -1;

/** The red zone below rsp that leaf code may use; a probe inside a function body must step over it. */
export const RED_ZONE_SIZE = 128;
