// A failed system call, carrying errno both as a number (for comparisons) and as its symbolic name
// (for messages a person reads).

import koffi from "koffi";

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(koffi.os.errno)) {
  // Several names can share a value (EAGAIN/EWOULDBLOCK); the first one listed is the usual spelling.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** The errno values callers most often test for, named so tests and callers need no magic numbers. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  E2BIG: 7,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
} as const;

export class SyscallError extends Error {
  override name = "SyscallError";
  constructor(
    /** What was called, e.g. "bpf(BPF_MAP_CREATE)". */
    readonly call: string,
    readonly errno: number,
    detail?: string,
  ) {
    super(`${call} failed: ${errnoName(errno)}${detail ? ` (${detail})` : ""}`);
  }

  /** The symbolic errno, e.g. "ENOENT". */
  get code(): string {
    return errnoName(this.errno);
  }
}
