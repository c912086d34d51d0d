// The fixed code around the program body:
//
//   entry:       save callee-saved registers, reserve the frame, r12 = frame base, zero the tail-call
//                count (checked mode: load the budget and the input bounds, zero the stack), zero the
//                registers the program did not get as arguments (the interpreter starts them at 0)
//   tail entry:  r10 = top of the eBPF stack; `call body` (every eBPF exit is a `ret`, so the main
//                function returns here like any subprogram); then the epilogue restores and returns
//   fault:       checked mode: record the fault in the status block, unwind to the frame base, epilogue
//   stub:        `xor eax, eax; ret`, the target of helper table slots without a helper
//
// A tail call from any depth resets rsp to the frame base and jumps to the next program's tail entry,
// which reuses the frame, so a chain of tail calls never grows the native stack.

import { AluOp, aluRI } from "../assembler/arithmetic.js";
import { callRel32, endbr64, jmpRel32, pop, push, repStosq, ret } from "../assembler/control.js";
import { cmov, lea, loadConstant, movabs, movMI, movMR, movR32I, movRM, movRR } from "../assembler/moves.js";
import { Cond } from "../assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../assembler/registers.js";
import type { Emitter } from "./emitter.js";
import {
  FRAME,
  FRAME_BYTES,
  HEADER_BUDGET,
  HEADER_MAY_GOTO,
  HEADER_MEMORY_BASE,
  HEADER_SIZE,
  HEADER_TAIL_CALLS,
  MAX_MAY_GOTO,
  memoryLimitSlot,
  STACK_BYTES,
  STACK_TOP,
  STATUS_ADDRESS,
  STATUS_BUDGET,
  STATUS_KIND,
  STATUS_PC,
} from "./register-map.js";

const SAVED = [RBP, RBX, R12, R13, R14, R15];

export interface WrapperOffsets {
  tailEntry: number;
  /** Where the `call body` displacement is, to patch once the body's offset is known. */
  bodyCallAt: number;
}

function halves(value: bigint): [number, number] {
  return [Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n))];
}

export function emitWrapper(e: Emitter): WrapperOffsets {
  const buf = e.buf;
  const m = e.m;
  // Entry points are indirect-branch targets: landing pads for CPUs enforcing CET (a nop elsewhere).
  endbr64(buf);
  for (const reg of SAVED) push(buf, reg);
  aluRI(buf, AluOp.Sub, 64, RSP, FRAME_BYTES);
  movRR(buf, 64, FRAME, RSP);
  m.base = FRAME;
  m.index = -1;
  m.disp = HEADER_TAIL_CALLS;
  movMI(buf, 32, m, 0);
  if (e.shape.usesMayGoto) {
    m.disp = HEADER_MAY_GOTO;
    movMI(buf, 64, m, MAX_MAY_GOTO);
  }
  if (e.options.statusAddress !== undefined) emitCheckedSetUp(e, e.options.statusAddress);
  for (const reg of [RAX, RDX, RCX, R8, RBX, R13, R14, R15]) loadConstant(buf, reg, 0, 0);

  const tailEntry = buf.length;
  endbr64(buf);
  m.base = FRAME;
  m.disp = STACK_TOP;
  lea(buf, 64, RBP, m);
  callRel32(buf, buf.length); // patched to the body's first slot
  const bodyCallAt = buf.length - 4;
  const epilogue = buf.length;
  aluRI(buf, AluOp.Add, 64, RSP, FRAME_BYTES);
  for (let i = SAVED.length - 1; i >= 0; i--) pop(buf, SAVED[i]!);
  ret(buf);

  if (e.options.statusAddress !== undefined) {
    // r9d = kind, r10d = slot, r11 = address.
    e.faultHandler = buf.length;
    const [lo, hi] = halves(e.options.statusAddress);
    movabs(buf, RCX, lo, hi);
    m.base = RCX;
    m.disp = STATUS_KIND;
    movMR(buf, 32, m, R9);
    m.disp = STATUS_PC;
    movMR(buf, 32, m, R10);
    m.disp = STATUS_ADDRESS;
    movMR(buf, 64, m, R11);
    movRR(buf, 64, RSP, FRAME);
    loadConstant(buf, RAX, 0, 0);
    jmpRel32(buf, epilogue);
  }
  e.missingHelperStub = buf.length;
  endbr64(buf);
  loadConstant(buf, RAX, 0, 0);
  ret(buf);
  return { tailEntry, bodyCallAt };
}

/**
 * Budget from the status block; input base and per-size valid-offset counts from r1/r2; a zeroed eBPF
 * stack, so a program reading stack it never wrote sees 0 as in the interpreter, not native garbage.
 */
function emitCheckedSetUp(e: Emitter, statusAddress: bigint): void {
  const buf = e.buf;
  const m = e.m;
  movRR(buf, 64, R9, RDI);
  m.base = FRAME;
  m.index = -1;
  m.disp = HEADER_SIZE;
  lea(buf, 64, RDI, m);
  movR32I(buf, RCX, STACK_BYTES / 8);
  loadConstant(buf, RAX, 0, 0);
  repStosq(buf);
  movRR(buf, 64, RDI, R9);
  const [lo, hi] = halves(statusAddress);
  movabs(buf, R11, lo, hi);
  m.base = R11;
  m.disp = STATUS_BUDGET;
  movRM(buf, 64, R10, m);
  m.base = FRAME;
  m.disp = HEADER_BUDGET;
  movMR(buf, 64, m, R10);
  m.disp = HEADER_MEMORY_BASE;
  movMR(buf, 64, m, RDI);
  for (const size of [1, 2, 4, 8] as const) {
    // count = len >= size ? len - size + 1 : 0 (an access at offset x is valid when x < count).
    loadConstant(buf, R9, 0, 0);
    m.base = RSI;
    m.disp = 1 - size;
    lea(buf, 64, R10, m);
    aluRI(buf, AluOp.Cmp, 64, RSI, size);
    cmov(buf, Cond.AE, 64, R9, R10);
    m.base = FRAME;
    m.disp = memoryLimitSlot(size);
    movMR(buf, 64, m, R9);
  }
}
