// The code of one hooked function: position-dependent machine code generated for the address it will be
// written to, within ±2 GB of the function so that the 5-byte `jmp rel32` patch reaches it.
//
//   +0   data: the function's entry address (bpf_get_func_ip), the probe address (pt_regs.rip)
//   +16  entry            the patch jumps here; `jmp [control.dispatch]` picks one of the variants below
//        variant entry    build the frame, call the entry programs, restore, jmp original
//        variant both     the same, and hijack the return address for the return stub
//        variant return   hijack the return address only (saves 6 registers, builds no frame)
//        original         the relocated displaced instructions and a jump back past the patch; also the
//                         "no programs" variant (and calling it runs the unhooked function)
//        override exit    restore with rax = the override value and return to the caller
//        return stub      the hijacked return lands here: pop the real return address, call the return
//                         programs with pt_regs.rax = the return value, restore, jump to the real address
//
// The control block (HookControl) holds the dispatch target and the two program table pointers; it must be
// writable memory within ±2 GB of the slice (map a data page next to the code). Attaching or detaching a
// program rewrites only the control block: publish the table, then the dispatch target (detach: dispatch
// first). Nothing in the hot path locks or makes a system call; the only atomic instruction is the one-time
// slot claim of a thread's first uretprobe.

import { HookError, hex } from "../errors.js";
import { Cond, HookCodeRangeError, mem, Reg, rip, X64Writer } from "../emit/x64-writer.js";
import type { ProloguePlan } from "../relocator/plan.js";
import { emitRelocatedPrologue } from "../relocator/relocate.js";
import { FRAME_SIZE, Invocation, PtRegs, RETURN_ADDRESS_SLOT } from "./frame-layout.js";
import { emitProgramCalls } from "./program-calls.js";
import { emitRestoreFlags, emitRestoreFrame, emitSaveFrame, type FrameShape, type VectorPolicy } from "./register-frame.js";
import { emitPopReturnAddress, emitPushReturnAddress, type ThreadStackConfig, validateThreadStackConfig } from "./thread-stacks.js";

/** Offsets of the per-hook control block (24 bytes, 8-byte aligned). */
export const HookControl = {
  /** u64: the variant the entry jumps to (see dispatchTarget). */
  dispatch: 0,
  /** u64: address of the entry program table, or 0. */
  entryTable: 8,
  /** u64: address of the return program table, or 0. */
  returnTable: 16,
  size: 24,
} as const;

export interface HookSliceOptions {
  /** Where the slice will be written (16-byte aligned, within ±2 GB of the patch). */
  readonly address: bigint;
  /** The displaced instructions; its probe offset decides entry or body probe (pt_regs.rip = entry + offset). */
  readonly plan: ProloguePlan;
  /** Address of this hook's control block (writable, within ±2 GB of the slice). */
  readonly control: bigint;
  /** The per-thread shadow stacks; enables the return stub (uretprobes; function entries only). */
  readonly threadStacks?: ThreadStackConfig;
  /** Default "abi" at a function entry; probes inside a body always save all of xmm0-15. */
  readonly vectors?: VectorPolicy;
  /** Restore the status flags and DF after the programs (default true; forced inside a function body). */
  readonly restoreFlags?: boolean;
  /** Emit the bpf_override_return exit (default: at a function entry). */
  readonly override?: boolean;
}

export interface HookVariants {
  /** No program attached: straight to the relocated prologue. */
  readonly none: bigint;
  readonly entry: bigint;
  /** Entry and return programs (only with a return stub). */
  readonly both: bigint | undefined;
  /** Return programs only (only with a return stub). */
  readonly return: bigint | undefined;
}

export interface HookSlice {
  readonly address: bigint;
  readonly bytes: Uint8Array;
  /** The patch jumps here. */
  readonly entry: bigint;
  /** The relocated prologue: jumping here (or calling it as the function) runs the original code. */
  readonly original: bigint;
  /** Where hijacked returns land, when the slice has a return stub. */
  readonly returnStub: bigint | undefined;
  readonly variants: HookVariants;
}

/** Room to reserve for one slice (the largest, with all of xmm0-15 saved, is about 2.2 KiB). */
export const HOOK_SLICE_MAX_SIZE = 4096;

const DATA_FUNC_IP = 0;
const DATA_PROBE_IP = 8;

function vectorCount(policy: VectorPolicy, atEntry: boolean, forReturn: boolean): number {
  if (policy === "none") return 0;
  if (policy === "all" || !atEntry) return 16;
  return forReturn ? 2 : 8;
}

