// Saving and restoring the interrupted state as the stack frame described in frame-layout.ts.
//
// Saved: all 16 general-purpose registers and rflags (pushfq) — into pt_regs, from which they are restored,
// so the hooked code continues with exactly the values it had. rflags are restored without popfq, which
// costs ~8 ns here: the status flags through sahf plus an add that recreates OF, and DF by std when it was
// set. The stubs touch no other flag (TF, AC, ID stay as they were). Vector registers are saved separately around
// the program calls (see VectorPolicy), since most hits have no program to call for one of the two stubs.
// Not saved: x87/MMX state, ymm/zmm upper halves, opmask registers, MXCSR — programs and helpers are System V
// functions that preserve MXCSR and the x87 control word, and they must not use AVX (the JIT emits none).

import { Invocation, NO_SYSCALL, PtRegs, RED_ZONE_SIZE, USER_CS, USER_SS } from "./frame-layout.js";
import { Cond, type Memory, mem, Reg, type X64Writer } from "../emit/x64-writer.js";

export interface FrameShape {
  /** Step over the 128-byte red zone first (probes inside a function body, where leaf code may use it). */
  readonly redZone: boolean;
  /** Reserve one slot above the record for a return address (the uretprobe return stub). */
  readonly returnSlot: boolean;
  /** Restore the status flags and DF. Without it, they are left as the stub's code set them. */
  readonly restoreFlags: boolean;
}

/** pt_regs fields in push order (highest offset first), after ss, rsp, eflags, cs, rip and orig_rax. */
const GPR_PUSH_ORDER: readonly Reg[] = [
  Reg.rdi, Reg.rsi, Reg.rdx, Reg.rcx, Reg.rax, Reg.r8, Reg.r9, Reg.r10, Reg.r11, Reg.rbx, Reg.rbp, Reg.r12, Reg.r13, Reg.r14, Reg.r15,
];

/** Bytes pushed above pt_regs.rsp's own slot before it is pushed: the record, ss and the optional slots. */
function bytesAboveRspSlot(shape: FrameShape): number {
  const record = Invocation.funcIp + 8 - Invocation.overrideFlag;
  return record + 8 + (shape.returnSlot ? 8 : 0) + (shape.redZone ? RED_ZONE_SIZE : 0);
}

/**
 * Builds the frame and leaves ctx (= &pt_regs) in rbx and rsp aligned down to 16 bytes below it.
 * `funcIp` and `ip` are memory operands holding the values for the record and pt_regs.rip (undefined ip:
 * 0, filled in later by the caller).
 */
export function emitSaveFrame(w: X64Writer, shape: FrameShape, funcIp: Memory, ip: Memory | undefined): void {
  if (shape.redZone) w.lea(Reg.rsp, mem(Reg.rsp, -RED_ZONE_SIZE));
  if (shape.returnSlot) w.pushImm32(0);
  w.pushMem(funcIp); // record: funcIp
  w.pushImm32(0); // record: cookie
  w.pushImm32(0); // record: overrideValue
  w.pushImm32(0); // record: overrideFlag
  w.pushImm32(USER_SS);
  w.push(Reg.rsp); // pushes rsp as it was before this push; corrected below
  w.pushfq();
  w.pushImm32(USER_CS);
  if (ip === undefined) w.pushImm32(0);
  else w.pushMem(ip);
  w.pushImm32(NO_SYSCALL);
  for (const reg of GPR_PUSH_ORDER) w.push(reg);
  // Flags are saved, so arithmetic is allowed from here on.
  w.aluImm("add", mem(Reg.rsp, PtRegs.rsp), bytesAboveRspSlot(shape));
  w.mov(Reg.rbx, Reg.rsp);
  w.aluImm("and", Reg.rsp, -16);
}

/**
 * Restores every register from the frame at rbx and pops it, leaving rsp where it was at the hook (or at the
 * return slot, for shapes that have one).
 */
export function emitRestoreFrame(w: X64Writer, shape: FrameShape): void {
  w.mov(Reg.rsp, Reg.rbx);
  if (shape.restoreFlags) emitRestoreFlags(w, mem(Reg.rbx, PtRegs.eflags));
  // From here on only pop and lea, which leave the flags alone.
  for (const reg of [...GPR_PUSH_ORDER].reverse()) w.pop(reg);
  const above = Invocation.funcIp + 8 - PtRegs.orig_rax + (shape.redZone ? RED_ZONE_SIZE : 0);
  w.lea(Reg.rsp, mem(Reg.rsp, above));
}

const DF_BIT = 10;
const OF_BIT = 11;

/**
 * Sets DF and the status flags (CF PF AF ZF SF OF) to the values of the saved rflags at `saved`. Clobbers rax
 * and rcx, so it must run before they are restored.
 */
export function emitRestoreFlags(w: X64Writer, saved: Memory): void {
  const directionClear = w.label();
  w.bt(saved, DF_BIT);
  w.jcc(Cond.ae, directionClear);
  w.std();
  w.bind(directionClear);
  w.loadByteZeroExtended(Reg.rax, saved);
  w.loadByteZeroExtended(Reg.rcx, offsetBy(saved, 1));
  w.shr(Reg.rcx, OF_BIT - 8);
  w.aluImm("and", Reg.rcx, 1);
  w.movAhAl();
  // 0x7f + 1 overflows a signed byte and 0x7f + 0 does not: OF = the saved OF. sahf then sets the other five.
  w.addCl(0x7f);
  w.sahf();
}

function offsetBy(m: Memory, delta: number): Memory {
  if (m.kind !== "base") throw new Error("flags must be addressed from a base register");
  return { ...m, disp: m.disp + delta };
}

/**
 * Which vector registers survive a program call:
 * - "abi": the ones the System V ABI makes live at the hook — xmm0-7 (arguments) at a function entry,
 *   xmm0-1 (return value) at a return. Everything else is caller-saved and dead there.
 * - "all": xmm0-15, for probes inside a function body (and forced there).
 * - "none": nothing; only for programs known not to touch SSE registers.
 */
export type VectorPolicy = "abi" | "all" | "none";

/** Saves xmm0..count-1 below the aligned rsp; returns the bytes reserved. */
export function emitSaveVectors(w: X64Writer, count: number): void {
  if (count === 0) return;
  w.aluImm("sub", Reg.rsp, 16 * count);
  for (let i = 0; i < count; i++) w.storeXmm(mem(Reg.rsp, 16 * i), i);
}

export function emitRestoreVectors(w: X64Writer, count: number): void {
  if (count === 0) return;
  for (let i = 0; i < count; i++) w.loadXmm(i, mem(Reg.rsp, 16 * i));
  w.aluImm("add", Reg.rsp, 16 * count);
}
