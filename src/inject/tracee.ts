// The tracer's view of one target process: its traced threads and the ptrace events they report.
//
// Every method is synchronous. That matters in Node: libuv's SIGCHLD handling calls waitpid() on the
// children it spawned, and a ptrace-stop is reported to the tracer whether or not it asked for stopped
// children, so if the event loop ran while a thread of ours had an unconsumed stop pending, libuv would
// swallow it. Running the whole attach ... detach sequence without yielding to the event loop leaves libuv
// nothing to see.
//
// Events are taken with waitid(P_ALL, WNOWAIT) to learn which thread has one, then consumed with
// waitpid(tid). Blocking on one specific tid would deadlock when the process dies: the kernel reports a
// leader's exit only after every other (traced) thread has been reaped, and those are ours to reap.

import { ptraceCont, ptraceGetEventMsg, ptraceGetRegs, ptraceInterrupt, PtraceEvent } from "../native/ptrace.js";
import { signalName } from "../native/signals.js";
import { Errno, SyscallError } from "../native/syscall-error.js";
import type { UserRegs } from "../native/user-regs.js";
import { ECHILD, IdType, WaitFlag, waitId, waitPid, type WaitResult, type WaitStatus } from "../native/wait.js";
import { existsSync } from "node:fs";
import { ProcessError } from "../process/errors.js";
import { InjectError } from "./errors.js";
import { newThread, type ThreadStop, type TracedThread } from "./thread.js";

const ANY_EVENT = WaitFlag.WEXITED | WaitFlag.WSTOPPED | WaitFlag.WALL;
/** Poll intervals (ms) used while some other child of ours keeps waitid(P_ALL) from blocking. */
const POLL_BACKOFF_MS = [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2];
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

export function describeExit(status: WaitStatus): string {
  if (status.kind === "exited") return `exit status ${status.code}`;
  if (status.kind === "killed") return `killed by ${signalName(status.signal)}`;
  return status.kind;
}

/** Processes held by a Tracee of this process: a second session on one of them must be refused. */
const held = new Set<number>();

export class Tracee {
  readonly threads = new Map<number, TracedThread>();
  /** Set once the whole process is gone. */
  exitStatus: WaitStatus | undefined;

  constructor(
    readonly pid: number,
    /**
     * The process is a child of ours (we spawned it). Its final exit status is then left for libuv to
     * collect, so Node's ChildProcess still emits 'exit'.
     */
    readonly isOurChild: boolean,
  ) {}

  /** Marks the process as held by this tracer; throws INJECT_PERMISSION if another session holds it. */
  claim(): void {
    if (held.has(this.pid)) throw new InjectError("INJECT_PERMISSION", `process ${this.pid} is already attached by this process (another session)`);
    held.add(this.pid);
  }

  unclaim(): void {
    held.delete(this.pid);
  }

  get exited(): boolean {
    return this.exitStatus !== undefined;
  }

  /** Throws INJECT_EXITED once the process is gone. */
  checkAlive(): void {
    if (this.exitStatus !== undefined) {
      throw new InjectError("INJECT_EXITED", `process ${this.pid} exited while attached (${describeExit(this.exitStatus)})`);
    }
  }

  thread(tid: number): TracedThread {
    const thread = this.threads.get(tid);
    if (thread === undefined) throw new InjectError("INJECT_STATE", `thread ${tid} is not traced in process ${this.pid}`);
    return thread;
  }

  /** Threads still traced by us. */
  liveThreads(): TracedThread[] {
    return [...this.threads.values()].filter((t) => t.state === "running" || t.state === "stopped");
  }

  regsOf(thread: TracedThread): UserRegs {
    thread.regs ??= this.guard(thread, () => ptraceGetRegs(thread.tid));
    return thread.regs;
  }

  /**
   * Runs ptrace requests and memory accesses for a thread we hold. ESRCH, or an address space that reads as
   * gone, means it died (a SIGKILL wakes traced threads): its death is collected, so its remains do not stay
   * traced, and INJECT_EXITED is thrown.
   */
  guard<T>(thread: TracedThread, action: () => T): T {
    try {
      return action();
    } catch (error) {
      const gone = (error instanceof SyscallError && error.errno === Errno.ESRCH) || (error instanceof ProcessError && error.code === "PROC_NO_PROCESS");
      if (!gone) throw error;
      this.awaitDeath(thread);
      this.checkAlive();
      throw new InjectError("INJECT_EXITED", `thread ${thread.tid} of process ${this.pid} exited`);
    }
  }

  /** Processes events until `thread` has reported its exit (or the whole process has). */
  awaitDeath(thread: TracedThread): void {
    while (!this.exited && thread.state !== "exited") this.nextEvent();
  }

  /** Resumes a stopped thread. */
  resume(thread: TracedThread, signal = 0): void {
    thread.state = "running";
    thread.stop = undefined;
    thread.regs = undefined;
    try {
      ptraceCont(thread.tid, signal);
    } catch (error) {
      // Killed while stopped (SIGKILL wakes traced threads): its exit event will tell.
      if (!(error instanceof SyscallError && error.errno === Errno.ESRCH)) throw error;
    }
  }

