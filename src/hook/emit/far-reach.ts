// Jumps and pushes of 64-bit addresses that work whatever the distance, without clobbering a register or
// the flags: a rel32 form when the target is within ±2 GB, an absolute form otherwise.

import type { Cond, X64Writer } from "./x64-writer.js";
import { mem, Reg } from "./x64-writer.js";

/** jmp to an absolute address: `jmp rel32` (5 bytes) if it reaches, else `jmp [rip+0]; dq addr` (14 bytes). */
export function jumpTo(w: X64Writer, address: bigint): void {
  if (w.reaches(address)) w.jmp(address);
  else w.jmpAbsolute(address);
}

/** Bytes `jumpTo` emits for this address from the current position. */
export function jumpToSize(w: X64Writer, address: bigint): number {
  return w.reaches(address) ? 5 : 14;
}

/** jcc to an absolute address: `jcc rel32`, else the inverted condition skipping an absolute jmp. */
export function jumpIfTo(w: X64Writer, cond: Cond, address: bigint): void {
  if (w.reaches(address)) {
    w.jcc(cond, address);
    return;
  }
  // Inverting a condition code flips its low bit.
  w.raw([0x70 | (cond ^ 1), 14]);
  w.jmpAbsolute(address);
}

/**
 * Pushes a 64-bit constant without touching flags or registers: `push imm32` (sign-extended) and, when the
 * high half differs from the sign extension, `mov dword [rsp+4], high`.
 */
export function pushAddress(w: X64Writer, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  const low = Number(v & 0xffffffffn) | 0;
  w.pushImm32(low);
  const extended = BigInt.asUintN(64, BigInt(low));
  if (extended !== v) w.storeImm32(mem(Reg.rsp, 4), Number(v >> 32n) | 0);
}
