// Shifts and rotates, by an immediate count or by cl. The hardware masks the count to 5 bits (32-bit and
// narrower operands) or 6 bits (64-bit), which is exactly eBPF's shift semantics.

import type { CodeBuffer } from "./code-buffer.js";
import { byteRegFlags, opDigitR, widthFlags } from "./encoding.js";
import type { Width } from "./registers.js";

export const ShiftOp = { Rol: 0, Ror: 1, Shl: 4, Shr: 5, Sar: 7 } as const;
export type ShiftOp = (typeof ShiftOp)[keyof typeof ShiftOp];

function flagsFor(width: Width, reg: number): number {
  return width === 8 ? byteRegFlags(reg) : widthFlags(width);
}

/** `op reg, imm8`. */
export function shiftRI(buf: CodeBuffer, op: ShiftOp, width: Width, reg: number, count: number): void {
  opDigitR(buf, flagsFor(width, reg), width === 8 ? 0xc0 : 0xc1, op, reg);
  buf.byte(count & 0xff);
}

/** `op reg, cl`. */
export function shiftRCl(buf: CodeBuffer, op: ShiftOp, width: Width, reg: number): void {
  opDigitR(buf, flagsFor(width, reg), width === 8 ? 0xd2 : 0xd3, op, reg);
}
