// Threads of a process as /proc shows them.

import { readdirSync, readFileSync } from "node:fs";
import { procAccessError } from "./errors.js";

/**
 * A file of thread `tid`'s /proc directory. Per-process files such as maps, mem and auxv are read through a
 * thread that is alive: once the main thread has called pthread_exit (a zombie leader), /proc/PID/maps is
 * empty and /proc/PID/mem unusable, while the other threads' views still show the shared address space.
 */
export function taskFile(pid: number, tid: number | undefined, name: string): string {
  return `/proc/${pid}/task/${tid ?? pid}/${name}`;
}

/** The tids in /proc/PID/task, ascending. Throws ProcessError PROC_NO_PROCESS when the process is gone. */
export function listThreads(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch (error) {
    throw procAccessError(pid, error, "the threads");
  }
  return names.map(Number).filter((tid) => Number.isInteger(tid) && tid > 0).sort((a, b) => a - b);
}

/** The process (thread group) that thread `tid` belongs to, or undefined when there is no such thread. */
export function threadGroupOf(tid: number): number | undefined {
  try {
    const match = /^Tgid:\s*(\d+)/m.exec(readFileSync(`/proc/${tid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

export interface TaskStat {
  /** The one-letter state: R, S, D, T (stopped), t (traced), Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
}

/** State and parent of a thread (or of the process, when tid = pid), or undefined once it is gone. */
export function readTaskStat(pid: number, tid = pid): TaskStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself contain spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", ppid: Number(fields[1]) };
}

/** Whether a thread has finished running (a zombie whose exit nobody has collected yet counts as finished). */
export function isDead(stat: TaskStat | undefined): boolean {
  return stat === undefined || stat.state === "Z" || stat.state === "X";
}
