// x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) that the injector runs inside a
// target or calls itself.
export const SysX64 = {
  read: 0,
  write: 1,
  open: 2,
  close: 3,
  mmap: 9,
  mprotect: 10,
  munmap: 11,
  getpid: 39,
  exit: 60,
  kill: 62,
  gettid: 186,
  tgkill: 234,
  exit_group: 231,
  openat: 257,
  process_vm_readv: 310,
  process_vm_writev: 311,
  memfd_create: 319,
  pidfd_open: 434,
  pidfd_getfd: 438,
} as const;

/** Kernel-internal "restart this system call" codes, seen as -rax in a thread stopped inside a syscall. */
export const RestartErrno = {
  ERESTARTSYS: 512,
  ERESTARTNOINTR: 513,
  ERESTARTNOHAND: 514,
  ERESTART_RESTARTBLOCK: 516,
} as const;

/** Syscall results in [-4095, -1] are -errno. */
export const MAX_ERRNO = 4095n;

export const Prot = { NONE: 0, READ: 1, WRITE: 2, EXEC: 4 } as const;

export const MapFlag = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  NORESERVE: 0x4000,
  FIXED_NOREPLACE: 0x100000,
} as const;

export const OpenFlag = { RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, TRUNC: 0o1000, CLOEXEC: 0o2000000 } as const;

export const MemfdFlag = { CLOEXEC: 1, ALLOW_SEALING: 2 } as const;
