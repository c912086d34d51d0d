// ALU and ALU64 instructions other than division and modulo. 32-bit x86 operations zero the upper half
// of their destination, which is exactly eBPF's ALU32 rule; hardware shift counts are masked to 5 or 6
// bits, which is exactly eBPF's shift rule.

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { AluOp, aluRI, aluRR, imulRR, imulRRI, UnaryOp, unaryR } from "../assembler/arithmetic.js";
import { bswap, loadConstant, movR32I, movRR, movsxdRR, movsxRR, movzxRR } from "../assembler/moves.js";
import { R11, RCX } from "../assembler/registers.js";
import { shiftRCl, shiftRI, ShiftOp } from "../assembler/shifts.js";
import { emitDivMod } from "./div-mod.js";
import type { Emitter } from "./emitter.js";
import { BPF_TO_X64 } from "./register-map.js";

const SIMPLE_OPS: Record<number, AluOp | undefined> = {
  [op.BPF_ADD]: AluOp.Add,
  [op.BPF_SUB]: AluOp.Sub,
  [op.BPF_OR]: AluOp.Or,
  [op.BPF_AND]: AluOp.And,
  [op.BPF_XOR]: AluOp.Xor,
};

const SHIFT_OPS: Record<number, ShiftOp | undefined> = {
  [op.BPF_LSH]: ShiftOp.Shl,
  [op.BPF_RSH]: ShiftOp.Shr,
  [op.BPF_ARSH]: ShiftOp.Sar,
};

export function emitAlu(e: Emitter, ins: Insn): void {
  const buf = e.buf;
  const w = op.insnClass(ins.code) === op.BPF_ALU64 ? 64 : 32;
  const operation = op.aluOp(ins.code);
  const fromReg = op.srcBit(ins.code) === op.BPF_X;
  const dst = BPF_TO_X64[ins.dst]!;
  const src = BPF_TO_X64[ins.src]!;
  const simple = SIMPLE_OPS[operation];
  if (simple !== undefined) {
    if (fromReg) aluRR(buf, simple, w, dst, src);
    else aluRI(buf, simple, w, dst, ins.imm);
    return;
  }
  const shift = SHIFT_OPS[operation];
  if (shift !== undefined) {
    if (fromReg) emitShiftByRegister(e, shift, w, dst, src);
    else emitShiftByImmediate(e, shift, w, dst, ins.imm);
    return;
  }
  switch (operation) {
    case op.BPF_MUL:
      if (fromReg) imulRR(buf, w, dst, src);
      else imulRRI(buf, w, dst, dst, ins.imm);
      return;
    case op.BPF_DIV:
    case op.BPF_MOD:
      emitDivMod(e, w, operation === op.BPF_MOD, ins.off === 1, dst, fromReg ? src : -1, ins.imm);
      return;
    case op.BPF_NEG:
      unaryR(buf, UnaryOp.Neg, w, dst);
      return;
    case op.BPF_MOV:
      if (fromReg) emitMoveRegister(e, w, dst, src, ins.off);
      else if (w === 64) loadConstant(buf, dst, ins.imm, ins.imm >> 31);
      else if (ins.imm === 0) loadConstant(buf, dst, 0, 0);
      else movR32I(buf, dst, ins.imm);
      return;
    case op.BPF_END:
      emitByteOrder(e, ins.code, dst, ins.imm);
      return;
  }
  throw new Error(`not an ALU instruction: 0x${ins.code.toString(16)}`);
}

/** mov and movsx (the offset is the source width to sign-extend from; 0 is a plain move). */
function emitMoveRegister(e: Emitter, w: 32 | 64, dst: number, src: number, from: number): void {
  const buf = e.buf;
  if (from === 8) movsxRR(buf, 8, w, dst, src);
  else if (from === 16) movsxRR(buf, 16, w, dst, src);
  else if (from === 32) movsxdRR(buf, dst, src);
  else if (w === 32 || dst !== src) movRR(buf, w, dst, src); // a 32-bit self-move still zero-extends
}

function emitShiftByImmediate(e: Emitter, shift: ShiftOp, w: 32 | 64, dst: number, imm: number): void {
  const count = imm & (w - 1);
  if (count !== 0) shiftRI(e.buf, shift, w, dst, count);
  else if (w === 32) movRR(e.buf, 32, dst, dst);
}

/** The count must be in cl, and cl belongs to r4: r4 is parked in r11 around the shift. */
function emitShiftByRegister(e: Emitter, shift: ShiftOp, w: 32 | 64, dst: number, src: number): void {
  const buf = e.buf;
  if (src === RCX) {
    shiftRCl(buf, shift, w, dst);
    return;
  }
  movRR(buf, 64, R11, RCX);
  movRR(buf, 32, RCX, src);
  if (dst === RCX) {
    // The value to shift is r4 itself, now in r11; the result goes back to r4.
    shiftRCl(buf, shift, w, R11);
  } else {
    shiftRCl(buf, shift, w, dst);
  }
  movRR(buf, 64, RCX, R11);
}

/**
 * END: to-little-endian on this little-endian host only truncates; to-big-endian and the unconditional
 * bswap (ALU64 END) swap the low 16, 32 or 64 bits and zero the rest.
 */
function emitByteOrder(e: Emitter, code: number, dst: number, width: number): void {
  const buf = e.buf;
  const swap = code !== (op.BPF_ALU | op.BPF_END | op.BPF_TO_LE);
  if (width === 16) {
    if (swap) shiftRI(buf, ShiftOp.Rol, 16, dst, 8);
    movzxRR(buf, 16, dst, dst);
  } else if (width === 32) {
    if (swap) bswap(buf, 32, dst);
    else movRR(buf, 32, dst, dst);
  } else if (swap) {
    bswap(buf, 64, dst);
  }
}
