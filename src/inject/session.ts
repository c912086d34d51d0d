// An injection session: a target process held under ptrace with every thread stopped, and what can be done
// to it meanwhile (system calls and function calls inside it, memory reads and code writes, symbol
// resolution), until `detach` restores what we borrowed and lets it run.
//
// All methods are synchronous and the session never yields to the event loop while it holds the process
// (see tracee.ts for why). Keep the span between attach/spawn and detach free of `await`.

import type { ChildProcess } from "node:child_process";
import { ptraceDetach, ptraceInterrupt, PtraceOption } from "../native/ptrace.js";
import { tgkill } from "../native/signals.js";
import { Errno, SyscallError } from "../native/syscall-error.js";
import { ECHILD, WaitFlag, waitPid, type WaitStatus } from "../native/wait.js";
import { MapFlag, MAX_ERRNO, OpenFlag, Prot, SysX64 } from "../native/x86-64-syscalls.js";
import { alignUp, freeRangesNear, PAGE_SIZE, type NearOptions } from "../process/address-gaps.js";
import { AuxType, readAuxv } from "../process/auxv.js";
import { mappingAt, findModule, modulesOf, readMaps, type MapEntry, type ProcessModule } from "../process/maps.js";
import { ProcessMemory } from "../process/memory.js";
import { moduleElf } from "../process/module-file.js";
import { readTaskStat, threadGroupOf } from "../process/tasks.js";
import { resolveSymbol, type ResolvedSymbol } from "../process/symbols.js";
import { seizeAllThreads } from "./attach.js";
import { stepOutOf, threadPositions, threadsExecutingIn, type RangeQuery, type ThreadPosition } from "./code-safety.js";
import { InjectError } from "./errors.js";
import { RemoteExecutor, type RemoteArg } from "./remote.js";
import { spawnStopped, type SpawnOptions } from "./spawn.js";
import { canRunCode, restartPending, type TracedThread } from "./thread.js";
import { Tracee } from "./tracee.js";

export interface AttachOptions {
  /** Kill the target if this process dies while it is attached (PTRACE_O_EXITKILL). */
  killOnTracerExit?: boolean;
}

/** How long the target was held, measured from the first ptrace request. */
export interface PauseReport {
  /** Threads held (the most seen at once). */
  threads: number;
  /** Until every thread was stopped. */
  stopMs: number;
  /** Until the last thread was released; undefined while still attached. */
  pauseMs: number | undefined;
}

export interface MmapOptions {
  /** A hint, or the exact address with MapFlag.FIXED / FIXED_NOREPLACE. */
  address?: bigint;
  length: number | bigint;
  /** Prot bits (default read + write). */
  prot?: number;
  /** MapFlag bits (default private + anonymous). */
  flags?: number;
  fd?: number;
  offset?: bigint;
}

export interface ThreadOption {
  /** The thread to run in (default: the main thread when it can, else the first thread that can). */
  tid?: number;
}

export interface ResolvedFunction extends ResolvedSymbol {
  /** The code that runs: `address`, or for an IFUNC the implementation its resolver picked in the target. */
  implementation: bigint;
}

function elapsedMs(from: bigint, to: bigint): number {
  return Number(to - from) / 1e6;
}

export class InjectionSession {
  private readonly executor: RemoteExecutor;
  private scratch: { address: bigint; size: bigint } | undefined;
  private releasedNs: bigint | undefined;
  private mostThreads: number;

  private constructor(
    private readonly tracee: Tracee,
    private readonly memory: ProcessMemory,
    private readonly startNs: bigint,
    private readonly stoppedNs: bigint,
    /** The ChildProcess of a spawned command. */
    readonly child: ChildProcess | undefined,
  ) {
    this.executor = new RemoteExecutor(tracee, memory, () => stubAddress(tracee.pid, viewThread(tracee)));
    this.mostThreads = tracee.liveThreads().length;
  }

