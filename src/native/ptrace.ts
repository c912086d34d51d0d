// ptrace(2) through koffi, one function per request. glibc's ptrace() is variadic, but on x86-64 a fixed
// prototype `long ptrace(int, int, addr, data)` passes arguments in the same registers, so it is bound
// twice: once with `data` as an integer (options, signals) and once as a buffer (register sets). PEEK/POKE
// are deliberately absent: glibc returns the peeked word itself, so remote memory goes through
// /proc/PID/mem instead.

import koffi from "koffi";
import { lastErrno } from "./libc.js";
import { scratchSlices, type NativeSlice } from "./native-scratch.js";
import { SyscallError } from "./syscall-error.js";
import { decodeUserRegs, encodeUserRegs, USER_REGS_SIZE, type UserRegs } from "./user-regs.js";

export const PtraceRequest = {
  CONT: 7,
  KILL: 8,
  SINGLESTEP: 9,
  GETREGS: 12,
  SETREGS: 13,
  GETFPREGS: 14,
  SETFPREGS: 15,
  DETACH: 17,
  SETOPTIONS: 0x4200,
  GETEVENTMSG: 0x4201,
  GETSIGINFO: 0x4202,
  GETREGSET: 0x4204,
  SETREGSET: 0x4205,
  SEIZE: 0x4206,
  INTERRUPT: 0x4207,
  LISTEN: 0x4208,
} as const;

export const PtraceOption = {
  TRACESYSGOOD: 0x1,
  TRACEFORK: 0x2,
  TRACEVFORK: 0x4,
  TRACECLONE: 0x8,
  TRACEEXEC: 0x10,
  TRACEVFORKDONE: 0x20,
  TRACEEXIT: 0x40,
  EXITKILL: 0x100000,
} as const;

/** The event number a ptrace-stop reports in bits 16..23 of the wait status. */
export const PtraceEvent = {
  FORK: 1,
  VFORK: 2,
  CLONE: 3,
  EXEC: 4,
  VFORK_DONE: 5,
  EXIT: 6,
  STOP: 128,
} as const;

/** Register set note types for PTRACE_GETREGSET. */
export const NT_PRSTATUS = 1;
export const NT_X86_XSTATE = 0x202;

/** struct user_fpregs_struct: the 512-byte FXSAVE image. */
export const USER_FPREGS_SIZE = 512;

const requestNames = new Map<number, string>(Object.entries(PtraceRequest).map(([name, value]) => [value, `PTRACE_${name}`]));

interface PtraceBindings {
  withValue: (request: number, pid: number, addr: bigint, data: bigint) => number;
  withBuffer: (request: number, pid: number, addr: bigint, data: Uint8Array) => number;
}

let bound: PtraceBindings | undefined;

function bindings(): PtraceBindings {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    withValue: lib.func("ptrace", "long", ["int", "int", "uintptr_t", "uintptr_t"]),
    withBuffer: lib.func("ptrace", "long", ["int", "int", "uintptr_t", "void *"]),
  };
  return bound;
}

function fail(request: number, tid: number): never {
  throw new SyscallError(`ptrace(${requestNames.get(request) ?? request}, ${tid})`, lastErrno());
}

function request(req: number, tid: number, addr: bigint, data: bigint): void {
  if (bindings().withValue(req, tid, addr, data) < 0) fail(req, tid);
}

function requestBuffer(req: number, tid: number, addr: bigint, data: Uint8Array): void {
  if (bindings().withBuffer(req, tid, addr, data) < 0) fail(req, tid);
}

/** Attaches to one thread without stopping it; `options` are PtraceOption bits. */
export function ptraceSeize(tid: number, options: number): void {
  request(PtraceRequest.SEIZE, tid, 0n, BigInt(options));
}

/** Asks a seized thread to enter a ptrace-stop (reported as PTRACE_EVENT_STOP, or as whatever stop comes first). */
export function ptraceInterrupt(tid: number): void {
  request(PtraceRequest.INTERRUPT, tid, 0n, 0n);
}

/** Resumes a stopped thread, delivering `signal` if it is in a signal-delivery-stop (0: none). */
export function ptraceCont(tid: number, signal = 0): void {
  request(PtraceRequest.CONT, tid, 0n, BigInt(signal));
}

export function ptraceSingleStep(tid: number, signal = 0): void {
  request(PtraceRequest.SINGLESTEP, tid, 0n, BigInt(signal));
}

