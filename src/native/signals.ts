// Signals aimed at one thread, and the signal numbers the injector reasons about.

import { constants } from "node:os";
import { lastErrno, syscall } from "./libc.js";
import { SyscallError } from "./syscall-error.js";
import { SysX64 } from "./x86-64-syscalls.js";

export const Signal = {
  SIGHUP: constants.signals.SIGHUP,
  SIGINT: constants.signals.SIGINT,
  SIGTRAP: constants.signals.SIGTRAP,
  SIGKILL: constants.signals.SIGKILL,
  SIGSEGV: constants.signals.SIGSEGV,
  SIGCHLD: constants.signals.SIGCHLD,
  SIGCONT: constants.signals.SIGCONT,
  SIGSTOP: constants.signals.SIGSTOP,
  SIGTSTP: constants.signals.SIGTSTP,
  SIGTTIN: constants.signals.SIGTTIN,
  SIGTTOU: constants.signals.SIGTTOU,
} as const;

/** Signals whose default action stops the whole thread group (a group-stop). */
export function isStopSignal(signal: number): boolean {
  return signal === Signal.SIGSTOP || signal === Signal.SIGTSTP || signal === Signal.SIGTTIN || signal === Signal.SIGTTOU;
}

/** Sends `signal` to thread `tid` of process `tgid`. */
export function tgkill(tgid: number, tid: number, signal: number): void {
  const result = Number(syscall(SysX64.tgkill, "int", tgid, "int", tid, "int", signal));
  if (result < 0) throw new SyscallError(`tgkill(${tgid}, ${tid}, ${signal})`, lastErrno());
}

export function signalName(signal: number): string {
  for (const [name, value] of Object.entries(constants.signals)) if (value === signal) return name;
  return `signal ${signal}`;
}