  /**
   * Moves a thread out of a syscall-event stop (it is still inside clone/exec there) to the event-stop at
   * its return to user mode.
   */
  settle(thread: TracedThread): void {
    this.resume(thread);
    try {
      ptraceInterrupt(thread.tid);
    } catch (error) {
      if (!(error instanceof SyscallError && error.errno === Errno.ESRCH)) throw error;
    }
  }

  /** Waits for, records and returns the next event of any traced thread of this process. */
  nextEvent(): { thread: TracedThread; status: WaitStatus } {
    this.checkAlive();
    const event = this.collect();
    const thread = this.threads.get(event.pid) ?? this.adopt(event.pid, "running");
    this.record(thread, event.status);
    return { thread, status: event.status };
  }

  /**
   * Processes events until every thread in `tids` (default: all) is stopped at a point where it can run code
   * or has exited; threads reporting a clone event are moved on to such a point. Threads created meanwhile
   * are added (as running) and waited for too when `tids` is undefined.
   */
  waitAllStopped(tids?: ReadonlySet<number>): void {
    const pending = () =>
      [...this.threads.values()].filter((t) => (tids === undefined || tids.has(t.tid)) && t.state !== "exited" && !(t.state === "stopped" && t.stop?.kind !== "syscall-event"));
    for (;;) {
      for (const thread of pending()) if (thread.state === "stopped") this.settle(thread);
      if (pending().length === 0) return;
      this.nextEvent();
    }
  }

  /** Marks the process gone; later operations throw INJECT_EXITED. */
  markExited(status: WaitStatus): void {
    this.exitStatus ??= status;
    for (const thread of this.liveThreads()) thread.state = "exited";
  }

  private adopt(tid: number, state: TracedThread["state"]): TracedThread {
    const thread = newThread(tid, state);
    this.threads.set(tid, thread);
    return thread;
  }

  private record(thread: TracedThread, status: WaitStatus): void {
    thread.regs = undefined;
    if (status.kind === "exited" || status.kind === "killed") {
      thread.state = "exited";
      thread.stop = undefined;
      if (thread.tid === this.pid) this.markExited(status);
      return;
    }
    if (status.kind !== "stopped") return;
    thread.state = "stopped";
    thread.stop = classifyStop(status.signal, status.event);
    if (status.event === PtraceEvent.CLONE) {
      const child = Number(ptraceGetEventMsg(thread.tid));
      if (!this.threads.has(child)) this.adopt(child, "running");
    }
  }

  /** The next event of one of our threads, consumed (except a spawned leader's final exit, left to libuv). */
  private collect(): WaitResult {
    let peeked: WaitResult | undefined;
    try {
      peeked = waitId(IdType.P_ALL, 0, ANY_EVENT | WaitFlag.WNOWAIT);
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ECHILD) return this.vanished();
      throw error;
    }
    if (peeked !== undefined && this.owns(peeked.pid)) return this.consume(peeked);
    // Another child of this process has an event we must not take: look at our threads one by one.
    for (let round = 0; ; round++) {
      for (const thread of this.liveThreads()) {
        let got: WaitResult | undefined;
        try {
          got = waitId(IdType.P_PID, thread.tid, ANY_EVENT | WaitFlag.WNOWAIT | WaitFlag.WNOHANG);
        } catch (error) {
          if (!(error instanceof SyscallError && error.errno === ECHILD)) throw error;
          // Reaped behind our back (only possible for a process libuv also waits for).
          got = { pid: thread.tid, status: { kind: "exited", code: 0 } };
          return got;
        }
        if (got !== undefined) return this.consume(got);
      }
      sleepMs(POLL_BACKOFF_MS[Math.min(round, POLL_BACKOFF_MS.length - 1)]!);
    }
  }

  private owns(tid: number): boolean {
    return this.threads.has(tid) || existsSync(`/proc/${this.pid}/task/${tid}`);
  }

  private consume(peeked: WaitResult): WaitResult {
    const final = peeked.status.kind === "exited" || peeked.status.kind === "killed";
    if (final && peeked.pid === this.pid && this.isOurChild) return peeked;
    try {
      return waitPid(peeked.pid, WaitFlag.WALL | WaitFlag.WNOHANG) ?? peeked;
    } catch (error) {
      if (error instanceof SyscallError && error.errno === ECHILD) return peeked;
      throw error;
    }
  }

  private vanished(): WaitResult {
    return { pid: this.pid, status: { kind: "exited", code: 0 } };
  }
}

function classifyStop(signal: number, event: number): ThreadStop {
  if (event === PtraceEvent.STOP) return { kind: "event-stop", signal, event };
  if (event !== 0) return { kind: "syscall-event", signal, event };
  return { kind: "signal", signal, event };
}

/** A message for a thread found stopped in a way no step of ours expects. */
export function unexpectedStop(pid: number, thread: TracedThread): InjectError {
  const stop = thread.stop;
  const what = stop === undefined ? thread.state : stop.kind === "signal" ? signalName(stop.signal) : `ptrace event ${stop.event}`;
  return new InjectError("INJECT_REMOTE", `thread ${thread.tid} of process ${pid} stopped unexpectedly (${what})`);
}
