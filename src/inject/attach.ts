// Stopping every thread of a running process.
//
// ptrace works on threads, so each tid in /proc/PID/task is seized (PTRACE_SEIZE, with TRACECLONE so that
// threads they create arrive traced and stopped) and interrupted. Threads can be created while we do this by
// threads not yet seized, so the task list is read again until a reading shows nothing new, and once more
// after every known thread has stopped: a clone that was under way during the last reading has finished by
// the time its creator stops.

import { readFileSync } from "node:fs";
import { ptraceInterrupt, ptraceSeize } from "../native/ptrace.js";
import { Errno, SyscallError } from "../native/syscall-error.js";
import { ProcessError } from "../process/errors.js";
import { isDead, listThreads, readTaskStat } from "../process/tasks.js";
import { InjectError } from "./errors.js";
import { newThread } from "./thread.js";
import type { Tracee } from "./tracee.js";

function tracerOf(pid: number, tid = pid): number {
  try {
    const match = /^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

function permissionError(pid: number): InjectError {
  if (pid === process.pid) return new InjectError("INJECT_PERMISSION", `cannot trace process ${pid}: it is this process`);
  const tracer = tracerOf(pid);
  if (tracer !== 0 && tracer !== process.pid) return new InjectError("INJECT_PERMISSION", `process ${pid} is already traced by process ${tracer}`);
  return new InjectError("INJECT_PERMISSION", `no permission to trace process ${pid} (run as its user or as root; a debugger or Yama may also forbid it)`);
}

function threadsOf(pid: number): number[] {
  try {
    return listThreads(pid);
  } catch (error) {
    if (error instanceof ProcessError && error.code === "PROC_NO_PROCESS") throw new InjectError("INJECT_NO_PROCESS", `no such process ${pid}`);
    if (error instanceof ProcessError && error.code === "PROC_NO_PERMISSION") throw permissionError(pid);
    throw error;
  }
}

/** Seizes and interrupts the threads not traced yet; returns how many were new. */
function seizeNewThreads(tracee: Tracee, options: number): number {
  let fresh = 0;
  for (const tid of threadsOf(tracee.pid)) {
    if (tracee.threads.has(tid)) continue;
    // A leader that called pthread_exit stays a zombie until the last thread ends; it would never stop.
    if (isDead(readTaskStat(tracee.pid, tid))) continue;
    try {
      ptraceSeize(tid, options);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === Errno.ESRCH) continue; // it exited meanwhile
      if (!(error instanceof SyscallError && error.errno === Errno.EPERM)) throw error;
      // EPERM also answers a thread that has just exited, and one created by a thread we already traced
      // (TRACECLONE attached it for us: its first stop is coming).
      if (isDead(readTaskStat(tracee.pid, tid))) continue;
      if (tracerOf(tracee.pid, tid) !== process.pid) throw permissionError(tracee.pid);
      tracee.threads.set(tid, newThread(tid, "running"));
      fresh++;
      continue;
    }
    tracee.threads.set(tid, newThread(tid, "running"));
    fresh++;
    ptraceInterrupt(tid);
  }
  return fresh;
}

/** Seizes every thread of the process and waits until all of them are stopped where code can run. */
export function seizeAllThreads(tracee: Tracee, options: number): void {
  for (;;) {
    while (seizeNewThreads(tracee, options) > 0) {
      // Read the task list again: seized threads may have created more before they stopped.
    }
    if (tracee.threads.size === 0) throw new InjectError("INJECT_NO_PROCESS", `no such process ${tracee.pid}`);
    tracee.waitAllStopped();
    tracee.checkAlive();
    if (seizeNewThreads(tracee, options) === 0) return;
  }
}
