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
import { findModule, modulesOf, readMaps } from "../process/maps.js";
import { moduleElf } from "../process/module-file.js";
import { resolveSymbol } from "../process/symbols.js";
import type { HookRecord, TargetRecord } from "./descriptor.js";
import { restoreHooks } from "./detach-target.js";
import { buildTargetImage, targetDataSize, type TargetFacts, type TargetImage, type TargetImageInput } from "./target-image.js";

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

/** What the generated helpers may rely on in process `pid` (read from /proc, the process may be running). */
function targetFacts(pid: number): TargetFacts {
  const ours = processFacts();
  const cpu = ours.rdpid ? ({ kind: "rdpid" } as const) : ({ kind: "rdtscp" } as const);
  // The vDSO is the kernel's, identical in every process: our symbol offset applies at the target's base.
  const vdso = thisProcessVdso();
  const ourClock = vdso?.symbol("__vdso_clock_gettime");
  const auxv = readFileSync(`/proc/${pid}/auxv`);
  const targetVdso = readAuxvValue(auxv, 33n); // AT_SYSINFO_EHDR
  const clockGettime = vdso && ourClock !== undefined && targetVdso !== undefined ? targetVdso + (ourClock - vdso.base) : undefined;
  // glibc's thread descriptor layout is a property of the libc file: trust ours only for the same file.
  const ourLibc = readFileSync("/proc/self/maps", "utf8").match(/\s(\/\S*libc\.so\.6)$/m)?.[1];
  const sameLibc = ourLibc !== undefined && modulesOf(readMaps(pid)).some((m) => m.path === ourLibc);
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

/** A hooked function found before the process was stopped (not for IFUNCs: their resolver runs in it). */
export interface PreResolved {
  readonly implementation: bigint;
  readonly module: string;
  readonly size: number;
}

/** Hook targets grouped by address, so two programs on one function share one patch. */
function resolveHooks(injection: InjectionSession, requests: readonly HookRequest[], entries: ReadonlyMap<string, bigint>, known: ReadonlyMap<HookRequest, PreResolved>): ResolvedHook[] {
  const byAddress = new Map<bigint, ResolvedHook>();
  for (const request of requests) {
    let resolved = known.get(request);
    if (!resolved) {
      try {
        const found = injection.resolveFunction(request.binary, request.func);
        resolved = { implementation: found.implementation, module: found.module.path, size: found.symbol.size };
      } catch (error) {
        throw new AttachError(`program '${request.program}': ${(error as Error).message}`);
      }
    }
    const address = resolved.implementation + BigInt(request.offset);
    const hook = byAddress.get(address) ?? { address, name: request.func, module: resolved.module, size: request.offset === 0 ? resolved.size || undefined : undefined, entry: [], return: [] };
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

/** BPFTIME_TIMING=1 prints how long each step of an attach took (to stderr). */
const timing = process.env["BPFTIME_TIMING"] === "1";
let stepStart = 0;
function step(name: string): void {
  if (!timing) return;
  const now = performance.now();
  if (stepStart) process.stderr.write(`bpftime: attach step ${name}: ${(now - stepStart).toFixed(2)} ms\n`);
  stepStart = now;
}

export function attachTarget(injection: InjectionSession, session: SessionInTarget, prepared?: PreparedImage): TargetRecord {
  step("");
  // 1. The arena, at the address every process uses (still there if this session was attached before).
  const mapped = injection.maps().find((m) => m.start === session.base);
  if (!mapped) {
    const arena = injection.mapFile(session.arenaPath, session.size, Prot.READ | Prot.WRITE, { address: session.base, flags: MapFlag.SHARED | MapFlag.FIXED_NOREPLACE });
    if (arena !== session.base) throw new AttachError(`process ${injection.pid}: the session arena address 0x${session.base.toString(16)} is taken`);
  } else if (mapped.path !== session.arenaPath) {
    throw new AttachError(`process ${injection.pid}: the session arena address 0x${session.base.toString(16)} is taken by ${mapped.path || "an anonymous mapping"}`);
  }

  step("arena");
  // 2. This process's code: the helpers and the programs, built for where they will live (ideally built
  // before the process was stopped, for addresses that are still free now).
  const { dataBase, codeBase, image } = placeImage(injection, session, prepared);
  step("image");

  // 3. Per-thread shadow stacks for uretprobes: private to this process.
  const hooks = resolveHooks(injection, session.hooks, image.entries, prepared?.functions ?? new Map());
  let threadStacks: ThreadStackConfig | undefined;
  if (hooks.some((h) => h.return.length > 0)) {
    const key = threadKeySourceFor(readFileSync(`/proc/${injection.pid}/auxv`));
    const address = mapPrivate(injection, pageUp(threadStackTableSize(DEFAULT_THREAD_STACK_SHAPE)), Prot.READ | Prot.WRITE);
    threadStacks = { ...DEFAULT_THREAD_STACK_SHAPE, address, key };
  }

  // 4. One slice (code page) and one control page per hooked function, within reach of it.
  step("resolve");
  const records: HookRecord[] = [];
  try {
    for (const hook of hooks) records.push(installHook(injection, hook, threadStacks));
  } catch (error) {
    // All or nothing: a function that cannot be hooked leaves the others as they were.
    restoreHooks(injection, { pid: injection.pid, sessionId: session.sessionId, hooks: records, attachedAt: 0 });
    throw error;
  }
  step("hooks");
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

/** A target image built before the process was stopped, for addresses free at that time. */
export interface PreparedImage {
  readonly dataBase: bigint;
  readonly codeBase: bigint;
  readonly dataSize: bigint;
  readonly codeSize: bigint;
  readonly image: TargetImage;
  readonly functions: ReadonlyMap<HookRequest, PreResolved>;
}

/** Room for one attach's private regions; they are placed after the arena, in its 1 GiB slot. */
const TARGET_REGION_STEP = 4n << 20n;

/** The first address after the arena where `size` bytes are free in `pid` right now. */
function freeAfterArena(pid: number, session: SessionInTarget, size: bigint): bigint | undefined {
  const maps = readMaps(pid);
  const slotEnd = session.base + (1n << 30n);
  for (let at = pageUp(session.base + BigInt(session.size)) + TARGET_REGION_STEP; at + size <= slotEnd; at += TARGET_REGION_STEP) {
    if (!maps.some((m) => m.start < at + size && m.end > at)) return at;
  }
  return undefined;
}

/**
 * Work that can happen before the target is stopped, so the stop itself stays short: parsing the hooked
 * modules' symbol tables (moduleElf caches them) and building the image for addresses that are free in the
 * process now. Returns undefined when that is not possible; attachTarget then does it all while stopped.
 */
export function prepareForAttach(pid: number, session: SessionInTarget): PreparedImage | undefined {
  try {
    const modules = modulesOf(readMaps(pid));
    const functions = new Map<HookRequest, PreResolved>();
    for (const request of session.hooks) {
      const module = findModule(modules, request.binary, pid);
      const symbol = resolveSymbol(moduleElf(module, pid), module, request.func);
      if (!symbol.ifunc) functions.set(request, { implementation: symbol.address, module: module.path, size: symbol.symbol.size });
    }
    const facts = targetFacts(pid);
    const dataSize = pageUp(targetDataSize(session.image.maps));
    const probe = buildTargetImage({ ...session.image, facts, dataBase: PROVISIONAL_BASE, codeBase: PROVISIONAL_BASE });
    const codeSize = pageUp(probe.code.length);
    const dataBase = freeAfterArena(pid, session, dataSize + codeSize);
    if (dataBase === undefined) return undefined;
    const codeBase = dataBase + dataSize;
    return { dataBase, codeBase, dataSize, codeSize, image: buildTargetImage({ ...session.image, facts, dataBase, codeBase }), functions };
  } catch {
    return undefined; // attachTarget repeats each step and reports what fails
  }
}

/** Maps the private data and code regions and writes the image: the prepared one where its addresses are still free. */
function placeImage(injection: InjectionSession, session: SessionInTarget, prepared: PreparedImage | undefined): { dataBase: bigint; codeBase: bigint; image: TargetImage } {
  let placed: { dataBase: bigint; codeBase: bigint; codeSize: bigint; image: TargetImage } | undefined;
  if (prepared) {
    try {
      const flags = MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE;
      const data = injection.mmap({ address: prepared.dataBase, length: prepared.dataSize + prepared.codeSize, prot: Prot.READ | Prot.WRITE, flags });
      if (data === prepared.dataBase) placed = prepared;
    } catch {
      // the addresses were taken meanwhile: build again below
    }
  }
  if (!placed) {
    const facts = targetFacts(injection.pid);
    const dataSize = pageUp(targetDataSize(session.image.maps));
    const provisional = buildTargetImage({ ...session.image, facts, dataBase: PROVISIONAL_BASE, codeBase: PROVISIONAL_BASE });
    const codeSize = pageUp(provisional.code.length);
    const dataBase = mapPrivate(injection, dataSize + codeSize, Prot.READ | Prot.WRITE);
    const codeBase = dataBase + dataSize;
    placed = { dataBase, codeBase, codeSize, image: buildTargetImage({ ...session.image, facts, dataBase, codeBase }) };
  }
  const { dataBase, codeBase, codeSize, image } = placed;
  if (BigInt(image.code.length) > codeSize) throw new AttachError("the program image grew between its two builds");
  injection.syscall(SYS_MADVISE, [dataBase, codeBase - dataBase, MADV_WIPEONFORK]);
  injection.write(dataBase, image.data);
  injection.write(codeBase, image.code);
  injection.mprotect(codeBase, codeSize, Prot.READ | Prot.EXEC);
  return { dataBase, codeBase, image };
}

/** A placeholder address for builds whose output is only measured or thrown away. */
const PROVISIONAL_BASE = 0x7f00_0000_0000n;
