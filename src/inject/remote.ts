// Running code inside a stopped thread of the target: one system call, one function call, or one
// single-step.
//
// A system call goes through a 3-byte stub, `syscall; int3`, written over the executable's entry point
// (_start, which no thread runs again once the program is started) and kept there until the session
// releases the process. The thread's registers are saved, rax and the argument registers set, rip pointed at
// the stub and orig_rax set to -1: a thread stopped inside an interrupted system call would otherwise have
// the kernel's restart logic rewind rip and reload rax when it resumes. The thread runs until the int3, rax
// holds the result, and the saved registers go back. Restoring them also restores the interrupted call's
// orig_rax and -ERESTART* rax, so the kernel restarts that call as if nothing had happened.

import { Signal, signalName } from "../native/signals.js";
import { ptraceGetSigInfo, ptraceGetXState, ptraceSetRegs, ptraceSetXState, ptraceSingleStep } from "../native/ptrace.js";
import type { UserRegs } from "../native/user-regs.js";
import { asSigned } from "../native/user-regs.js";
import type { ProcessMemory } from "../process/memory.js";
import { InjectError } from "./errors.js";
import type { TracedThread } from "./thread.js";
import { type Tracee, unexpectedStop } from "./tracee.js";

const SYSCALL_STUB = Uint8Array.of(0x0f, 0x05, 0xcc);
const SYSCALL_LENGTH = 2n;
/** Where a called function returns to: the stub's int3. */
const RETURN_OFFSET = 2n;
/** Bytes left untouched below a thread's stack pointer before a call frame: the red zone and then some. */
const STACK_SKIP = 256n;
/** Stops unrelated to our trap (signals for the target, group-stops) tolerated before giving up. */
const MAX_DETOURS = 64;

/** Faults raised by the kernel while our code ran mean our code is wrong, not that the target got a signal. */
const FAULT_SIGNALS = new Set<number>([Signal.SIGSEGV, Signal.SIGTRAP, 7 /* SIGBUS */, 4 /* SIGILL */, 8 /* SIGFPE */]);

const SYSCALL_ARGUMENT_REGS = ["rdi", "rsi", "rdx", "r10", "r8", "r9"] as const;
const CALL_ARGUMENT_REGS = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"] as const;

export type RemoteArg = bigint | number;

export class RemoteExecutor {
  private stubOriginal: Uint8Array | undefined;
  private stub: bigint | undefined;

  constructor(
    private readonly tracee: Tracee,
    private readonly memory: ProcessMemory,
    /** Finds an address in executable memory that no thread will run while the session holds the process. */
    private readonly findStub: () => bigint,
  ) {}

  /** Where the stub goes, looked up on first use (a session that runs no code never reads maps or auxv). */
  get stubAddress(): bigint {
    this.stub ??= this.findStub();
    return this.stub;
  }

  /** Runs system call `nr` in `thread`; returns rax as a signed value (-errno on failure). */
  syscall(thread: TracedThread, nr: number, args: readonly RemoteArg[]): bigint {
    if (args.length > SYSCALL_ARGUMENT_REGS.length) throw new RangeError(`a system call takes at most 6 arguments, not ${args.length}`);
    return this.tracee.guard(thread, () => {
      this.installStub();
      return this.withSavedRegs(thread, (saved) => {
        const regs: UserRegs = { ...saved, rax: BigInt(nr), orig_rax: 2n ** 64n - 1n, rip: this.stubAddress };
        args.forEach((arg, i) => (regs[SYSCALL_ARGUMENT_REGS[i]!] = BigInt.asUintN(64, BigInt(arg))));
        return asSigned(this.runUntilTrap(thread, regs, this.stubAddress + SYSCALL_LENGTH + 1n).rax);
      });
    });
  }

  /**
   * Calls the function at `address` in `thread` with up to six integer arguments (System V ABI) and returns
   * rax. Vector registers are saved and restored around it, since the callee may use them.
   */
  call(thread: TracedThread, address: bigint, args: readonly RemoteArg[]): bigint {
    if (args.length > CALL_ARGUMENT_REGS.length) throw new RangeError(`a remote call takes at most 6 arguments, not ${args.length}`);
    return this.tracee.guard(thread, () => {
      this.installStub();
      return this.callSaving(thread, address, args);
    });
  }

