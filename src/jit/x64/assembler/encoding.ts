// The shared part of every instruction with a ModRM byte: legacy prefixes, REX, opcode, ModRM, SIB and
// displacement. Operand width and prefixes travel as a small bit set so that emitting allocates nothing.

import type { CodeBuffer } from "./code-buffer.js";
import { NO_INDEX, RIP, type Width } from "./registers.js";

/** REX.W: 64-bit operand size. */
export const W64 = 1;
/** The 0x66 prefix: 16-bit operand size. */
export const OPSIZE16 = 2;
/** The 0xf0 LOCK prefix. */
export const LOCK = 4;
/**
 * An empty REX (0x40) even when no other REX bit is set: with it, byte registers 4..7 mean spl, bpl,
 * sil and dil instead of ah, ch, dh and bh.
 */
export const FORCE_REX = 8;

/** Flags for an operation of `width` bits. */
export function widthFlags(width: Width): number {
  return width === 64 ? W64 : width === 16 ? OPSIZE16 : 0;
}

/** FORCE_REX when a byte-sized register operand is one of spl/bpl/sil/dil. */
export function byteRegFlags(reg: number): number {
  return reg >= 4 && reg < 8 ? FORCE_REX : 0;
}

/**
 * Prefixes, REX and opcode. `opcode` is one byte, or two bytes written high byte first (0x0fXX), or three
 * (0x0fXXYY). `reg`, `index` and `base` give the REX.R, REX.X and REX.B bits (negative means none).
 */
function emitHead(buf: CodeBuffer, flags: number, opcode: number, reg: number, index: number, base: number): void {
  if (flags & LOCK) buf.byte(0xf0);
  if (flags & OPSIZE16) buf.byte(0x66);
  let rex = 0;
  if (flags & W64) rex |= 8;
  if (reg > 7) rex |= 4;
  if (index > 7) rex |= 2;
  if (base > 7) rex |= 1;
  if (rex !== 0 || flags & FORCE_REX) buf.byte(0x40 | rex);
  if (opcode > 0xffff) buf.byte(opcode >>> 16);
  if (opcode > 0xff) buf.byte((opcode >>> 8) & 0xff);
  buf.byte(opcode & 0xff);
}

/** An instruction whose ModRM names two registers (mod = 11): `reg` in ModRM.reg, `rm` in ModRM.rm. */
export function opRR(buf: CodeBuffer, flags: number, opcode: number, reg: number, rm: number): void {
  emitHead(buf, flags, opcode, reg, -1, rm);
  buf.byte(0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/** A register in ModRM.rm with an opcode extension (/digit) in ModRM.reg, e.g. `neg rax` = F7 /3. */
export function opDigitR(buf: CodeBuffer, flags: number, opcode: number, digit: number, rm: number): void {
  emitHead(buf, flags, opcode, -1, -1, rm);
  buf.byte(0xc0 | (digit << 3) | (rm & 7));
}

const fitsInt8 = (value: number): boolean => value >= -128 && value <= 127;

/**
 * A memory operand [base + index * scale + disp] with `reg` (a register or a /digit) in ModRM.reg.
 * Handles the encoding quirks: a base of rsp/r12 needs a SIB byte, a base of rbp/r13 has no
 * displacement-free form (so it gets disp8 = 0), and rsp cannot be an index.
 */
export function opRM(
  buf: CodeBuffer,
  flags: number,
  opcode: number,
  reg: number,
  base: number,
  index: number,
  scale: 1 | 2 | 4 | 8,
  disp: number,
): void {
  if (base === RIP) throw new RangeError("use opRipRelative for RIP-relative operands");
  if (index === 4) throw new RangeError("rsp cannot be an index register");
  emitHead(buf, flags, opcode, reg, index, base);
  const mod = disp === 0 && (base & 7) !== 5 ? 0 : fitsInt8(disp) ? 1 : 2;
  const regBits = (reg & 7) << 3;
  if (index === NO_INDEX && (base & 7) !== 4) {
    buf.byte((mod << 6) | regBits | (base & 7));
  } else {
    buf.byte((mod << 6) | regBits | 4);
    const scaleBits = scale === 1 ? 0 : scale === 2 ? 1 : scale === 4 ? 2 : 3;
    const indexBits = index === NO_INDEX ? 4 : index & 7;
    buf.byte((scaleBits << 6) | (indexBits << 3) | (base & 7));
  }
  if (mod === 1) buf.byte(disp & 0xff);
  else if (mod === 2) buf.u32(disp);
}

/**
 * A RIP-relative operand [rip + disp32] addressing the code offset `target`. The displacement counts from
 * the end of the instruction, so the caller says how many immediate bytes follow it.
 */
export function opRipRelative(buf: CodeBuffer, flags: number, opcode: number, reg: number, target: number, immediateBytes = 0): void {
  emitHead(buf, flags, opcode, reg, -1, -1);
  buf.byte(((reg & 7) << 3) | 5);
  buf.u32(target - (buf.length + 4 + immediateBytes));
}