  /** Attaches to a running process (given its pid, or the tid of any of its threads) and stops all of its threads. */
  static attach(target: number, options: AttachOptions = {}): InjectionSession {
    const pid = Number.isInteger(target) && target > 0 ? threadGroupOf(target) : undefined;
    if (pid === undefined) throw new InjectError("INJECT_NO_PROCESS", `no such process ${target}`);
    const isOurChild = readTaskStat(pid)?.ppid === process.pid;
    const tracee = new Tracee(pid, isOurChild);
    tracee.claim();
    const startNs = process.hrtime.bigint();
    const ptraceOptions = PtraceOption.TRACECLONE | (options.killOnTracerExit ? PtraceOption.EXITKILL : 0);
    let memory: ProcessMemory | undefined;
    try {
      seizeAllThreads(tracee, ptraceOptions);
      const stoppedNs = process.hrtime.bigint();
      memory = new ProcessMemory(pid, viewThread(tracee));
      return new InjectionSession(tracee, memory, startNs, stoppedNs, undefined);
    } catch (error) {
      memory?.close();
      try {
        releaseThreads(tracee);
      } finally {
        tracee.unclaim();
      }
      throw error;
    }
  }

  /**
   * Starts `argv` stopped at the executable's entry point, after the dynamic loader has mapped its libraries
   * and before `main` (see spawn.ts). `child` is its ChildProcess.
   */
  static spawn(argv: readonly string[], options: SpawnOptions = {}): InjectionSession {
    const spawned = spawnStopped(argv, options);
    return new InjectionSession(spawned.tracee, spawned.memory, spawned.startNs, process.hrtime.bigint(), spawned.child);
  }

  get pid(): number {
    return this.tracee.pid;
  }

  /** True from attach/spawn until detach, or until the process exits. */
  get attached(): boolean {
    return this.releasedNs === undefined && !this.tracee.exited;
  }

  /** How the process ended, if it did while attached. */
  get exitStatus(): WaitStatus | undefined {
    return this.tracee.exitStatus;
  }

  /** The held threads' ids, ascending. */
  threadIds(): number[] {
    return this.tracee
      .liveThreads()
      .map((t) => t.tid)
      .sort((a, b) => a - b);
  }

  /** Where every held thread is stopped. */
  threadPositions(): ThreadPosition[] {
    this.checkAttached();
    return threadPositions(this.tracee);
  }

  pauseReport(): PauseReport {
    return {
      threads: this.mostThreads,
      stopMs: elapsedMs(this.startNs, this.stoppedNs),
      pauseMs: this.releasedNs === undefined ? undefined : elapsedMs(this.startNs, this.releasedNs),
    };
  }

  // ---- code and system calls inside the target ------------------------------------------------------

  /** Runs system call `nr` in the target; returns the raw result (-errno on failure). */
  syscall(nr: number, args: readonly RemoteArg[] = [], options: ThreadOption = {}): bigint {
    return this.executor.syscall(this.runner(options), nr, args);
  }

  /**
   * Calls the function at `address` in the target (integer arguments, System V ABI); returns rax. Unless told
   * otherwise it runs in a thread that is not inside an interrupted system call: a called function that itself
   * sleeps would overwrite the kernel's record of how to restart that thread's nanosleep or futex wait.
   */
  callFunction(address: bigint, args: readonly RemoteArg[] = [], options: ThreadOption = {}): bigint {
    const thread =
      options.tid === undefined ? (this.tracee.liveThreads().find((t) => canRunCode(t) && !restartPending(this.tracee.regsOf(t))) ?? this.runner(options)) : this.runner(options);
    return this.executor.call(thread, address, args);
  }

  mmap(options: MmapOptions): bigint {
    const result = this.syscall(SysX64.mmap, [
      options.address ?? 0n,
      options.length,
      options.prot ?? Prot.READ | Prot.WRITE,
      options.flags ?? MapFlag.PRIVATE | MapFlag.ANONYMOUS,
      options.fd ?? -1,
      options.offset ?? 0n,
    ]);
    return BigInt.asUintN(64, this.checked("mmap", result));
  }

  munmap(address: bigint, length: number | bigint): void {
    this.checked("munmap", this.syscall(SysX64.munmap, [address, length]));
  }

