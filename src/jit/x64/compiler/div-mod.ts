// DIV, SDIV, MOD and SMOD with eBPF's total semantics on x86's trapping divide: by zero the quotient is 0
// and the remainder is the dividend; INT_MIN / -1 is INT_MIN and INT_MIN % -1 is 0 (idiv would raise #DE),
// which is just negation and zero for a divisor of -1. Immediate divisors are decided at compile time.
//
// div/idiv work on rdx:rax, which hold r0 and r3: both are parked in r9/r10 unless they are the
// destination, and the divisor goes to r11 first so it can itself be r0 or r3.

import { AluOp, aluRI, signExtendAccumulator, testRR, UnaryOp, unaryR } from "../assembler/arithmetic.js";
import { Cond } from "../assembler/conditions.js";
import { bindShort, jumpShortForward } from "../assembler/labels.js";
import { loadConstant, movR32I, movRR } from "../assembler/moves.js";
import { R10, R11, R9, RAX, RDX } from "../assembler/registers.js";
import type { Emitter } from "./emitter.js";

/** `src` < 0 means the divisor is the immediate `imm`. `signed` is the offset-1 (sdiv/smod) form. */
export function emitDivMod(e: Emitter, w: 32 | 64, isMod: boolean, signed: boolean, dst: number, src: number, imm: number): void {
  const buf = e.buf;
  if (src < 0) {
    if (imm === 0) {
      emitByZero(e, w, isMod, dst);
      return;
    }
    if (signed && imm === -1) {
      emitByMinusOne(e, w, isMod, dst);
      return;
    }
    // ALU64 sign-extends the immediate; ALU uses its 32 bits.
    if (w === 64) loadConstant(buf, R11, imm, imm >> 31);
    else movR32I(buf, R11, imm);
    emitDivide(e, w, isMod, signed, dst);
    return;
  }
  movRR(buf, w, R11, src);
  testRR(buf, w, R11, R11);
  const toZero = jumpShortForward(buf, Cond.E);
  let toMinusOne = -1;
  if (signed) {
    aluRI(buf, AluOp.Cmp, w, R11, -1);
    toMinusOne = jumpShortForward(buf, Cond.E);
  }
  emitDivide(e, w, isMod, signed, dst);
  if (!signed && isMod && w === 64) {
    // By zero the 64-bit remainder is the dividend as it stands: nothing to do.
    bindShort(buf, toZero);
    return;
  }
  const doneFromDivide = jumpShortForward(buf, -1);
  bindShort(buf, toZero);
  emitByZero(e, w, isMod, dst);
  let doneFromZero = -1;
  if (signed) {
    doneFromZero = jumpShortForward(buf, -1);
    bindShort(buf, toMinusOne);
    emitByMinusOne(e, w, isMod, dst);
    bindShort(buf, doneFromZero);
  }
  bindShort(buf, doneFromDivide);
}

function emitByZero(e: Emitter, w: 32 | 64, isMod: boolean, dst: number): void {
  if (!isMod) loadConstant(e.buf, dst, 0, 0);
  else if (w === 32) movRR(e.buf, 32, dst, dst);
}

function emitByMinusOne(e: Emitter, w: 32 | 64, isMod: boolean, dst: number): void {
  if (isMod) loadConstant(e.buf, dst, 0, 0);
  else unaryR(e.buf, UnaryOp.Neg, w, dst);
}

/** dst = dst / r11 or dst % r11 for a divisor that is neither 0 nor (when signed) -1. */
function emitDivide(e: Emitter, w: 32 | 64, isMod: boolean, signed: boolean, dst: number): void {
  const buf = e.buf;
  if (dst !== RAX) {
    movRR(buf, 64, R9, RAX);
    movRR(buf, 64, RAX, dst);
  }
  if (dst !== RDX) movRR(buf, 64, R10, RDX);
  if (signed) {
    signExtendAccumulator(buf, w);
    unaryR(buf, UnaryOp.Idiv, w, R11);
  } else {
    loadConstant(buf, RDX, 0, 0);
    unaryR(buf, UnaryOp.Div, w, R11);
  }
  const result = isMod ? RDX : RAX;
  if (dst !== result) movRR(buf, w === 32 ? 32 : 64, dst, result);
  if (dst !== RDX) movRR(buf, 64, RDX, R10);
  if (dst !== RAX) movRR(buf, 64, RAX, R9);
}
