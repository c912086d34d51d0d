// struct user_regs_struct (x86-64, <sys/user.h>): what PTRACE_GETREGS/SETREGS exchange, 27 unsigned 64-bit
// words. Its first 21 words are laid out exactly like the kernel's struct pt_regs, which is why uprobe
// contexts can be built from it.

export const USER_REGS_FIELDS = [
  "r15",
  "r14",
  "r13",
  "r12",
  "rbp",
  "rbx",
  "r11",
  "r10",
  "r9",
  "r8",
  "rax",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "orig_rax",
  "rip",
  "cs",
  "eflags",
  "rsp",
  "ss",
  "fs_base",
  "gs_base",
  "ds",
  "es",
  "fs",
  "gs",
] as const;

export type UserRegName = (typeof USER_REGS_FIELDS)[number];

/** Register values as the kernel stores them: unsigned 64-bit (see `asSigned` for rax and orig_rax). */
export type UserRegs = Record<UserRegName, bigint>;

export const USER_REGS_SIZE = USER_REGS_FIELDS.length * 8;

/** Byte offset of each field inside user_regs_struct. */
export const USER_REGS_OFFSET = Object.fromEntries(USER_REGS_FIELDS.map((name, i) => [name, i * 8])) as Record<UserRegName, number>;

export function decodeUserRegs(view: DataView): UserRegs {
  const regs = {} as UserRegs;
  for (const name of USER_REGS_FIELDS) regs[name] = view.getBigUint64(USER_REGS_OFFSET[name], true);
  return regs;
}

export function encodeUserRegs(regs: UserRegs, view: DataView): void {
  for (const name of USER_REGS_FIELDS) view.setBigUint64(USER_REGS_OFFSET[name], BigInt.asUintN(64, regs[name]), true);
}

/** A register value read as a signed 64-bit integer (syscall results, orig_rax = -1). */
export function asSigned(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}
