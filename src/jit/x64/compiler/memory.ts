// Loads, stores and atomics. Unchecked code addresses memory directly as [reg + off], as the kernel's JIT
// does (safety is the verifier's job). Checked code first proves the access lies inside the eBPF stack or
// the input memory and otherwise stops the run with a fault naming the slot, the address and the size.

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { AluOp, aluRM, aluRR, aluRI } from "../assembler/arithmetic.js";
import { lockAlu, lockCmpxchg, lockXadd, xchgMR } from "../assembler/atomics.js";
import { Cond } from "../assembler/conditions.js";
import { jccRel8, jmpRel32 } from "../assembler/control.js";
import { bindShort, jumpShortForward } from "../assembler/labels.js";
import { lea, movMI, movMR, movR32I, movRM, movRR, movsxdRM, movsxRM, movzxRM } from "../assembler/moves.js";
import { R10, R11, R9, RAX } from "../assembler/registers.js";
import type { Emitter } from "./emitter.js";
import { BPF_TO_X64, FaultKind, FRAME, HEADER_MEMORY_BASE, HEADER_SIZE, memoryLimitSlot, STACK_BYTES } from "./register-map.js";

/**
 * Points `e.m` at [bpfBase + off] for an access of `size` bytes at slot `pc`; in checked mode the
 * address is first computed into r11 and bounds-checked.
 */
function address(e: Emitter, bpfBase: number, off: number, size: 1 | 2 | 4 | 8, write: boolean, pc: number): void {
  const m = e.m;
  m.index = -1;
  m.base = BPF_TO_X64[bpfBase]!;
  m.disp = off;
  // Below r10 within one frame is inside the stack at any call depth: no check needed.
  if (!e.checked || (bpfBase === op.REG_FP && off >= -op.STACK_FRAME_SIZE && off <= -size)) return;
  const buf = e.buf;
  lea(buf, 64, R11, m);
  // In the stack: (address - (frame + HEADER_SIZE)) <= STACK_BYTES - size, unsigned.
  m.base = R11;
  m.disp = -HEADER_SIZE;
  lea(buf, 64, R10, m);
  aluRR(buf, AluOp.Sub, 64, R10, FRAME);
  aluRI(buf, AluOp.Cmp, 64, R10, STACK_BYTES - size);
  const okStack = jumpShortForward(buf, Cond.BE);
  // In the input memory: (address - base) < the count of valid offsets for this size, unsigned.
  movRR(buf, 64, R10, R11);
  m.base = FRAME;
  m.disp = HEADER_MEMORY_BASE;
  aluRM(buf, AluOp.Sub, 64, R10, m);
  m.disp = memoryLimitSlot(size);
  aluRM(buf, AluOp.Cmp, 64, R10, m);
  const okMemory = jumpShortForward(buf, Cond.B);
  movR32I(buf, R9, (write ? FaultKind.Write : FaultKind.Read) | (size << 8));
  movR32I(buf, R10, pc);
  jmpRel32(buf, e.faultHandler);
  bindShort(buf, okStack);
  bindShort(buf, okMemory);
  m.base = R11;
  m.disp = 0;
}

export function emitLoad(e: Emitter, ins: Insn, pc: number): void {
  const size = op.sizeBytes(op.memSize(ins.code));
  address(e, ins.src, ins.off, size, false, pc);
  const buf = e.buf;
  const dst = BPF_TO_X64[ins.dst]!;
  const signExtend = op.memMode(ins.code) === op.BPF_MEMSX;
  switch (size) {
    case 1:
      if (signExtend) movsxRM(buf, 8, 64, dst, e.m);
      else movzxRM(buf, 8, dst, e.m);
      return;
    case 2:
      if (signExtend) movsxRM(buf, 16, 64, dst, e.m);
      else movzxRM(buf, 16, dst, e.m);
      return;
    case 4:
      if (signExtend) movsxdRM(buf, dst, e.m);
      else movRM(buf, 32, dst, e.m);
      return;
    default:
      movRM(buf, 64, dst, e.m);
  }
}

export function emitStore(e: Emitter, ins: Insn, pc: number): void {
  const size = op.sizeBytes(op.memSize(ins.code));
  address(e, ins.dst, ins.off, size, true, pc);
  const width = (size * 8) as 8 | 16 | 32 | 64;
  if (op.insnClass(ins.code) === op.BPF_ST) movMI(e.buf, width, e.m, ins.imm);
  else movMR(e.buf, width, e.m, BPF_TO_X64[ins.src]!);
}

export function emitAtomic(e: Emitter, ins: Insn, pc: number): void {
  const w = op.memSize(ins.code) === op.BPF_DW ? 64 : 32;
  address(e, ins.dst, ins.off, w === 64 ? 8 : 4, true, pc);
  const buf = e.buf;
  const src = BPF_TO_X64[ins.src]!;
  const m = e.m;
  switch (ins.imm) {
    case op.BPF_ADD:
      lockAlu(buf, AluOp.Add, w, m, src);
      return;
    case op.BPF_OR:
      lockAlu(buf, AluOp.Or, w, m, src);
      return;
    case op.BPF_AND:
      lockAlu(buf, AluOp.And, w, m, src);
      return;
    case op.BPF_XOR:
      lockAlu(buf, AluOp.Xor, w, m, src);
      return;
    case op.BPF_ADD | op.BPF_FETCH:
      lockXadd(buf, w, m, src);
      return;
    case op.BPF_XCHG:
      xchgMR(buf, w, m, src);
      return;
    case op.BPF_CMPXCHG:
      lockCmpxchg(buf, w, m, src);
      // A successful 32-bit cmpxchg leaves rax's upper half alone; eBPF wants the old value zero-extended.
      if (w === 32) movRR(buf, 32, RAX, RAX);
      return;
    case op.BPF_OR | op.BPF_FETCH:
      emitFetchLoop(e, AluOp.Or, w, src);
      return;
    case op.BPF_AND | op.BPF_FETCH:
      emitFetchLoop(e, AluOp.And, w, src);
      return;
    case op.BPF_XOR | op.BPF_FETCH:
      emitFetchLoop(e, AluOp.Xor, w, src);
      return;
  }
  throw new Error(`bad atomic operation 0x${ins.imm.toString(16)}`);
}

/**
 * Fetching or/and/xor have no single x86 instruction: a cmpxchg loop computes old op src into r9 until
 * no other writer got in between. rax (r0) is borrowed as cmpxchg's accumulator and given back, unless
 * src is r0 itself, which then simply receives the old value.
 */
function emitFetchLoop(e: Emitter, operation: typeof AluOp.Or | typeof AluOp.And | typeof AluOp.Xor, w: 32 | 64, src: number): void {
  const buf = e.buf;
  const m = e.m;
  if (m.base !== R11 || m.disp !== 0) {
    lea(buf, 64, R11, m);
    m.base = R11;
    m.disp = 0;
  }
  movRR(buf, 64, R10, RAX);
  const operand = src === RAX ? R10 : src;
  movRM(buf, w, RAX, m);
  const retry = buf.length;
  movRR(buf, 64, R9, RAX);
  aluRR(buf, operation, w, R9, operand);
  lockCmpxchg(buf, w, m, R9);
  jccRel8(buf, Cond.NE, retry);
  if (src !== RAX) {
    movRR(buf, w, src, RAX);
    movRR(buf, 64, RAX, R10);
  }
}