  mprotect(address: bigint, length: number | bigint, prot: number): void {
    this.checked("mprotect", this.syscall(SysX64.mprotect, [address, length, prot]));
  }

  /** Opens `path` in the target; returns the target's fd. */
  open(path: string, flags: number = OpenFlag.RDONLY | OpenFlag.CLOEXEC, mode = 0): number {
    const address = this.scratchString(path);
    return Number(this.checked(`open(${path})`, this.syscall(SysX64.open, [address, flags, mode])));
  }

  close(fd: number): void {
    this.checked(`close(${fd})`, this.syscall(SysX64.close, [fd]));
  }

  /** memfd_create in the target; returns the target's fd. */
  memfdCreate(name: string, flags = 0): number {
    const address = this.scratchString(name);
    return Number(this.checked("memfd_create", this.syscall(SysX64.memfd_create, [address, flags])));
  }

  /**
   * Maps `length` bytes of a file this process has open (a memfd arena, say) into the target, shared: the
   * target opens /proc/<our pid>/fd/<fd>, maps it and closes its fd again. Returns the target address.
   */
  mapSharedFd(localFd: number, length: number | bigint, prot: number = Prot.READ | Prot.WRITE, options: { address?: bigint; flags?: number } = {}): bigint {
    return this.mapFile(`/proc/${process.pid}/fd/${localFd}`, length, prot, options);
  }

  /** Maps a file into the target, MAP_SHARED by default; returns the target address. */
  mapFile(path: string, length: number | bigint, prot: number = Prot.READ, options: { address?: bigint; flags?: number; offset?: bigint } = {}): bigint {
    const openFlags = ((prot & Prot.WRITE) !== 0 ? OpenFlag.RDWR : OpenFlag.RDONLY) | OpenFlag.CLOEXEC;
    const fd = this.open(path, openFlags);
    try {
      return this.mmap({
        length,
        prot,
        flags: options.flags ?? MapFlag.SHARED,
        fd,
        ...(options.address === undefined ? {} : { address: options.address }),
        ...(options.offset === undefined ? {} : { offset: options.offset }),
      });
    } finally {
      this.close(fd);
    }
  }

  /**
   * Maps fresh anonymous memory within rel32 reach of `near` (±2 GB by default), for trampolines that a
   * 5-byte jmp can reach. Returns its address.
   */
  allocateNear(near: bigint, size: number | bigint, prot: number = Prot.READ | Prot.EXEC, options: NearOptions = {}): bigint {
    const length = alignUp(BigInt(size), PAGE_SIZE);
    for (const range of freeRangesNear(this.maps(), near, length, options).slice(0, 8)) {
      const address = range.end <= near ? range.end - length : range.start;
      const result = this.syscall(SysX64.mmap, [address, length, prot, MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE, -1, 0]);
      if (result === -BigInt(Errno.EEXIST)) continue;
      const mapped = BigInt.asUintN(64, this.checked("mmap", result));
      if (mapped !== address) {
        this.munmap(mapped, length); // a kernel without MAP_FIXED_NOREPLACE took it as a hint
        continue;
      }
      return mapped;
    }
    throw new InjectError("INJECT_STATE", `no free ${length}-byte range within reach of 0x${near.toString(16)} in process ${this.pid}`);
  }

  // ---- memory -------------------------------------------------------------------------------------------

  read(address: bigint, length: number): Uint8Array {
    this.checkAttached();
    return this.memory.read(address, length);
  }

  /** Writes target memory, whatever its protection (through /proc/PID/mem). */
  write(address: bigint, bytes: Uint8Array): void {
    this.checkAttached();
    this.memory.write(address, bytes);
  }

  readU64(address: bigint): bigint {
    this.checkAttached();
    return this.memory.readU64(address);
  }

  writeU64(address: bigint, value: bigint): void {
    this.checkAttached();
    this.memory.writeU64(address, value);
  }

