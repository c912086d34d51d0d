// Data movement: mov in all its forms (register, memory, 32/64-bit immediates), zero and sign extension,
// lea, bswap, setcc/cmovcc and register exchange.

import type { CodeBuffer } from "./code-buffer.js";
import { byteRegFlags, opDigitR, opRR, W64, widthFlags } from "./encoding.js";
import { opMem, type Mem } from "./memory-operand.js";
import type { Width } from "./registers.js";

/** `mov dst, src` on registers. */
export function movRR(buf: CodeBuffer, width: Width, dst: number, src: number): void {
  const flags = width === 8 ? byteRegFlags(dst) | byteRegFlags(src) : widthFlags(width);
  opRR(buf, flags, width === 8 ? 0x88 : 0x89, src, dst);
}

/** `mov dst, [m]`; a 32-bit load zero-extends into the full register. */
export function movRM(buf: CodeBuffer, width: Width, dst: number, m: Mem): void {
  const flags = width === 8 ? byteRegFlags(dst) : widthFlags(width);
  opMem(buf, flags, width === 8 ? 0x8a : 0x8b, dst, m);
}

/** `mov [m], src`. */
export function movMR(buf: CodeBuffer, width: Width, m: Mem, src: number): void {
  const flags = width === 8 ? byteRegFlags(src) : widthFlags(width);
  opMem(buf, flags, width === 8 ? 0x88 : 0x89, src, m);
}

/** `mov [m], imm` (for 64 bits the imm32 is sign-extended). */
export function movMI(buf: CodeBuffer, width: Width, m: Mem, imm: number): void {
  if (width === 8) {
    opMem(buf, 0, 0xc6, 0, m, 1);
    buf.byte(imm & 0xff);
  } else if (width === 16) {
    opMem(buf, widthFlags(16), 0xc7, 0, m, 2);
    buf.u16(imm);
  } else {
    opMem(buf, widthFlags(width), 0xc7, 0, m, 4);
    buf.u32(imm);
  }
}

/** `mov r32, imm32`: the upper half of the register becomes zero. */
export function movR32I(buf: CodeBuffer, dst: number, imm: number): void {
  if (dst > 7) buf.byte(0x41);
  buf.byte(0xb8 + (dst & 7));
  buf.u32(imm);
}

/** `mov r64, imm32` with the immediate sign-extended to 64 bits. */
export function movR64SignExtendedI(buf: CodeBuffer, dst: number, imm: number): void {
  opDigitR(buf, W64, 0xc7, 0, dst);
  buf.u32(imm);
}

/** `movabs r64, imm64`, the immediate given as its two 32-bit halves. */
export function movabs(buf: CodeBuffer, dst: number, lo: number, hi: number): void {
  buf.byte(dst > 7 ? 0x49 : 0x48);
  buf.byte(0xb8 + (dst & 7));
  buf.u64(lo, hi);
}

/**
 * The shortest way to put a 64-bit constant (given as halves) into a register: xor for zero, a 32-bit
 * mov when it is a zero-extended u32, a sign-extended imm32 mov, else movabs. Note that xor clobbers the
 * flags.
 */
export function loadConstant(buf: CodeBuffer, dst: number, lo: number, hi: number): void {
  if (hi === 0 && lo === 0) {
    opRR(buf, 0, 0x31, dst, dst); // xor r32, r32
  } else if (hi === 0) {
    movR32I(buf, dst, lo);
  } else if (hi === -1 && lo < 0) {
    movR64SignExtendedI(buf, dst, lo);
  } else {
    movabs(buf, dst, lo, hi);
  }
}

/** `movzx dst, src` from 8 or 16 bits into a 32-bit register (which zero-extends on to 64). */
export function movzxRR(buf: CodeBuffer, from: 8 | 16, dst: number, src: number): void {
  opRR(buf, from === 8 ? byteRegFlags(src) : 0, from === 8 ? 0x0fb6 : 0x0fb7, dst, src);
}

/** `movzx dst32, byte/word [m]`. */
export function movzxRM(buf: CodeBuffer, from: 8 | 16, dst: number, m: Mem): void {
  opMem(buf, 0, from === 8 ? 0x0fb6 : 0x0fb7, dst, m);
}

/** `movsx dst, src` from 8 or 16 bits into a 32- or 64-bit register. */
export function movsxRR(buf: CodeBuffer, from: 8 | 16, to: 32 | 64, dst: number, src: number): void {
  const flags = (to === 64 ? W64 : 0) | (from === 8 ? byteRegFlags(src) : 0);
  opRR(buf, flags, from === 8 ? 0x0fbe : 0x0fbf, dst, src);
}

/** `movsx dst, byte/word [m]`. */
export function movsxRM(buf: CodeBuffer, from: 8 | 16, to: 32 | 64, dst: number, m: Mem): void {
  opMem(buf, to === 64 ? W64 : 0, from === 8 ? 0x0fbe : 0x0fbf, dst, m);
}

/** `movsxd dst64, src32`. */
export function movsxdRR(buf: CodeBuffer, dst: number, src: number): void {
  opRR(buf, W64, 0x63, dst, src);
}

/** `movsxd dst64, dword [m]`. */
export function movsxdRM(buf: CodeBuffer, dst: number, m: Mem): void {
  opMem(buf, W64, 0x63, dst, m);
}

/** `lea dst, [m]` (64-bit address arithmetic without touching flags). */
export function lea(buf: CodeBuffer, width: 32 | 64, dst: number, m: Mem): void {
  opMem(buf, widthFlags(width), 0x8d, dst, m);
}

/** `bswap reg` (32 bits: the upper half becomes zero). */
export function bswap(buf: CodeBuffer, width: 32 | 64, reg: number): void {
  const rex = (width === 64 ? 8 : 0) | (reg > 7 ? 1 : 0);
  if (rex) buf.byte(0x40 | rex);
  buf.byte(0x0f);
  buf.byte(0xc8 + (reg & 7));
}

/** `setcc reg8`: 1 if the condition holds, else 0, in the low byte only. */
export function setcc(buf: CodeBuffer, cc: number, reg: number): void {
  opDigitR(buf, byteRegFlags(reg), 0x0f90 + cc, 0, reg);
}

/** `cmovcc dst, src`. */
export function cmov(buf: CodeBuffer, cc: number, width: 16 | 32 | 64, dst: number, src: number): void {
  opRR(buf, widthFlags(width), 0x0f40 + cc, dst, src);
}

/** `xchg a, b` on registers. */
export function xchgRR(buf: CodeBuffer, width: Width, a: number, b: number): void {
  const flags = width === 8 ? byteRegFlags(a) | byteRegFlags(b) : widthFlags(width);
  opRR(buf, flags, width === 8 ? 0x86 : 0x87, b, a);
}
