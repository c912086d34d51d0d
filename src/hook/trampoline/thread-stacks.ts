// Per-thread shadow stacks of hijacked return addresses, for uretprobes.
//
// Where the state lives. A thread needs its own stack of real return addresses, found from inside the
// stub without a system call (gettid would cost ~100 ns) and without any set-up for threads created after
// attach. The key is the thread pointer: the fs base, read with `rdfsbase` where the kernel enables
// FSGSBASE (Linux >= 5.9 on CPUs that have it; reported as HWCAP2_FSGSBASE), or else `mov fs:[0]`, which
// the x86-64 TLS ABI defines as the thread pointer itself (glibc and musl both follow it). Every live
// thread has a distinct one. The key indexes a fixed-size open-addressing table in the target's memory:
//
//   slot (2^slotSizeLog2 bytes):  +0 key (0 = free)   +8 depth   +16 frames[depth capacity] {return, location}
//
// A thread claims the first free slot on its probe sequence with one `lock cmpxchg`, the first time it
// needs one; afterwards only that thread writes the slot, with plain stores (no locks on the hot path).
// Lookups stop at the first free slot, which is sound because slots are never freed while threads run.
//
// Limits, all failing open (the uretprobe is skipped for that call, the call itself runs normally):
// more live threads than probes can place (table full), a thread with no TLS (key 0), a recursion deeper
// than a slot holds. Slots of exited threads are reused when a new thread gets the same thread pointer
// (glibc reuses thread stacks); otherwise they stay taken until the control plane, with every thread stopped
// outside the stubs, calls `compactThreadStacks`. A thread that exits inside a hooked call (pthread_exit,
// cancellation) leaves its frames behind; they are never matched again but keep using the slot's room.
//
// Each frame remembers where its return address lived. On return the stub takes the topmost frame whose
// location is the slot it returned through and drops the frames above it: frames abandoned by longjmp, or
// pushed by a vfork/posix_spawn child (it shares the parent's memory and thread pointer) that then called
// execve. If no frame matches (a coroutine switched stacks, or two live threads share a thread pointer) the
// real return address is lost and the stub executes ud2 — the case in which the kernel's uretprobes send
// SIGSEGV.
//
// The table must live in memory private to each target process (MAP_PRIVATE | MAP_ANONYMOUS), never in
// the shared session arena: after fork() the child's thread has the parent thread's thread pointer and a copy
// of its stack, so it needs a copy of the parent's frames, not the same ones.

import { Cond, type Label, mem, Reg, rip, type X64Writer } from "../emit/x64-writer.js";

export type ThreadKeySource =
  /** `rdfsbase`: the fs base register itself. Needs FSGSBASE (see fsgsbaseEnabled). */
  | "fs-base"
  /** `mov fs:[0]`: the thread pointer as stored by the TLS ABI. Works everywhere glibc/musl set up TLS. */
  | "tcb-self";

export interface ThreadStackConfig {
  /** Address of the table in the target (64-byte aligned, zero-filled before first use). */
  readonly address: bigint;
  /** The table holds 2^slotCountLog2 slots. */
  readonly slotCountLog2: number;
  /** Each slot is 2^slotSizeLog2 bytes: a 16-byte header and (2^slotSizeLog2 / 16 - 1) frames. */
  readonly slotSizeLog2: number;
  /** Slots tried from a thread's hash position before giving up. */
  readonly maxProbes: number;
  readonly key: ThreadKeySource;
}

/** 1024 threads, 63 nested hooked calls each, 16 probes: 1 MiB. */
export const DEFAULT_THREAD_STACK_SHAPE = { slotCountLog2: 10, slotSizeLog2: 10, maxProbes: 16 } as const;

export const SLOT_KEY = 0;
export const SLOT_DEPTH = 8;
export const SLOT_FRAMES = 16;
export const FRAME_SIZE_BYTES = 16;
export const FRAME_RETURN = 0;
export const FRAME_LOCATION = 8;

/**
 * The multiplier of the thread-key hash: 2^64 / golden ratio (Fibonacci hashing), whose top product bits mix
 * every key bit. (A 32-bit imul constant would not: thread pointers 8 MiB apart would land in neighbouring
 * slots.)
 */
const HASH_MULTIPLIER = 0x9e3779b97f4a7c15n;

export function threadStackTableSize(config: Pick<ThreadStackConfig, "slotCountLog2" | "slotSizeLog2">): number {
  return 2 ** (config.slotCountLog2 + config.slotSizeLog2);
}

/** Nested hijacked calls one thread can have at once. */
export function threadStackDepth(config: Pick<ThreadStackConfig, "slotSizeLog2">): number {
  return 2 ** config.slotSizeLog2 / FRAME_SIZE_BYTES - 1;
}

