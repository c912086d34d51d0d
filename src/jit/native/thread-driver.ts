// Running generated code on several native threads at once, for concurrency tests and benchmarks: a
// generated driver creates the threads with libc's pthread_create (addresses looked up through koffi),
// each thread calls a function `iterations` times with its own arguments, and the driver joins them all
// before it returns. The calling (Node) thread waits in native code the whole time; no JavaScript runs
// on the new threads.

import koffi from "koffi";
import { loadCode, nativeFunction, type NativeRegion } from "../executable-memory.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { Asm, M } from "./asm.js";
import { SharedMemory } from "./shared-memory.js";

/** One thread's work: call `fn(r1, r2)` `iterations` times. */
export interface ThreadTask {
  readonly r1: bigint;
  readonly r2: bigint;
  readonly iterations: number;
}

/** Task records: u64 function, r1, r2, iterations, last result, pthread_t. */
const TASK = { fn: 0, r1: 8, r2: 16, iterations: 24, result: 32, thread: 40, size: 48 } as const;

let driver: { region: NativeRegion; spawnAll: (tasks: bigint, count: bigint) => bigint } | undefined;

function libcFunction(name: string): bigint {
  const address = koffi.load("libc.so.6").symbol(name) as unknown;
  if (typeof address !== "bigint" || address === 0n) throw new Error(`libc has no ${name}`);
  return address;
}

/**
 *   thread_main(rdi task) -> 0: the loop one thread runs
 *   spawn_all(rdi tasks, rsi count, rdx thread_main) -> 0, or the first pthread_create error (threads
 *   created before it are still joined)
 */
function emitDriver(): { region: NativeRegion; spawnAll: (tasks: bigint, count: bigint) => bigint } {
  const pthreadCreate = libcFunction("pthread_create");
  const pthreadJoin = libcFunction("pthread_join");
  const a = new Asm();

  a.fn("thread_main");
  {
    const loop = a.label();
    const done = a.label();
    for (const reg of [RBX, R12, R13]) a.push(reg); // three pushes: rsp 16-byte aligned for the calls
    a.mov(RBX, RDI);
    a.ld(64, R12, M(RBX, TASK.iterations));
    a.li(RAX, 0);
    a.bind(loop);
    a.test(R12, R12);
    a.j(Cond.E, done);
    a.ld(64, RDI, M(RBX, TASK.r1));
    a.ld(64, RSI, M(RBX, TASK.r2));
    a.ld(64, R13, M(RBX, TASK.fn));
    a.callReg(R13);
    a.subi(R12, 1);
    a.jmp(loop);
    a.bind(done);
    a.st(64, M(RBX, TASK.result), RAX);
    a.li(RAX, 0);
    for (const reg of [R13, R12, RBX]) a.pop(reg);
    a.ret();
  }

  // spawn_all(rdi tasks, rsi count, rdx thread_main)
  a.fn("spawn_all");
  {
    const create = a.label();
    const joinAll = a.label();
    const join = a.label();
    const done = a.label();
    const saved = [RBX, RBP, R12, R13, R14, R15];
    for (const reg of saved) a.push(reg);
    a.subi(RSP, 8); // six pushes and this: rsp 16-byte aligned for the calls
    a.mov(RBX, RDI);
    a.mov(R12, RSI);
    a.mov(RBP, RDX);
    a.li(R13, 0); // threads created
    a.li(R15, 0); // the first error
    a.bind(create);
    a.cmp(R13, R12);
    a.j(Cond.AE, joinAll);
    a.li(R14, TASK.size);
    a.imul(R14, R13);
    a.add(R14, RBX);
    a.lea(RDI, M(R14, TASK.thread));
    a.li(RSI, 0);
    a.mov(RDX, RBP);
    a.mov(RCX, R14);
    a.callAbs(pthreadCreate);
    a.test(RAX, RAX, 32);
    const ok = a.label();
    a.j(Cond.E, ok);
    a.mov(R15, RAX, 32);
    a.jmp(joinAll);
    a.bind(ok);
    a.addi(R13, 1);
    a.jmp(create);
    a.bind(joinAll);
    a.li(R14, 0);
    a.bind(join);
    a.cmp(R14, R13);
    a.j(Cond.AE, done);
    a.li(RAX, TASK.size);
    a.imul(RAX, R14);
    a.ld(64, RDI, M(RBX, TASK.thread, RAX));
    a.li(RSI, 0);
    a.callAbs(pthreadJoin);
    a.addi(R14, 1);
    a.jmp(join);
    a.bind(done);
    a.mov(RAX, R15);
    a.addi(RSP, 8);
    for (let i = saved.length - 1; i >= 0; i--) a.pop(saved[i]!);
    a.ret();
  }
  const region = loadCode(a.bytes());
  const spawn = nativeFunction(region.address + BigInt(a.offsetOf("spawn_all")), 3);
  const threadMain = region.address + BigInt(a.offsetOf("thread_main"));
  return { region, spawnAll: (tasks, count) => spawn(tasks, count, threadMain) };
}

/**
 * Calls the native function at `fn` on `tasks.length` new threads at once, each with its task's arguments
 * and number of calls, and returns when every thread has finished: each thread's last result.
 */
export function runOnThreads(fn: bigint, tasks: readonly ThreadTask[]): bigint[] {
  driver ??= emitDriver();
  const memory = SharedMemory.shared(TASK.size * Math.max(tasks.length, 1));
  try {
    const bytes = memory.bytes();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    tasks.forEach((task, i) => {
      const at = i * TASK.size;
      view.setBigUint64(at + TASK.fn, fn, true);
      view.setBigUint64(at + TASK.r1, BigInt.asUintN(64, task.r1), true);
      view.setBigUint64(at + TASK.r2, BigInt.asUintN(64, task.r2), true);
      view.setBigUint64(at + TASK.iterations, BigInt(task.iterations), true);
    });
    const error = driver.spawnAll(memory.address, BigInt(tasks.length));
    if (error !== 0n) throw new Error(`pthread_create failed with error ${error}`);
    return tasks.map((_, i) => view.getBigUint64(i * TASK.size + TASK.result, true));
  } finally {
    memory.free();
  }
}
