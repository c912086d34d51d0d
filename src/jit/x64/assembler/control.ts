// Control flow and stack: push/pop, call/jmp (relative and indirect), jcc, ret, and the few
// instructions with no operands (nop, endbr64, mfence, int3, ud2).
//
// Relative forms take the code offset of the target; the displacement counts from the end of the
// instruction, which these functions work out themselves.

import type { CodeBuffer } from "./code-buffer.js";
import { opDigitR } from "./encoding.js";
import { opMem, type Mem } from "./memory-operand.js";

export const JMP_REL8_SIZE = 2;
export const JMP_REL32_SIZE = 5;
export const JCC_REL8_SIZE = 2;
export const JCC_REL32_SIZE = 6;
export const CALL_REL32_SIZE = 5;

export function push(buf: CodeBuffer, reg: number): void {
  if (reg > 7) buf.byte(0x41);
  buf.byte(0x50 + (reg & 7));
}

export function pop(buf: CodeBuffer, reg: number): void {
  if (reg > 7) buf.byte(0x41);
  buf.byte(0x58 + (reg & 7));
}

export function ret(buf: CodeBuffer): void {
  buf.byte(0xc3);
}

/** `call rel32` to the code offset `target`. */
export function callRel32(buf: CodeBuffer, target: number): void {
  buf.byte(0xe8);
  buf.u32(target - (buf.length + 4));
}

/** `jmp rel32`. */
export function jmpRel32(buf: CodeBuffer, target: number): void {
  buf.byte(0xe9);
  buf.u32(target - (buf.length + 4));
}

/** `jmp rel8`; the target must be within -128..127 bytes of the instruction's end. */
export function jmpRel8(buf: CodeBuffer, target: number): void {
  buf.byte(0xeb);
  buf.byte(rel8(target - (buf.length + 1)));
}

/** `jcc rel32`. */
export function jccRel32(buf: CodeBuffer, cc: number, target: number): void {
  buf.byte(0x0f);
  buf.byte(0x80 + cc);
  buf.u32(target - (buf.length + 4));
}

/** `jcc rel8`. */
export function jccRel8(buf: CodeBuffer, cc: number, target: number): void {
  buf.byte(0x70 + cc);
  buf.byte(rel8(target - (buf.length + 1)));
}

/** `call reg` (indirect through a register). */
export function callR(buf: CodeBuffer, reg: number): void {
  opDigitR(buf, 0, 0xff, 2, reg);
}

/** `jmp reg`. */
export function jmpR(buf: CodeBuffer, reg: number): void {
  opDigitR(buf, 0, 0xff, 4, reg);
}

/** `call qword [m]`. */
export function callM(buf: CodeBuffer, m: Mem): void {
  opMem(buf, 0, 0xff, 2, m);
}

/** `jmp qword [m]`. */
export function jmpM(buf: CodeBuffer, m: Mem): void {
  opMem(buf, 0, 0xff, 4, m);
}

export function nop(buf: CodeBuffer): void {
  buf.byte(0x90);
}

/** The CET landing pad an indirect branch target needs when indirect branch tracking is on. */
export function endbr64(buf: CodeBuffer): void {
  buf.byte(0xf3);
  buf.byte(0x0f);
  buf.byte(0x1e);
  buf.byte(0xfa);
}

export function mfence(buf: CodeBuffer): void {
  buf.byte(0x0f);
  buf.byte(0xae);
  buf.byte(0xf0);
}

export function int3(buf: CodeBuffer): void {
  buf.byte(0xcc);
}

export function ud2(buf: CodeBuffer): void {
  buf.byte(0x0f);
  buf.byte(0x0b);
}

function rel8(displacement: number): number {
  if (displacement < -128 || displacement > 127) throw new RangeError(`rel8 displacement ${displacement} is out of range`);
  return displacement & 0xff;
}

/** `rep stosq`: stores rax at [rdi] rcx times, advancing rdi (the direction flag is clear in the ABI). */
export function repStosq(buf: CodeBuffer): void {
  buf.byte(0xf3);
  buf.byte(0x48);
  buf.byte(0xab);
}
