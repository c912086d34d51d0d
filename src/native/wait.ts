// waitpid/waitid for ptrace tracers. Statuses are decoded into a tagged union so callers never do bit
// arithmetic on raw wait statuses.

import koffi from "koffi";
import { lastErrno } from "./libc.js";
import { Errno, SyscallError } from "./syscall-error.js";

export const WaitFlag = {
  WNOHANG: 0x1,
  WSTOPPED: 0x2,
  WEXITED: 0x4,
  WCONTINUED: 0x8,
  WNOWAIT: 0x01000000,
  /** Wait for every kind of child, thread or not (needed for traced threads that are not leaders). */
  WALL: 0x40000000,
} as const;

export type WaitStatus =
  | { kind: "exited"; code: number }
  | { kind: "killed"; signal: number; coreDumped: boolean }
  /** `event` is a PtraceEvent for a ptrace event stop, 0 for a signal-delivery-stop or a plain stop. */
  | { kind: "stopped"; signal: number; event: number }
  | { kind: "continued" };

/** Decodes the `int status` of wait(2). */
export function decodeWaitStatus(raw: number): WaitStatus {
  const low = raw & 0x7f;
  if (low === 0) return { kind: "exited", code: (raw >> 8) & 0xff };
  if (raw === 0xffff) return { kind: "continued" };
  if (low === 0x7f) return { kind: "stopped", signal: (raw >> 8) & 0xff, event: (raw >> 16) & 0xff };
  return { kind: "killed", signal: low, coreDumped: (raw & 0x80) !== 0 };
}

export interface WaitResult {
  pid: number;
  status: WaitStatus;
}

interface WaitBindings {
  waitpid: (pid: number, status: Int32Array, options: number) => number;
  waitid: (idtype: number, id: number, info: Uint8Array, options: number) => number;
}

let bound: WaitBindings | undefined;

function bindings(): WaitBindings {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    waitpid: lib.func("waitpid", "int", ["int", "void *", "int"]),
    waitid: lib.func("waitid", "int", ["int", "int", "void *", "int"]),
  };
  return bound;
}

const statusOut = new Int32Array(1);

/**
 * waitpid(pid, options). Returns undefined when WNOHANG found nothing; retries EINTR; throws SyscallError
 * (ECHILD when `pid` is neither a child nor a tracee of this process).
 */
export function waitPid(pid: number, options: number): WaitResult | undefined {
  for (;;) {
    const got = bindings().waitpid(pid, statusOut, options);
    if (got > 0) return { pid: got, status: decodeWaitStatus(statusOut[0]!) };
    if (got === 0) return undefined;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SyscallError(`waitpid(${pid})`, errno);
  }
}

/** errno for "no such child or tracee" (not in the shared Errno table). */
export const ECHILD = 10;

export const IdType = { P_ALL: 0, P_PID: 1 } as const;

// siginfo_t as waitid fills it: si_signo @0, si_errno @4, si_code @8, si_pid @16, si_uid @20, si_status @24.
const SIGINFO_SIZE = 128;
const SI_CODE = 8;
const SI_PID = 16;
const SI_STATUS = 24;
const CldCode = { EXITED: 1, KILLED: 2, DUMPED: 3, TRAPPED: 4, STOPPED: 5, CONTINUED: 6 } as const;

const siginfo = new Uint8Array(SIGINFO_SIZE);
const siginfoView = new DataView(siginfo.buffer);

function statusFromSiginfo(code: number, status: number): WaitStatus {
  switch (code) {
    case CldCode.EXITED:
      return { kind: "exited", code: status & 0xff };
    case CldCode.KILLED:
    case CldCode.DUMPED:
      return { kind: "killed", signal: status, coreDumped: code === CldCode.DUMPED };
    case CldCode.CONTINUED:
      return { kind: "continued" };
    default:
      // For a ptrace-stop si_status is the whole stop code: the signal, and the event number in bits 8+.
      return { kind: "stopped", signal: status & 0xff, event: (status >> 8) & 0xff };
  }
}

/**
 * waitid(idtype, id, options): like waitPid, but usable with WNOWAIT to look at an event without consuming
 * it. Returns undefined when WNOHANG found nothing.
 */
export function waitId(idtype: number, id: number, options: number): WaitResult | undefined {
  for (;;) {
    siginfo.fill(0);
    const got = bindings().waitid(idtype, id, siginfo, options);
    if (got === 0) {
      const pid = siginfoView.getInt32(SI_PID, true);
      if (pid === 0) return undefined;
      return { pid, status: statusFromSiginfo(siginfoView.getInt32(SI_CODE, true), siginfoView.getInt32(SI_STATUS, true)) };
    }
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SyscallError(`waitid(${id})`, errno);
  }
}
