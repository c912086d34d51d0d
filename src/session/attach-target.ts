// Putting a session into one stopped process: map the arena at its fixed address, build and write the
// process's own code (native helpers + JIT'd programs), and hook every function a uprobe or uretprobe
// program names. The caller holds the process stopped (InjectionSession) for the whole call and detaches
// afterwards; every write that could be seen half-done happens while all threads are stopped, and the patch
// itself only once no thread would resume inside the bytes it replaces.

import { readFileSync } from "node:fs";
import { HOOK_SLICE_MAX_SIZE, HookControl, controlBlockWrites, dispatchTarget } from "../hook/trampoline/hook-slice.js";
import { encodeProgramTable, type AttachedProgram } from "../hook/trampoline/program-table.js";
import { DEFAULT_THREAD_STACK_SHAPE, threadStackTableSize, type ThreadStackConfig } from "../hook/trampoline/thread-stacks.js";
import { threadKeySourceFor } from "../hook/trampoline/thread-key.js";
import { prepareHook } from "../hook/prepare.js";
import { formatHexBytes } from "../isa/instruction.js";
import type { InjectionSession } from "../inject/session.js";
import { processFacts } from "../jit/native/process-facts.js";
import { thisProcessVdso } from "../jit/native/vdso.js";
import { MapFlag, Prot } from "../native/x86-64-syscalls.js";
import type { HookRecord, TargetRecord } from "./descriptor.js";
import { buildTargetImage, targetDataSize, type TargetFacts, type TargetImageInput } from "./target-image.js";

const PAGE = 4096n;
const MADV_WIPEONFORK = 18;
const SYS_MADVISE = 28;
/** Bytes of a function read to plan its patch (the planner needs 32; more lets it check branches). */
const FUNCTION_WINDOW = 256;

export class AttachError extends Error {
  override name = "AttachError";
  readonly code = "ATTACH_FAILED";
}

/** One program to hook in: its kind, where, and its name for messages. */
export interface HookRequest {
  readonly program: string;
  readonly retprobe: boolean;
  readonly binary: string;
  readonly func: string;
  readonly offset: number;
}

export interface SessionInTarget {
  readonly sessionId: string;
  readonly arenaPath: string;
  readonly base: bigint;
  readonly size: number;
  readonly image: Omit<TargetImageInput, "facts" | "dataBase" | "codeBase">;
  readonly hooks: readonly HookRequest[];
}

const pageUp = (n: number | bigint): bigint => ((BigInt(n) + PAGE - 1n) / PAGE) * PAGE;

/** What the generated helpers may rely on in the target. */
function targetFacts(injection: InjectionSession): TargetFacts {
  const ours = processFacts();
  const cpu = ours.rdpid ? ({ kind: "rdpid" } as const) : ({ kind: "rdtscp" } as const);
  // The vDSO is the kernel's, identical in every process: our symbol offset applies at the target's base.
  const vdso = thisProcessVdso();
  const ourClock = vdso?.symbol("__vdso_clock_gettime");
  const auxv = readFileSync(`/proc/${injection.pid}/auxv`);
  const targetVdso = readAuxvValue(auxv, 33n); // AT_SYSINFO_EHDR
  const clockGettime = vdso && ourClock !== undefined && targetVdso !== undefined ? targetVdso + (ourClock - vdso.base) : undefined;
  // glibc's thread descriptor layout is a property of the libc file: trust ours only for the same file.
  const ourLibc = readFileSync("/proc/self/maps", "utf8").match(/\s(\/\S*libc\.so\.6)$/m)?.[1];
  const sameLibc = ourLibc !== undefined && injection.modules().some((m) => m.path === ourLibc);
  return { cpu, clockGettime, tidOffset: sameLibc ? ours.tidOffset : undefined };
}

function readAuxvValue(auxv: Uint8Array, type: bigint): bigint | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let at = 0; at + 16 <= auxv.length; at += 16) {
    const key = view.getBigUint64(at, true);
    if (key === 0n) break;
    if (key === type) return view.getBigUint64(at + 8, true);
  }
  return undefined;
}

interface ResolvedHook {
  readonly address: bigint;
  readonly name: string;
  readonly module: string;
  readonly size: number | undefined;
  readonly entry: AttachedProgram[];
  readonly return: AttachedProgram[];
}

/** Hook targets grouped by address, so two programs on one function share one patch. */
function resolveHooks(injection: InjectionSession, requests: readonly HookRequest[], entries: ReadonlyMap<string, bigint>): ResolvedHook[] {
  const byAddress = new Map<bigint, ResolvedHook>();
  for (const request of requests) {
    let resolved;
    try {
      resolved = injection.resolveFunction(request.binary, request.func);
    } catch (error) {
      throw new AttachError(`program '${request.program}': ${(error as Error).message}`);
    }
    const address = resolved.implementation + BigInt(request.offset);
    const hook = byAddress.get(address) ?? { address, name: request.func, module: resolved.module.path, size: request.offset === 0 ? resolved.symbol.size || undefined : undefined, entry: [], return: [] };
    byAddress.set(address, hook);
    const program = { entry: entries.get(request.program)!, cookie: 0n };
    (request.retprobe ? hook.return : hook.entry).push(program);
  }
  return [...byAddress.values()];
}

/** Maps `length` bytes of fresh private memory in the target; returns its address. */
function mapPrivate(injection: InjectionSession, length: bigint, prot: number): bigint {
  return injection.mmap({ length, prot, flags: MapFlag.PRIVATE | MapFlag.ANONYMOUS });
}