/** Leaves a group-stopped thread stopped while still letting the tracer see later events. */
export function ptraceListen(tid: number): void {
  request(PtraceRequest.LISTEN, tid, 0n, 0n);
}

/** Releases a stopped thread, which resumes (delivering `signal` from a signal-delivery-stop). */
export function ptraceDetach(tid: number, signal = 0): void {
  request(PtraceRequest.DETACH, tid, 0n, BigInt(signal));
}

export function ptraceSetOptions(tid: number, options: number): void {
  request(PtraceRequest.SETOPTIONS, tid, 0n, BigInt(options));
}

const eventMessage = new Uint8Array(8);

/** The event's payload: the new thread's tid after PTRACE_EVENT_CLONE, the former tid after EXEC. */
export function ptraceGetEventMsg(tid: number): bigint {
  requestBuffer(PtraceRequest.GETEVENTMSG, tid, 0n, eventMessage);
  return new DataView(eventMessage.buffer).getBigUint64(0, true);
}

const regsBuffer = new Uint8Array(USER_REGS_SIZE);
const regsView = new DataView(regsBuffer.buffer);

export function ptraceGetRegs(tid: number): UserRegs {
  requestBuffer(PtraceRequest.GETREGS, tid, 0n, regsBuffer);
  return decodeUserRegs(regsView);
}

export function ptraceSetRegs(tid: number, regs: UserRegs): void {
  encodeUserRegs(regs, regsView);
  requestBuffer(PtraceRequest.SETREGS, tid, 0n, regsBuffer);
}

/** The FXSAVE image (x87, MXCSR, xmm0-15), a copy. */
export function ptraceGetFpRegs(tid: number): Uint8Array {
  const image = new Uint8Array(USER_FPREGS_SIZE);
  requestBuffer(PtraceRequest.GETFPREGS, tid, 0n, image);
  return image;
}

export function ptraceSetFpRegs(tid: number, image: Uint8Array): void {
  if (image.length !== USER_FPREGS_SIZE) throw new RangeError(`an FXSAVE image is ${USER_FPREGS_SIZE} bytes, not ${image.length}`);
  requestBuffer(PtraceRequest.SETFPREGS, tid, 0n, image);
}

/** Room for the XSAVE area of any current CPU (AVX-512 with AMX tiles stays under 12 KiB). */
const XSTATE_CAPACITY = 16384;
const IOVEC_SIZE = 16;

function xstateIovec(length: number): [NativeSlice, NativeSlice] {
  const [iovec, area] = scratchSlices([IOVEC_SIZE, length]) as [NativeSlice, NativeSlice];
  iovec.view.setBigUint64(0, area.address, true);
  iovec.view.setBigUint64(8, BigInt(length), true);
  return [iovec, area];
}

/**
 * The thread's whole extended register state (XSAVE layout: ymm/zmm upper halves included), for code that
 * runs injected calls which may touch vector registers.
 */
export function ptraceGetXState(tid: number): Uint8Array {
  const [iovec, area] = xstateIovec(XSTATE_CAPACITY);
  if (bindings().withValue(PtraceRequest.GETREGSET, tid, BigInt(NT_X86_XSTATE), iovec.address) < 0) fail(PtraceRequest.GETREGSET, tid);
  // The kernel shrinks iov_len to the size it filled.
  const filled = Number(iovec.view.getBigUint64(8, true));
  return area.bytes.slice(0, filled);
}

export function ptraceSetXState(tid: number, state: Uint8Array): void {
  const [iovec, area] = xstateIovec(state.length);
  area.bytes.set(state);
  if (bindings().withValue(PtraceRequest.SETREGSET, tid, BigInt(NT_X86_XSTATE), iovec.address) < 0) fail(PtraceRequest.SETREGSET, tid);
}

const siginfoBuffer = new Uint8Array(128);

/**
 * The siginfo of the signal a thread is stopped delivering: its number and si_code (<= 0 when a process
 * sent it with kill/tgkill/sigqueue, > 0 when the kernel raised it, e.g. for a fault).
 */
export function ptraceGetSigInfo(tid: number): { signal: number; code: number } {
  requestBuffer(PtraceRequest.GETSIGINFO, tid, 0n, siginfoBuffer);
  const view = new DataView(siginfoBuffer.buffer);
  return { signal: view.getInt32(0, true), code: view.getInt32(8, true) };
}
