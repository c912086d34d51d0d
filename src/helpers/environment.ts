// What helpers may ask of the world outside the program: who is running, on which CPU, where trace
// output goes, and (inside a probe) the probed function's ip, arguments and attach cookie.

import { readFileSync } from "node:fs";
import type { TraceSink } from "./trace.js";

export interface TaskIdentity {
  /** Thread group id: the process id. */
  readonly tgid: number;
  /** The thread id (equal to tgid in a single-threaded process). */
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  readonly comm: string;
}

/** The probe a program runs in (uprobe, uretprobe, tracepoint); absent in a plain test run. */
export interface ProbeContext {
  readonly funcIp: bigint;
  readonly cookie: bigint;
  /** Function arguments in calling-convention order, for bpf_get_func_arg. */
  readonly args: readonly bigint[];
  /** The return value, in a return probe. */
  readonly ret?: bigint;
  /** Return addresses of the probed thread, innermost first, for bpf_get_stack. */
  readonly stack?: readonly bigint[];
  /** Makes the probed function return `value` without running (bpf_override_return). */
  override?(value: bigint): void;
}

export interface HelperEnvironment {
  readonly task: () => TaskIdentity;
  readonly cpu: () => number;
  readonly trace: TraceSink;
  /** bpf_send_signal: deliver `signal` to the current task. */
  readonly sendSignal: (signal: number) => void;
  readonly probe: () => ProbeContext | undefined;
}

/** This process as the current task (what a test run in-process reports). */
export function currentProcessIdentity(): TaskIdentity {
  let comm = "node";
  try {
    comm = readFileSync("/proc/self/comm", "utf8").trim();
  } catch {
    // keep the default: /proc is not mounted
  }
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { tgid: process.pid, pid: process.pid, uid, gid, comm };
}
