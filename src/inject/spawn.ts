// Starting a command stopped at its entry point: the dynamic loader has mapped and relocated every library
// (and run their constructors) but the program's own startup code and `main` have not run yet.
//
// Node cannot PTRACE_TRACEME in a forked child, so the command starts as `/bin/sh -c 'kill -STOP $$ &&
// exec "$0" "$@"' CMD ARGS`: the shell stops itself, we seize it (TRACEEXEC) and send SIGCONT, the shell
// execs the command, and we get PTRACE_EVENT_EXEC. That stop is still inside execve (the kernel writes
// execve's result into rax on resume), so nothing is injected there: an int3 is put on the entry point
// (AT_ENTRY), the process runs to it, and the byte and rip are put back.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import { ptraceInterrupt, ptraceSeize, ptraceSetRegs, PtraceEvent, PtraceOption } from "../native/ptrace.js";
import { Signal } from "../native/signals.js";
import { IdType, WaitFlag, waitId } from "../native/wait.js";
import { AuxType, readAuxv } from "../process/auxv.js";
import { ProcessMemory } from "../process/memory.js";
import { InjectError } from "./errors.js";
import { newThread, type TracedThread } from "./thread.js";
import { describeExit, Tracee } from "./tracee.js";

export interface SpawnOptions {
  /** The command's environment (default: ours). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** As for child_process.spawn (default "inherit"). */
  stdio?: StdioOptions;
  /** Kill the command if this process dies while it is attached (PTRACE_O_EXITKILL). */
  killOnTracerExit?: boolean;
}

export interface SpawnedProcess {
  child: ChildProcess;
  tracee: Tracee;
  memory: ProcessMemory;
  /** The executable's entry point, where the main thread is stopped. */
  entry: bigint;
  /** hrtime of the first ptrace request. */
  startNs: bigint;
}

const STOP_SELF = 'kill -STOP $$ && exec "$0" "$@"';
const INT3 = 0xcc;
/** Stops to pass over on the way to exec or to the entry point (signals, group-stops) before giving up. */
const MAX_DETOURS = 1000;

function commandName(argv: readonly string[]): string {
  return argv[0] ?? "(empty command)";
}

/** Waits, without consuming it, for the shell to stop itself (or to die). */
function awaitSelfStop(child: ChildProcess, argv: readonly string[]): number {
  const pid = child.pid;
  if (pid === undefined) throw new InjectError("INJECT_SPAWN", `cannot start ${commandName(argv)}: /bin/sh could not be run`);
  const seen = waitId(IdType.P_PID, pid, WaitFlag.WSTOPPED | WaitFlag.WEXITED | WaitFlag.WNOWAIT);
  if (seen === undefined || seen.status.kind !== "stopped") {
    throw new InjectError("INJECT_SPAWN", `cannot start ${commandName(argv)}: the launcher ended (${seen ? describeExit(seen.status) : "no status"})`);
  }
  return pid;
}

/** Passes over stops of the leader until `done` says it is where we want it; other threads are let run. */
function runLeaderUntil(tracee: Tracee, leader: TracedThread, argv: readonly string[], what: string, done: (t: TracedThread) => boolean): void {
  for (let detours = 0; detours < MAX_DETOURS; detours++) {
    const { thread, status } = tracee.nextEvent();
    if (tracee.exited || (thread === leader && leader.state === "exited")) {
      throw new InjectError("INJECT_SPAWN", `${commandName(argv)} ended before ${what} (${describeExit(status)})`);
    }
    if (thread.state !== "stopped") continue;
    if (thread === leader && done(leader)) return;
    const stop = thread.stop!;
    // Signals go to the program as they would without us; other stops are just passed.
    tracee.resume(thread, stop.kind === "signal" ? stop.signal : 0);
  }
  throw new InjectError("INJECT_SPAWN", `${commandName(argv)} did not reach ${what}`);
}

/** Whether `command` names an executable file, directly (with a slash) or through PATH, as the shell will look for it. */
function findCommand(command: string, env: NodeJS.ProcessEnv, cwd: string): boolean {
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/")) return executable(resolve(cwd, command));
  return (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":").some((dir) => executable(resolve(cwd, dir || ".", command)));
}

export function spawnStopped(argv: readonly string[], options: SpawnOptions = {}): SpawnedProcess {
  if (argv.length === 0) throw new InjectError("INJECT_SPAWN", "no command to start");
  if (!findCommand(argv[0]!, options.env ?? process.env, options.cwd ?? process.cwd())) {
    throw new InjectError("INJECT_SPAWN", `cannot start ${argv[0]}: no such executable`);
  }
  const child = spawn("/bin/sh", ["-c", STOP_SELF, ...argv], {
    env: options.env ?? process.env,
    stdio: options.stdio ?? "inherit",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  // Errors are reported synchronously below; keep Node from treating the async 'error' event as unhandled.
  child.on("error", () => {});
  const pid = awaitSelfStop(child, argv);
  const startNs = process.hrtime.bigint();
  const ptraceOptions = PtraceOption.TRACEEXEC | PtraceOption.TRACECLONE | (options.killOnTracerExit ? PtraceOption.EXITKILL : 0);
  const tracee = new Tracee(pid, true);
  tracee.claim();
  const leader = newThread(pid, "running");
  tracee.threads.set(pid, leader);
  try {
    ptraceSeize(pid, ptraceOptions);
    process.kill(pid, "SIGCONT");
    runLeaderUntil(tracee, leader, argv, "exec", (t) => t.stop?.kind === "syscall-event" && t.stop.event === PtraceEvent.EXEC);
    // After exec the process has a new address space: open its memory only now.
    const memory = new ProcessMemory(pid);
    try {
      const entry = readAuxv(pid).get(AuxType.AT_ENTRY);
      if (entry === undefined || entry === 0n) throw new InjectError("INJECT_SPAWN", `${commandName(argv)} has no entry point in its auxiliary vector`);
      const original = memory.read(entry, 1);
      memory.write(entry, Uint8Array.of(INT3));
      tracee.resume(leader);
      runLeaderUntil(tracee, leader, argv, "its entry point", (t) => {
        return t.stop?.kind === "signal" && t.stop.signal === Signal.SIGTRAP && tracee.regsOf(t).rip === entry + 1n;
      });
      memory.write(entry, original);
      const regs = { ...tracee.regsOf(leader), rip: entry };
      ptraceSetRegs(pid, regs);
      leader.regs = regs;
      leader.stop!.ours = true;
      // Library constructors may have started threads: hold them too.
      for (const thread of tracee.liveThreads()) if (thread.state === "running") ptraceInterrupt(thread.tid);
      tracee.waitAllStopped();
      return { child, tracee, memory, entry, startNs };
    } catch (error) {
      memory.close();
      throw error;
    }
  } catch (error) {
    // Fail closed: a command we could not bring to its entry point is not left half-started.
    tracee.unclaim();
    if (!tracee.exited) child.kill("SIGKILL");
    if (error instanceof InjectError) throw error;
    throw new InjectError("INJECT_SPAWN", `cannot start ${commandName(argv)}: ${(error as Error).message}`);
  }
}
