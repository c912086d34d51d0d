// memfd_create in this process: anonymous shared memory with a file descriptor, which other processes can
// open through /proc/<our pid>/fd/<fd> and map.

import { lastErrno, syscall } from "./libc.js";
import { SyscallError } from "./syscall-error.js";
import { SysX64 } from "./x86-64-syscalls.js";

export function memfdCreate(name: string, flags = 0): number {
  const fd = Number(syscall(SysX64.memfd_create, "str", name, "unsigned int", flags));
  if (fd < 0) throw new SyscallError(`memfd_create(${name})`, lastErrno());
  return fd;
}