/** The variant to store in control.dispatch for the programs currently attached. */
export function dispatchTarget(slice: HookSlice, hasEntryPrograms: boolean, hasReturnPrograms: boolean): bigint {
  if (hasReturnPrograms) {
    const target = hasEntryPrograms ? slice.variants.both : slice.variants.return;
    if (target === undefined) throw new Error("this hook has no return stub");
    return target;
  }
  return hasEntryPrograms ? slice.variants.entry : slice.variants.none;
}

/** What is attached to a hook: the addresses of its program tables (0 for none). */
export interface HookAttachment {
  readonly entryTable: bigint;
  readonly returnTable: bigint;
}

/**
 * The aligned 8-byte stores (each atomic on x86-64) that switch a live hook to `next`, in an order that is
 * safe while its threads run: new tables first, then the dispatch target, then the tables being removed.
 * A thread already past the dispatch reads at worst a table that is empty or gone to zero, which the stubs
 * treat as no programs. The tables themselves must stay readable until no thread can still be using them.
 */
export function controlBlockWrites(slice: HookSlice, next: HookAttachment): { offset: number; value: bigint }[] {
  const writes: { offset: number; value: bigint }[] = [];
  if (next.entryTable !== 0n) writes.push({ offset: HookControl.entryTable, value: next.entryTable });
  if (next.returnTable !== 0n) writes.push({ offset: HookControl.returnTable, value: next.returnTable });
  writes.push({ offset: HookControl.dispatch, value: dispatchTarget(slice, next.entryTable !== 0n, next.returnTable !== 0n) });
  if (next.entryTable === 0n) writes.push({ offset: HookControl.entryTable, value: 0n });
  if (next.returnTable === 0n) writes.push({ offset: HookControl.returnTable, value: 0n });
  return writes;
}

/** The control block's initial contents: dispatch to `none`, no tables. Write it before the patch. */
export function initialControlBlock(slice: HookSlice): Uint8Array {
  const bytes = new Uint8Array(HookControl.size);
  new DataView(bytes.buffer).setBigUint64(HookControl.dispatch, slice.variants.none, true);
  return bytes;
}

export function buildHookSlice(options: HookSliceOptions): HookSlice {
  const { plan } = options;
  if (options.address % 16n !== 0n) throw new RangeError("a hook slice must be 16-byte aligned");
  if (options.control % 8n !== 0n) throw new RangeError("a hook control block must be 8-byte aligned");
  const probeOffset = plan.probeOffset;
  const atEntry = probeOffset === 0;
  const policy = options.vectors ?? "abi";
  const override = options.override ?? atEntry;
  const name = plan.code.name;
  if (override && !atEntry) throw new HookError("HOOK_UNRELOCATABLE", `function ${name}: override is only possible at the function entry`);
  const threadStacks = options.threadStacks;
  if (threadStacks !== undefined) {
    if (!atEntry) throw new HookError("HOOK_UNRELOCATABLE", `function ${name}: a uretprobe needs the function entry, not +${hex(probeOffset)}`);
    validateThreadStackConfig(threadStacks);
  }

  const w = new X64Writer(options.address);
  w.u64(plan.code.address);
  w.u64(plan.code.address + BigInt(probeOffset));
  const funcIp = rip(options.address + BigInt(DATA_FUNC_IP));
  const probeIp = rip(options.address + BigInt(DATA_PROBE_IP));
  const entryTableSlot = options.control + BigInt(HookControl.entryTable);
  const returnTableSlot = options.control + BigInt(HookControl.returnTable);
  const shape: FrameShape = { redZone: !atEntry, returnSlot: false, restoreFlags: options.restoreFlags !== false || !atEntry };

  const original = w.label();
  const overrideExit = w.label();
  const returnStub = w.label();
  const at = (): bigint => options.address + BigInt(w.position);

  const entry = at();
  w.jmpIndirect(rip(options.control + BigInt(HookControl.dispatch)));

  const emitFullVariant = (withReturn: boolean): bigint => {
    w.align(16);
    const start = at();
    emitSaveFrame(w, shape, funcIp, probeIp);
    emitProgramCalls(w, entryTableSlot, vectorCount(policy, atEntry, false));
    if (withReturn) emitPushReturnAddress(w, threadStacks!, Reg.rbx, FRAME_SIZE, returnStub);
    if (override) {
      w.aluImm("cmp", mem(Reg.rbx, Invocation.overrideFlag), 0);
      w.jcc(Cond.ne, overrideExit);
    }
    emitRestoreFrame(w, shape);
    w.jmp(original);
    return start;
  };

  const entryVariant = emitFullVariant(false);
  let both: bigint | undefined;
  let returnOnly: bigint | undefined;
  if (threadStacks !== undefined) {
    both = emitFullVariant(true);
    w.align(16);
    returnOnly = at();
    emitReturnOnlyVariant(w, threadStacks, shape.restoreFlags, returnStub);
    w.jmp(original);
  }

  w.align(16);
  w.bind(original);
  const originalAddress = at();
  emitRelocatedPrologue(w, plan);

  if (override) {
    w.bind(overrideExit);
    w.load(Reg.rax, mem(Reg.rbx, Invocation.overrideValue));
    w.store(mem(Reg.rbx, PtRegs.rax), Reg.rax);
    emitRestoreFrame(w, shape);
    w.ret();
  }

  let returnStubAddress: bigint | undefined;
  if (threadStacks !== undefined) {
    w.align(16);
    w.bind(returnStub);
    returnStubAddress = at();
    emitReturnStub(w, threadStacks, returnTableSlot, funcIp, vectorCount(policy, true, true), shape.restoreFlags);
  }

  let bytes: Uint8Array;
  try {
    bytes = w.finish();
  } catch (error) {
    if (!(error instanceof HookCodeRangeError)) throw error;
    throw new HookError("HOOK_OUT_OF_RANGE", `function ${name}: the hook control block at ${hex(options.control)} must be within ±2 GB of the slice at ${hex(options.address)}`);
  }
  if (bytes.length > HOOK_SLICE_MAX_SIZE) throw new Error(`hook slice of ${bytes.length} bytes exceeds HOOK_SLICE_MAX_SIZE`);
  return {
    address: options.address,
    bytes,
    entry,
    original: originalAddress,
    returnStub: returnStubAddress,
    variants: { none: originalAddress, entry: entryVariant, both, return: returnOnly },
  };
}

