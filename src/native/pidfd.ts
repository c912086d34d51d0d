// pidfd_open/pidfd_getfd (Linux 5.3/5.6): copy a file descriptor out of another process, e.g. a memfd the
// target created, given ptrace-attach rights over it.

import { lastErrno, syscall } from "./libc.js";
import { SyscallError } from "./syscall-error.js";
import { SysX64 } from "./x86-64-syscalls.js";

export function pidfdOpen(pid: number, flags = 0): number {
  const fd = Number(syscall(SysX64.pidfd_open, "int", pid, "unsigned int", flags));
  if (fd < 0) throw new SyscallError(`pidfd_open(${pid})`, lastErrno());
  return fd;
}

/** Duplicates file descriptor `targetFd` of the process behind `pidfd` into this process (close-on-exec). */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  const fd = Number(syscall(SysX64.pidfd_getfd, "int", pidfd, "int", targetFd, "unsigned int", 0));
  if (fd < 0) throw new SyscallError(`pidfd_getfd(${targetFd})`, lastErrno());
  return fd;
}