  /**
   * Replaces code: refuses (INJECT_UNSAFE) when a thread would resume strictly inside the bytes, then writes
   * and reads them back.
   */
  writeCode(address: bigint, bytes: Uint8Array): void {
    const end = address + BigInt(bytes.length);
    const busy = this.threadsExecutingIn(address, end);
    if (busy.length > 0) {
      const list = busy.map((p) => `${p.tid} at 0x${p.resumeAt.toString(16)}`).join(", ");
      throw new InjectError("INJECT_UNSAFE", `cannot patch 0x${address.toString(16)}..0x${end.toString(16)} in process ${this.pid}: threads execute inside it (${list})`);
    }
    this.memory.write(address, bytes);
    const back = this.memory.read(address, bytes.length);
    if (!back.every((b, i) => b === bytes[i])) throw new InjectError("INJECT_REMOTE", `code written at 0x${address.toString(16)} in process ${this.pid} did not stick`);
  }

  /** The held threads that would resume inside [start, end) (see RangeQuery for `start` itself). */
  threadsExecutingIn(start: bigint, end: bigint, query: RangeQuery = {}): ThreadPosition[] {
    this.checkAttached();
    return threadsExecutingIn(this.tracee, start, end, query);
  }

  /** Single-steps a thread until it resumes outside [start, end); returns where it resumes. */
  stepOutOf(tid: number, start: bigint, end: bigint, options: RangeQuery & { maxSteps?: number } = {}): bigint {
    this.checkAttached();
    return stepOutOf(this.tracee, this.executor, (a, n) => this.memory.read(a, n), tid, start, end, options);
  }

  // ---- modules and symbols ------------------------------------------------------------------------------

  maps(): MapEntry[] {
    return readMaps(this.pid, viewThread(this.tracee));
  }

  modules(): ProcessModule[] {
    return modulesOf(this.maps());
  }

  /** The module `spec` names: an absolute path or a file name such as "libc.so.6" (see findModule). */
  findModule(spec: string): ProcessModule {
    return findModule(this.modules(), spec, this.pid);
  }

  /**
   * The runtime address of function `name` (optionally `name@VER` / `name@@VER`) in module `moduleSpec`. An
   * IFUNC's resolver is called in the target to learn which implementation runs.
   */
  resolveFunction(moduleSpec: string, name: string): ResolvedFunction {
    const module = this.findModule(moduleSpec);
    const resolved = resolveSymbol(moduleElf(module, this.pid, viewThread(this.tracee)), module, name);
    const implementation = resolved.ifunc ? this.callFunction(resolved.address) : resolved.address;
    return { ...resolved, implementation };
  }

  // ---- leaving ------------------------------------------------------------------------------------------

  /**
   * Undoes what the session borrowed (the syscall stub, the scratch page) and releases every thread, which
   * resumes where it was, with any signal that arrived meanwhile delivered. Safe to call again, and after the
   * process has exited. Returns the pause report.
   */
  detach(): PauseReport {
    if (this.releasedNs !== undefined) return this.pauseReport();
    try {
      if (!this.tracee.exited) {
        if (this.scratch !== undefined) this.munmap(this.scratch.address, this.scratch.size);
        this.executor.removeStub();
      }
    } finally {
      this.scratch = undefined;
      try {
        releaseThreads(this.tracee);
      } finally {
        this.tracee.unclaim();
        this.memory.close();
      }
      this.releasedNs = process.hrtime.bigint();
    }
    return this.pauseReport();
  }

  // ---- internals ----------------------------------------------------------------------------------------

  private checkAttached(): void {
    this.tracee.checkAlive();
    if (this.releasedNs !== undefined) throw new InjectError("INJECT_STATE", `the session with process ${this.pid} is detached`);
  }

  private runner(options: ThreadOption): TracedThread {
    this.checkAttached();
    this.mostThreads = Math.max(this.mostThreads, this.tracee.liveThreads().length);
    if (options.tid !== undefined) return this.tracee.thread(options.tid);
    const leader = this.tracee.threads.get(this.pid);
    if (leader !== undefined && canRunCode(leader)) return leader;
    const other = this.tracee.liveThreads().find(canRunCode);
    if (other === undefined) throw new InjectError("INJECT_STATE", `no thread of process ${this.pid} can run injected code`);
    return other;
  }

