// Keeping code patches away from threads that are executing the bytes being replaced.
//
// Every thread is stopped while a session holds the process, so the question is only where each one will
// continue. That is rip, or rip - 2 for a thread that will restart an interrupted system call (it resumes
// on the `syscall` instruction itself).

import { InjectError } from "./errors.js";
import type { RemoteExecutor } from "./remote.js";
import { restartPending, resumeAddress } from "./thread.js";
import type { Tracee } from "./tracee.js";

export interface ThreadPosition {
  tid: number;
  rip: bigint;
  /** Where the thread continues when resumed (rip - 2 when a system call will be restarted). */
  resumeAt: bigint;
  /** The thread will restart an interrupted system call. */
  restartsSyscall: boolean;
}

export interface RangeQuery {
  /**
   * Count a thread that resumes exactly at `start` as inside. Patching an instruction boundary the thread is
   * about to execute is safe (it runs the new bytes from their start), so by default it is not counted;
   * freeing or rewriting a whole block needs it counted.
   */
  includeStart?: boolean;
}

export function threadPositions(tracee: Tracee): ThreadPosition[] {
  return tracee
    .liveThreads()
    .filter((t) => t.state === "stopped")
    .map((t) => {
      const regs = tracee.regsOf(t);
      return { tid: t.tid, rip: regs.rip, resumeAt: resumeAddress(regs), restartsSyscall: restartPending(regs) };
    });
}

function inside(address: bigint, start: bigint, end: bigint, includeStart: boolean): boolean {
  return (includeStart ? address >= start : address > start) && address < end;
}

/** The stopped threads that would resume inside [start, end) (start itself only with `includeStart`). */
export function threadsExecutingIn(tracee: Tracee, start: bigint, end: bigint, query: RangeQuery = {}): ThreadPosition[] {
  return threadPositions(tracee).filter((p) => inside(p.resumeAt, start, end, query.includeStart ?? false));
}

/** Instructions a thread must not be stepped over: they may block for ever or change privilege state. */
function isSystemEntry(bytes: Uint8Array): boolean {
  const [a, b] = bytes;
  return (a === 0x0f && (b === 0x05 || b === 0x34)) || a === 0xcd;
}

/**
 * Single-steps thread `tid` until it would resume outside [start, end) (inside means as for
 * threadsExecutingIn). Refuses when it would have to execute a system call to get out. Returns where the
 * thread now resumes.
 */
export function stepOutOf(
  tracee: Tracee,
  executor: RemoteExecutor,
  read: (address: bigint, length: number) => Uint8Array,
  tid: number,
  start: bigint,
  end: bigint,
  options: RangeQuery & { maxSteps?: number } = {},
): bigint {
  const thread = tracee.thread(tid);
  const includeStart = options.includeStart ?? false;
  const maxSteps = options.maxSteps ?? 1000;
  for (let steps = 0; ; steps++) {
    const regs = tracee.regsOf(thread);
    const at = resumeAddress(regs);
    if (!inside(at, start, end, includeStart)) return at;
    const where = `thread ${tid} of process ${tracee.pid} at 0x${at.toString(16)}`;
    if (restartPending(regs) || isSystemEntry(read(at, 2))) {
      throw new InjectError("INJECT_UNSAFE", `${where} is at a system call inside the range and cannot be stepped out of it`);
    }
    if (steps >= maxSteps) throw new InjectError("INJECT_UNSAFE", `${where} is still inside the range after ${maxSteps} steps`);
    executor.step(thread);
  }
}