/** The slot index a key hashes to (the stubs compute exactly this). */
export function threadSlotIndex(key: bigint, slotCountLog2: number): number {
  const product = BigInt.asUintN(64, key * HASH_MULTIPLIER);
  return Number(product >> BigInt(64 - slotCountLog2));
}

export function validateThreadStackConfig(config: ThreadStackConfig): void {
  if (!Number.isInteger(config.slotCountLog2) || config.slotCountLog2 < 1 || config.slotCountLog2 > 24) {
    throw new RangeError("thread stack table: slotCountLog2 must be 1..24");
  }
  if (!Number.isInteger(config.slotSizeLog2) || config.slotSizeLog2 < 5 || config.slotSizeLog2 > 16) {
    throw new RangeError("thread stack table: slotSizeLog2 must be 5..16");
  }
  if (config.maxProbes < 1 || config.maxProbes > 2 ** config.slotCountLog2) {
    throw new RangeError("thread stack table: maxProbes must be 1..slot count");
  }
  if (config.address % 64n !== 0n) throw new RangeError("thread stack table: address must be 64-byte aligned");
}

/** Loads the current thread's key into `dst`; jumps to `noKey` if the thread has none (fs base 0). */
function emitThreadKey(w: X64Writer, config: ThreadStackConfig, dst: Reg, noKey: Label): void {
  if (config.key === "fs-base") w.rdfsbase(dst);
  // fs:[0] faults when the fs base is 0 (a thread without TLS), which only rdfsbase can detect; every glibc
  // or musl thread has its TLS set up before it runs any code.
  else w.loadFs(dst, 0);
  w.test(dst, dst);
  w.jcc(Cond.e, noKey);
}

/**
 * Finds this thread's slot and leaves its address in rsi, claiming a free one when `claim` is set.
 * Jumps to `notFound` when there is no key, the probes run out, or (without `claim`) the key is absent.
 * Clobbers rax, rcx, rdx, rsi, r8, r9 and the flags.
 */
export function emitFindThreadSlot(w: X64Writer, config: ThreadStackConfig, claim: boolean, notFound: Label): void {
  const found = w.label();
  const next = w.label();
  emitThreadKey(w, config, Reg.r8, notFound);
  w.movImm(Reg.rcx, HASH_MULTIPLIER);
  w.imul(Reg.rcx, Reg.r8);
  w.shr(Reg.rcx, 64 - config.slotCountLog2);
  w.movImm(Reg.rdx, BigInt(config.maxProbes));
  w.movImm(Reg.r9, config.address);
  const probe = w.here();
  w.mov(Reg.rsi, Reg.rcx);
  w.shl(Reg.rsi, config.slotSizeLog2);
  w.alu("add", Reg.rsi, Reg.r9);
  w.load(Reg.rax, mem(Reg.rsi, SLOT_KEY));
  w.alu("cmp", Reg.rax, Reg.r8);
  w.jcc(Cond.e, found);
  w.test(Reg.rax, Reg.rax);
  if (claim) {
    w.jcc(Cond.ne, next);
    // rax = 0: take the slot if it is still free; on failure rax holds the other thread's key.
    w.lockCmpxchg(mem(Reg.rsi, SLOT_KEY), Reg.r8);
    w.jcc(Cond.e, found);
  } else {
    w.jcc(Cond.e, notFound);
  }
  w.bind(next);
  w.aluImm("add", Reg.rcx, 1);
  w.aluImm("and", Reg.rcx, 2 ** config.slotCountLog2 - 1);
  w.dec(Reg.rdx);
  w.jcc(Cond.ne, probe);
  w.jmp(notFound);
  w.bind(found);
}

/**
 * Entry side: pushes {[location], location} onto this thread's stack and replaces the return address at
 * `location` = base + locationOffset with `returnStub`. Skips (fails open) when there is no slot or no room.
 * Clobbers rax, rcx, rdx, rsi, r8, r9 and the flags; `base` must be none of them.
 */