  private callSaving(thread: TracedThread, address: bigint, args: readonly RemoteArg[]): bigint {
    const xstate = ptraceGetXState(thread.tid);
    try {
      return this.withSavedRegs(thread, (saved) => {
        // As right after a `call`: the return address on top, rsp = 8 (mod 16).
        const rsp = ((saved.rsp - STACK_SKIP) & ~15n) - 8n;
        this.memory.writeU64(rsp, this.stubAddress + RETURN_OFFSET);
        const regs: UserRegs = { ...saved, rax: 0n, orig_rax: 2n ** 64n - 1n, rip: address, rsp };
        args.forEach((arg, i) => (regs[CALL_ARGUMENT_REGS[i]!] = BigInt.asUintN(64, BigInt(arg))));
        return this.runUntilTrap(thread, regs, this.stubAddress + RETURN_OFFSET + 1n).rax;
      });
    } finally {
      if (this.tracee.threads.get(thread.tid)?.state === "stopped") ptraceSetXState(thread.tid, xstate);
    }
  }

  /** Executes one instruction of `thread`; returns its registers afterwards. */
  step(thread: TracedThread): UserRegs {
    return this.tracee.guard(thread, () => this.stepOnce(thread));
  }

  private stepOnce(thread: TracedThread): UserRegs {
    this.takeOverSignal(thread);
    const stepAgain = () => {
      thread.state = "running";
      thread.stop = undefined;
      thread.regs = undefined;
      ptraceSingleStep(thread.tid, 0);
    };
    stepAgain();
    return this.awaitTrap(thread, undefined, stepAgain);
  }

  /** Puts back the bytes the stub replaced. */
  removeStub(): void {
    if (this.stubOriginal === undefined) return;
    this.memory.write(this.stubAddress, this.stubOriginal);
    this.stubOriginal = undefined;
  }

  private installStub(): void {
    if (this.stubOriginal !== undefined) return;
    const original = this.memory.read(this.stubAddress, SYSCALL_STUB.length);
    this.memory.write(this.stubAddress, SYSCALL_STUB);
    this.stubOriginal = original;
  }

  private withSavedRegs<T>(thread: TracedThread, run: (saved: UserRegs) => T): T {
    this.tracee.checkAlive();
    if (thread.state !== "stopped" || thread.stop?.kind === "syscall-event") {
      throw new InjectError("INJECT_STATE", `thread ${thread.tid} of process ${this.tracee.pid} is not stopped where it can run code`);
    }
    const saved = { ...this.tracee.regsOf(thread) };
    try {
      return run(saved);
    } finally {
      if (!this.tracee.exited && thread.state === "stopped") {
        ptraceSetRegs(thread.tid, saved);
        thread.regs = saved;
      }
    }
  }

  /** A signal the thread was stopped delivering is kept for later, so our resumption does not swallow it. */
  private takeOverSignal(thread: TracedThread): void {
    const stop = thread.stop;
    if (stop?.kind === "signal" && stop.ours !== true && stop.signal !== 0) thread.deferredSignals.push(stop.signal);
  }

  private runUntilTrap(thread: TracedThread, regs: UserRegs, trapAt: bigint): UserRegs {
    ptraceSetRegs(thread.tid, regs);
    this.takeOverSignal(thread);
    this.tracee.resume(thread, 0);
    return this.awaitTrap(thread, trapAt);
  }

  /** Waits for `thread` to stop on a SIGTRAP at `trapAt` (any address when undefined), passing over other stops. */
  private awaitTrap(thread: TracedThread, trapAt: bigint | undefined, resume = () => this.tracee.resume(thread, 0)): UserRegs {
    for (let detours = 0; ; ) {
      this.tracee.nextEvent();
      this.tracee.checkAlive();
      if (thread.state === "exited") throw new InjectError("INJECT_EXITED", `thread ${thread.tid} of process ${this.tracee.pid} exited while running injected code`);
      if (thread.state !== "stopped") continue; // another thread's event (a new thread's first stop)
      const stop = thread.stop!;
      if (stop.kind === "signal") {
        const info = ptraceGetSigInfo(thread.tid);
        if (stop.signal === Signal.SIGTRAP) {
          const now = this.tracee.regsOf(thread);
          if (trapAt === undefined || now.rip === trapAt) {
            stop.ours = true;
            return now;
          }
        }
        if (FAULT_SIGNALS.has(stop.signal) && info.code > 0) {
          stop.ours = true; // never deliver the fault our code caused
          throw new InjectError(
            "INJECT_REMOTE",
            `injected code faulted in thread ${thread.tid} of process ${this.tracee.pid} (${signalName(stop.signal)} at 0x${this.tracee.regsOf(thread).rip.toString(16)})`,
          );
        }
        thread.deferredSignals.push(stop.signal);
        stop.ours = true;
      }
      if (++detours > MAX_DETOURS) throw unexpectedStop(this.tracee.pid, thread);
      // Event-stops (group-stop, a late interrupt) and signals for the target: keep our code going.
      resume();
    }
  }
}
