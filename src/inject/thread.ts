// One traced thread and the kind of ptrace-stop it is in.

import type { UserRegs } from "../native/user-regs.js";
import { asSigned } from "../native/user-regs.js";
import { RestartErrno } from "../native/x86-64-syscalls.js";

export type StopKind =
  /**
   * PTRACE_EVENT_STOP: our interrupt, a group-stop, or the first stop of a new thread. The thread sits at
   * its return to user mode, so its registers can be changed and code run on it.
   */
  | "event-stop"
  /** Signal-delivery-stop: also at the return to user mode; `signal` is about to be delivered. */
  | "signal"
  /**
   * A clone/fork/exec event stop. The thread is still inside that system call and the kernel will write
   * the call's result into rax when it resumes, so it must not run injected code from here.
   */
  | "syscall-event";

export interface ThreadStop {
  kind: StopKind;
  signal: number;
  /** PtraceEvent number, 0 for a signal-delivery-stop. */
  event: number;
  /** A signal-delivery-stop for a trap of our own making: its signal is never delivered to the target. */
  ours?: boolean;
}

export interface TracedThread {
  readonly tid: number;
  /** "released": detached from us, running on its own. */
  state: "running" | "stopped" | "exited" | "released";
  /** Set while stopped. */
  stop?: ThreadStop | undefined;
  /** Registers as of the current stop, read on first use. */
  regs?: UserRegs | undefined;
  /**
   * Signals taken from the thread while we held it (it was stopped delivering them, and we resumed it for
   * our own code instead); they are sent again when the thread is released.
   */
  deferredSignals: number[];
}

export function newThread(tid: number, state: TracedThread["state"]): TracedThread {
  return { tid, state, deferredSignals: [] };
}

/** Whether injected code may run on the thread: stopped, and not in the middle of a system call event. */
export function canRunCode(thread: TracedThread): boolean {
  return thread.state === "stopped" && thread.stop !== undefined && thread.stop.kind !== "syscall-event";
}

const RESTART_CODES = new Set<bigint>(Object.values(RestartErrno).map((code) => BigInt(-code)));

/**
 * Whether the kernel will restart an interrupted system call when the thread resumes: it was stopped inside
 * one (orig_rax >= 0) that returned a restart code. It then resumes two bytes earlier, on the `syscall`.
 */
export function restartPending(regs: UserRegs): boolean {
  return asSigned(regs.orig_rax) >= 0n && RESTART_CODES.has(asSigned(regs.rax));
}

/** The address the thread will execute next when resumed, syscall restarts included. */
export function resumeAddress(regs: UserRegs): bigint {
  return restartPending(regs) ? regs.rip - 2n : regs.rip;
}