export function attachTarget(injection: InjectionSession, session: SessionInTarget): TargetRecord {
  // 1. The arena, at the address every process uses.
  const arena = injection.mapFile(session.arenaPath, session.size, Prot.READ | Prot.WRITE, { address: session.base, flags: MapFlag.SHARED | MapFlag.FIXED_NOREPLACE });
  if (arena !== session.base) throw new AttachError(`process ${injection.pid}: the session arena address 0x${session.base.toString(16)} is taken`);

  // 2. This process's code: the helpers and the programs, built for where they will live.
  const facts = targetFacts(injection);
  const dataSize = pageUp(targetDataSize(session.image.maps));
  const dataBase = mapPrivate(injection, dataSize, Prot.READ | Prot.WRITE);
  injection.syscall(SYS_MADVISE, [dataBase, dataSize, MADV_WIPEONFORK]);
  const provisional = buildTargetImage({ ...session.image, facts, dataBase, codeBase: dataBase });
  const codeSize = pageUp(provisional.code.length);
  const codeBase = mapPrivate(injection, codeSize, Prot.READ | Prot.WRITE);
  const image = buildTargetImage({ ...session.image, facts, dataBase, codeBase });
  if (BigInt(image.code.length) > codeSize) throw new AttachError("the program image grew between its two builds");
  injection.write(dataBase, image.data);
  injection.write(codeBase, image.code);
  injection.mprotect(codeBase, codeSize, Prot.READ | Prot.EXEC);

  // 3. Per-thread shadow stacks for uretprobes: private to this process.
  const hooks = resolveHooks(injection, session.hooks, image.entries);
  let threadStacks: ThreadStackConfig | undefined;
  if (hooks.some((h) => h.return.length > 0)) {
    const key = threadKeySourceFor(readFileSync(`/proc/${injection.pid}/auxv`));
    const address = mapPrivate(injection, pageUp(threadStackTableSize(DEFAULT_THREAD_STACK_SHAPE)), Prot.READ | Prot.WRITE);
    threadStacks = { ...DEFAULT_THREAD_STACK_SHAPE, address, key };
  }

  // 4. One slice (code page) and one control page per hooked function, within reach of it.
  const records: HookRecord[] = [];
  for (const hook of hooks) records.push(installHook(injection, hook, threadStacks));
  return { pid: injection.pid, sessionId: session.sessionId, hooks: records, attachedAt: Date.now() };
}

function installHook(injection: InjectionSession, hook: ResolvedHook, threadStacks: ThreadStackConfig | undefined): HookRecord {
  const sliceBytes = pageUp(HOOK_SLICE_MAX_SIZE);
  const sliceAddress = injection.allocateNear(hook.address, sliceBytes + PAGE, Prot.READ | Prot.WRITE);
  const controlAddress = sliceAddress + sliceBytes;
  const window = hook.size === undefined ? FUNCTION_WINDOW : Math.min(Math.max(hook.size, 32), 64 * 1024);
  const code = { name: hook.name, address: hook.address, bytes: injection.read(hook.address, window), ...(hook.size === undefined ? {} : { size: hook.size }) };
  let prepared;
  try {
    prepared = prepareHook({ code, sliceAddress, control: controlAddress, ...(hook.return.length && threadStacks ? { threadStacks } : {}) });
  } catch (error) {
    throw new AttachError(`cannot hook ${hook.name} in ${hook.module}: ${(error as Error).message}`);
  }
  // Slice, then control block and program tables, then the patch (prepare.ts gives the order).
  injection.write(sliceAddress, prepared.slice.bytes);
  injection.mprotect(sliceAddress, sliceBytes, Prot.READ | Prot.EXEC);
  injection.write(controlAddress, prepared.control);
  const tables = writeProgramTables(injection, controlAddress + BigInt(HookControl.size), hook);
  for (const { offset, value } of controlBlockWrites(prepared.slice, tables)) injection.writeU64(controlAddress + BigInt(offset), value);
  const plan = prepared.plan;
  const end = plan.patchAddress + BigInt(plan.patchLength);
  for (const position of injection.threadsExecutingIn(plan.patchAddress, end)) injection.stepOutOf(position.tid, plan.patchAddress, end);
  injection.writeCode(plan.patchAddress, prepared.patch);
  return {
    function: hook.name,
    module: hook.module,
    patchAddress: "0x" + plan.patchAddress.toString(16),
    originalBytes: formatHexBytes(plan.originalBytes),
    sliceAddress: "0x" + sliceAddress.toString(16),
    controlAddress: "0x" + controlAddress.toString(16),
    noProgramsDispatch: "0x" + dispatchTarget(prepared.slice, false, false).toString(16),
  };
}

/** Writes the entry and return program tables after the control block; returns their addresses (0: none). */
function writeProgramTables(injection: InjectionSession, at: bigint, hook: ResolvedHook): { entryTable: bigint; returnTable: bigint } {
  let next = at;
  const place = (programs: AttachedProgram[]): bigint => {
    if (programs.length === 0) return 0n;
    const bytes = encodeProgramTable(programs);
    const address = next;
    injection.write(address, bytes);
    next += BigInt(Math.ceil(bytes.length / 8) * 8);
    return address;
  };
  return { entryTable: place(hook.entry), returnTable: place(hook.return) };
}