export function emitPushReturnAddress(w: X64Writer, config: ThreadStackConfig, base: Reg, locationOffset: number, returnStub: Label): void {
  const skip = w.label();
  emitFindThreadSlot(w, config, true, skip);
  w.load(Reg.rax, mem(Reg.rsi, SLOT_DEPTH));
  w.aluImm("cmp", Reg.rax, threadStackDepth(config));
  w.jcc(Cond.ae, skip);
  // Publish the new depth before filling the frame: a signal handler that runs a hooked call in between
  // then pushes above this frame instead of over it.
  w.lea(Reg.rdx, mem(Reg.rax, 1));
  w.store(mem(Reg.rsi, SLOT_DEPTH), Reg.rdx);
  w.shl(Reg.rax, 4);
  w.alu("add", Reg.rax, Reg.rsi);
  w.load(Reg.rdx, mem(base, locationOffset));
  w.store(mem(Reg.rax, SLOT_FRAMES + FRAME_RETURN), Reg.rdx);
  w.lea(Reg.rdx, mem(base, locationOffset));
  w.store(mem(Reg.rax, SLOT_FRAMES + FRAME_LOCATION), Reg.rdx);
  w.lea(Reg.rdx, rip(returnStub));
  w.store(mem(base, locationOffset), Reg.rdx);
  w.bind(skip);
}

/**
 * Return side: pops the topmost frame whose location is rbx + `locationOffset` (with the stale frames above
 * it) and leaves the real return address in rdx. Jumps to `lost` when there is no such frame.
 * Clobbers rax, rcx, rdx, rsi, r8, r9 and the flags.
 */
export function emitPopReturnAddress(w: X64Writer, config: ThreadStackConfig, locationOffset: number, lost: Label): void {
  emitFindThreadSlot(w, config, false, lost);
  w.load(Reg.rax, mem(Reg.rsi, SLOT_DEPTH));
  w.lea(Reg.rdx, mem(Reg.rbx, locationOffset));
  const search = w.here();
  w.test(Reg.rax, Reg.rax);
  w.jcc(Cond.e, lost);
  w.dec(Reg.rax);
  w.mov(Reg.rcx, Reg.rax);
  w.shl(Reg.rcx, 4);
  w.alu("add", Reg.rcx, Reg.rsi);
  w.alu("cmp", mem(Reg.rcx, SLOT_FRAMES + FRAME_LOCATION), Reg.rdx);
  w.jcc(Cond.ne, search);
  w.load(Reg.rdx, mem(Reg.rcx, SLOT_FRAMES + FRAME_RETURN));
  // Read the frame before publishing the smaller depth, for the same signal-safety reason as the push.
  w.store(mem(Reg.rsi, SLOT_DEPTH), Reg.rax);
}

export interface ThreadStackSlot {
  readonly index: number;
  readonly key: bigint;
  readonly frames: readonly { readonly returnAddress: bigint; readonly location: bigint }[];
}

/** The occupied slots of a table (as read from the target's memory). */
export function readThreadStacks(bytes: Uint8Array, config: Pick<ThreadStackConfig, "slotCountLog2" | "slotSizeLog2">): ThreadStackSlot[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slotSize = 2 ** config.slotSizeLog2;
  const slots: ThreadStackSlot[] = [];
  for (let index = 0; index < 2 ** config.slotCountLog2; index++) {
    const base = index * slotSize;
    const key = view.getBigUint64(base + SLOT_KEY, true);
    if (key === 0n) continue;
    const depth = Math.min(Number(view.getBigUint64(base + SLOT_DEPTH, true)), threadStackDepth(config));
    const frames = [];
    for (let f = 0; f < depth; f++) {
      const at = base + SLOT_FRAMES + f * FRAME_SIZE_BYTES;
      frames.push({ returnAddress: view.getBigUint64(at + FRAME_RETURN, true), location: view.getBigUint64(at + FRAME_LOCATION, true) });
    }
    slots.push({ index, key, frames });
  }
  return slots;
}

/**
 * Frees the slots of threads with no hijacked frame and re-inserts the others where a fresh probe would
 * find them. Only while every thread of the target is stopped outside the hook stubs (a thread inside a stub
 * may hold a slot's address). Returns the compacted table; slots that no longer fit are dropped with their
 * frames, so the caller should only compact a table that is not full of live frames.
 */
export function compactThreadStacks(bytes: Uint8Array, config: Pick<ThreadStackConfig, "slotCountLog2" | "slotSizeLog2" | "maxProbes">): Uint8Array {
  const live = readThreadStacks(bytes, config).filter((slot) => slot.frames.length > 0);
  const slotSize = 2 ** config.slotSizeLog2;
  const count = 2 ** config.slotCountLog2;
  const out = new Uint8Array(bytes.length);
  const view = new DataView(out.buffer);
  for (const slot of live) {
    let index = threadSlotIndex(slot.key, config.slotCountLog2);
    for (let probe = 0; probe < config.maxProbes; probe++, index = (index + 1) % count) {
      const base = index * slotSize;
      if (view.getBigUint64(base + SLOT_KEY, true) !== 0n) continue;
      out.set(bytes.subarray(slot.index * slotSize, (slot.index + 1) * slotSize), base);
      break;
    }
  }
  return out;
}