  private checked(call: string, result: bigint): bigint {
    if (result < 0n && result >= -MAX_ERRNO) throw new SyscallError(`${call} in process ${this.pid}`, Number(-result));
    return result;
  }

  /** Copies a NUL-terminated string into a scratch page in the target (mapped on first use, freed at detach). */
  private scratchString(text: string): bigint {
    const bytes = Buffer.from(`${text}\0`, "utf8");
    const size = alignUp(BigInt(bytes.length), PAGE_SIZE);
    if (this.scratch === undefined || this.scratch.size < size) {
      if (this.scratch !== undefined) this.munmap(this.scratch.address, this.scratch.size);
      this.scratch = undefined;
      this.scratch = { address: this.mmap({ length: size }), size };
    }
    this.memory.write(this.scratch.address, bytes);
    return this.scratch.address;
  }
}

/**
 * The thread whose /proc directory shows the process's memory: the main thread, unless it has exited while
 * others run on (see taskFile).
 */
function viewThread(tracee: Tracee): number {
  const leader = tracee.threads.get(tracee.pid);
  if (leader !== undefined && (leader.state === "stopped" || leader.state === "running")) return tracee.pid;
  return tracee.liveThreads()[0]?.tid ?? tracee.pid;
}

/**
 * Where the syscall stub goes: the executable's entry point (no thread runs _start again), or the start of
 * some executable mapping if that is not mapped executable.
 */
function stubAddress(pid: number, tid: number): bigint {
  const maps = readMaps(pid, tid);
  const entry = readAuxv(pid, tid).get(AuxType.AT_ENTRY);
  if (entry !== undefined && mappingAt(maps, entry)?.executable === true) return entry;
  const code = maps.find((m) => m.executable && m.path !== "[vsyscall]" && m.end - m.start >= 16n);
  if (code === undefined) throw new InjectError("INJECT_STATE", `process ${pid} has no executable memory to run a system call from`);
  return code.start;
}

function ignoreGone(action: () => void): void {
  try {
    action();
  } catch (error) {
    // The thread is gone (ESRCH), or already collected (ECHILD).
    if (!(error instanceof SyscallError && (error.errno === Errno.ESRCH || error.errno === ECHILD))) throw error;
  }
}

/**
 * Lets every held thread go. Running threads (left so by an error midway) are stopped first so each can be
 * detached; signals kept from the target while we held it are sent again. Threads found dead are collected.
 */
function releaseThreads(tracee: Tracee): void {
  if (!tracee.exited) {
    const running = tracee.liveThreads().filter((t) => t.state === "running");
    for (const thread of running) ignoreGone(() => ptraceInterrupt(thread.tid));
    while (!tracee.exited && tracee.liveThreads().some((t) => t.state === "running")) tracee.nextEvent();
  }
  const dead: TracedThread[] = [];
  for (const thread of tracee.exited ? [] : tracee.liveThreads()) {
    for (const signal of thread.deferredSignals) ignoreGone(() => tgkill(tracee.pid, thread.tid, signal));
    thread.deferredSignals = [];
    const stop = thread.stop;
    const pending = stop?.kind === "signal" && stop.ours !== true ? stop.signal : 0;
    try {
      ptraceDetach(thread.tid, pending);
      thread.state = "released";
    } catch (error) {
      if (!(error instanceof SyscallError && error.errno === Errno.ESRCH)) throw error;
      dead.push(thread);
    }
  }
  for (const thread of dead) tracee.awaitDeath(thread);
  if (tracee.exited) {
    // Collect what is left of threads whose exit we have not consumed, so they do not linger traced.
    for (const thread of tracee.threads.values()) {
      if (thread.tid !== tracee.pid || !tracee.isOurChild) ignoreGone(() => void waitPid(thread.tid, WaitFlag.WALL | WaitFlag.WNOHANG));
    }
  }
}
