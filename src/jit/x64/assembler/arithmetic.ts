// Integer arithmetic and logic: the eight classic ALU operations, test, imul, the one-operand group
// (not/neg/mul/div/idiv) and the sign-extension of rax into rdx before a division.

import type { CodeBuffer } from "./code-buffer.js";
import { byteRegFlags, opDigitR, opRR, widthFlags } from "./encoding.js";
import { opMem, type Mem } from "./memory-operand.js";
import type { Width } from "./registers.js";

/** The ALU operations by their x86 opcode-extension number. */
export const AluOp = { Add: 0, Or: 1, Adc: 2, Sbb: 3, And: 4, Sub: 5, Xor: 6, Cmp: 7 } as const;
export type AluOp = (typeof AluOp)[keyof typeof AluOp];

const fitsInt8 = (value: number): boolean => value >= -128 && value <= 127;

function flagsFor(width: Width, ...byteRegs: number[]): number {
  let flags = widthFlags(width);
  if (width === 8) for (const r of byteRegs) flags |= byteRegFlags(r);
  return flags;
}

/** `op dst, src` on registers. */
export function aluRR(buf: CodeBuffer, op: AluOp, width: Width, dst: number, src: number): void {
  opRR(buf, width === 8 ? flagsFor(8, dst, src) : widthFlags(width), (op << 3) | (width === 8 ? 0 : 1), src, dst);
}

/**
 * `op dst, imm` (imm sign-extended to the operand size in 64-bit form); the imm8 form when it fits.
 * For width 16 the imm is written as 16 bits, for 8 as 8 bits.
 */
export function aluRI(buf: CodeBuffer, op: AluOp, width: Width, dst: number, imm: number): void {
  if (width === 8) {
    opDigitR(buf, flagsFor(8, dst), 0x80, op, dst);
    buf.byte(imm & 0xff);
  } else if (fitsInt8(imm)) {
    opDigitR(buf, widthFlags(width), 0x83, op, dst);
    buf.byte(imm & 0xff);
  } else {
    opDigitR(buf, widthFlags(width), 0x81, op, dst);
    if (width === 16) buf.u16(imm);
    else buf.u32(imm);
  }
}

/** `op [m], src`. */
export function aluMR(buf: CodeBuffer, op: AluOp, width: Width, m: Mem, src: number, extraFlags = 0): void {
  opMem(buf, flagsFor(width, src) | extraFlags, (op << 3) | (width === 8 ? 0 : 1), src, m);
}

/** `op dst, [m]`. */
export function aluRM(buf: CodeBuffer, op: AluOp, width: Width, dst: number, m: Mem): void {
  opMem(buf, flagsFor(width, dst), (op << 3) | (width === 8 ? 2 : 3), dst, m);
}

/** `op [m], imm`. */
export function aluMI(buf: CodeBuffer, op: AluOp, width: Width, m: Mem, imm: number, extraFlags = 0): void {
  if (width === 8) {
    opMem(buf, extraFlags, 0x80, op, m, 1);
    buf.byte(imm & 0xff);
  } else if (fitsInt8(imm)) {
    opMem(buf, widthFlags(width) | extraFlags, 0x83, op, m, 1);
    buf.byte(imm & 0xff);
  } else {
    const bytes = width === 16 ? 2 : 4;
    opMem(buf, widthFlags(width) | extraFlags, 0x81, op, m, bytes);
    if (width === 16) buf.u16(imm);
    else buf.u32(imm);
  }
}

/** `test a, b` on registers. */
export function testRR(buf: CodeBuffer, width: Width, a: number, b: number): void {
  opRR(buf, width === 8 ? flagsFor(8, a, b) : widthFlags(width), width === 8 ? 0x84 : 0x85, b, a);
}

/** `test reg, imm` (imm32 sign-extended in 64-bit form). */
export function testRI(buf: CodeBuffer, width: Width, reg: number, imm: number): void {
  if (width === 8) {
    opDigitR(buf, flagsFor(8, reg), 0xf6, 0, reg);
    buf.byte(imm & 0xff);
    return;
  }
  opDigitR(buf, widthFlags(width), 0xf7, 0, reg);
  if (width === 16) buf.u16(imm);
  else buf.u32(imm);
}

/** `imul dst, src` (the low half of the product, the same for signed and unsigned). */
export function imulRR(buf: CodeBuffer, width: 16 | 32 | 64, dst: number, src: number): void {
  opRR(buf, widthFlags(width), 0x0faf, dst, src);
}

/** `imul dst, src, imm` (imm sign-extended). */
export function imulRRI(buf: CodeBuffer, width: 16 | 32 | 64, dst: number, src: number, imm: number): void {
  if (fitsInt8(imm)) {
    opRR(buf, widthFlags(width), 0x6b, dst, src);
    buf.byte(imm & 0xff);
  } else {
    opRR(buf, widthFlags(width), 0x69, dst, src);
    if (width === 16) buf.u16(imm);
    else buf.u32(imm);
  }
}

/** The F7 group: one register operand, the rest implicit in rax/rdx. */
/**
 * Mul/Imul: rdx:rax = rax * operand (unsigned/signed). Div/Idiv: rax = rdx:rax / operand, rdx = the
 * remainder; idiv traps on a zero divisor or an overflowing quotient.
 */
export const UnaryOp = { Not: 2, Neg: 3, Mul: 4, Imul: 5, Div: 6, Idiv: 7 } as const;
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp];

export function unaryR(buf: CodeBuffer, op: UnaryOp, width: Width, reg: number): void {
  opDigitR(buf, width === 8 ? flagsFor(8, reg) : widthFlags(width), width === 8 ? 0xf6 : 0xf7, op, reg);
}

/** cqo (64) or cdq (32): sign-extends rax into rdx ahead of idiv. */
export function signExtendAccumulator(buf: CodeBuffer, width: 32 | 64): void {
  if (width === 64) buf.byte(0x48); // REX.W
  buf.byte(0x99);
}