/** Registers the return-address push clobbers, saved around it by the return-only variant. */
const PUSH_CLOBBERS: readonly Reg[] = [Reg.rax, Reg.rcx, Reg.rdx, Reg.rsi, Reg.r8, Reg.r9];

/** Hijacks the return address without building a frame: there is no entry program to give one to. */
function emitReturnOnlyVariant(w: X64Writer, threadStacks: ThreadStackConfig, restoreFlags: boolean, returnStub: ReturnType<X64Writer["label"]>): void {
  for (const reg of PUSH_CLOBBERS) w.push(reg);
  w.pushfq();
  const returnAddressOffset = 8 * (PUSH_CLOBBERS.length + 1);
  emitPushReturnAddress(w, threadStacks, Reg.rsp, returnAddressOffset, returnStub);
  if (restoreFlags) emitRestoreFlags(w, mem(Reg.rsp, 0));
  w.lea(Reg.rsp, mem(Reg.rsp, 8));
  for (const reg of [...PUSH_CLOBBERS].reverse()) w.pop(reg);
}

function emitReturnStub(
  w: X64Writer,
  threadStacks: ThreadStackConfig,
  tableSlot: bigint,
  funcIp: ReturnType<typeof rip>,
  vectors: number,
  restoreFlags: boolean,
): void {
  const shape: FrameShape = { redZone: false, returnSlot: true, restoreFlags };
  const lost = w.label();
  emitSaveFrame(w, shape, funcIp, undefined);
  emitPopReturnAddress(w, threadStacks, RETURN_ADDRESS_SLOT, lost);
  w.store(mem(Reg.rbx, RETURN_ADDRESS_SLOT), Reg.rdx);
  // As in the kernel, a uretprobe sees pt_regs.rip = the address the function returns to.
  w.store(mem(Reg.rbx, PtRegs.rip), Reg.rdx);
  emitProgramCalls(w, tableSlot, vectors);
  const keep = w.label();
  w.aluImm("cmp", mem(Reg.rbx, Invocation.overrideFlag), 0);
  w.jcc(Cond.e, keep);
  w.load(Reg.rax, mem(Reg.rbx, Invocation.overrideValue));
  w.store(mem(Reg.rbx, PtRegs.rax), Reg.rax);
  w.bind(keep);
  emitRestoreFrame(w, shape);
  // rsp is at the slot holding the real return address. Jump rather than ret: the function's own ret already
  // consumed this call's return-stack-buffer entry, and a ret here would mispredict every return above it.
  // [rsp-8] is safe to read after the lea: signal frames are built below the 128-byte red zone.
  w.lea(Reg.rsp, mem(Reg.rsp, 8));
  w.jmpIndirect(mem(Reg.rsp, -8));
  w.bind(lost);
  // The real return address is gone (see thread-stacks.ts); stop here rather than return anywhere.
  w.ud2();
}
