// Calls and exit.
//
// Helper calls go through the helper table after the code (`call [rip + table + 8 * id]`): r1..r5 are
// already in the System V argument registers and the result arrives in rax = r0.
//
// A bpf-to-bpf call saves r6..r9 and r10 on the native stack, moves r10 down one 512-byte frame, and
// `call`s the function; every `exit` is a `ret`. Five pushes plus the return address keep the callee's
// rsp 16-byte aligned, as helper calls need.
//
// bpf_tail_call (helper 12) is inlined as a jump: r2 points at a prog-array table laid out as
// { u32 max_entries; u32 pad; u64 entry[max_entries] } where entry[i] is the tail entry of a compiled
// program or 0. Out of range, an empty slot, or the 34th tail call of a run fall through with
// r0 = -EINVAL, like the interpreter's bpf_tail_call.

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { AluOp, aluMI, aluRI, aluRM, aluRR, testRR } from "../assembler/arithmetic.js";
import { Cond } from "../assembler/conditions.js";
import { callM, callR, callRel32, jmpR, jmpRel32, pop, push, ret } from "../assembler/control.js";
import { bindShort, jumpShortForward } from "../assembler/labels.js";
import { lea, loadConstant, movR32I, movRM, movRR } from "../assembler/moves.js";
import { NO_INDEX, R10, R11, R13, R14, R15, R9, RAX, RBP, RBX, RDX, RIP, RSI, RSP } from "../assembler/registers.js";
import type { Emitter } from "./emitter.js";
import { BPF_TO_X64, FaultKind, FRAME, HEADER_TAIL_CALLS, MAX_TAIL_CALLS } from "./register-map.js";

export const HELPER_TAIL_CALL = 12;
const EINVAL = 22;
/** Byte offsets in a prog-array table. */
export const PROG_ARRAY_MAX_ENTRIES = 0;
export const PROG_ARRAY_ENTRIES = 8;

const CALLEE_SAVED_BPF = [RBX, R13, R14, R15, RBP];

export function emitCall(e: Emitter, ins: Insn, pc: number): void {
  if (ins.code === op.OP_CALLX) {
    emitCallx(e, BPF_TO_X64[ins.dst]!, pc);
  } else if (ins.src === op.BPF_PSEUDO_CALL) {
    emitLocalCall(e, () => callRel32(e.buf, e.slotOffset(pc + 1 + ins.imm, pc)));
  } else if (ins.imm === HELPER_TAIL_CALL && e.options.tailCalls) {
    emitTailCall(e);
  } else {
    const m = e.m;
    m.base = RIP;
    m.index = NO_INDEX;
    m.disp = e.helperTable + 8 * ins.imm;
    callM(e.buf, m);
  }
}

export function emitExit(e: Emitter): void {
  ret(e.buf);
}

function emitLocalCall(e: Emitter, call: () => void): void {
  const buf = e.buf;
  for (const reg of CALLEE_SAVED_BPF) push(buf, reg);
  aluRI(buf, AluOp.Sub, 64, RBP, op.STACK_FRAME_SIZE);
  call();
  for (let i = CALLEE_SAVED_BPF.length - 1; i >= 0; i--) pop(buf, CALLEE_SAVED_BPF[i]!);
}

/**
 * callx: a value below the helper table's length is a helper id (as in the interpreter); anything else
 * is taken as a function address (from lddw src=4). Checked code also verifies that the id has a helper
 * or the address is one of the program's address-taken functions.
 */
function emitCallx(e: Emitter, target: number, pc: number): void {
  const buf = e.buf;
  const m = e.m;
  movRR(buf, 64, R11, target);
  aluRI(buf, AluOp.Cmp, 64, R11, e.helperTableLength);
  const toFunction = jumpShortForward(buf, Cond.AE);
  m.base = RIP;
  m.index = NO_INDEX;
  m.disp = e.helperTable;
  lea(buf, 64, R10, m);
  m.base = R10;
  m.index = R11;
  m.scale = 8;
  m.disp = 0;
  if (e.checked) {
    movRM(buf, 64, R9, m);
    m.base = RIP;
    m.index = NO_INDEX;
    m.scale = 1;
    m.disp = e.missingHelperStub;
    lea(buf, 64, R10, m);
    aluRR(buf, AluOp.Cmp, 64, R9, R10);
    const known = jumpShortForward(buf, Cond.NE);
    movR32I(buf, R9, FaultKind.UnknownHelper);
    movR32I(buf, R10, pc);
    jmpRel32(buf, e.faultHandler);
    bindShort(buf, known);
    callR(buf, R9);
  } else {
    callM(buf, m);
  }
  m.index = NO_INDEX;
  m.scale = 1;
  const done = buf.length;
  buf.byte(0xe9); // jmp rel32 over the function path, patched below
  buf.u32(0);
  bindShort(buf, toFunction);
  if (e.checked) emitFunctionCheck(e, pc);
  emitLocalCall(e, () => callR(buf, R11));
  buf.patchU32(done + 1, buf.length - (done + 5));
}

/** Checked callx: r11 must be the address of one of the address-taken functions. */
function emitFunctionCheck(e: Emitter, pc: number): void {
  const buf = e.buf;
  const m = e.m;
  const matches: number[] = [];
  for (const slot of e.shape.addressTaken) {
    m.base = RIP;
    m.index = NO_INDEX;
    m.disp = e.slotOffset(slot, pc);
    lea(buf, 64, R10, m);
    aluRR(buf, AluOp.Cmp, 64, R11, R10);
    buf.byte(0x0f);
    buf.byte(0x80 + Cond.E);
    buf.u32(0);
    matches.push(buf.length - 4);
  }
  movR32I(buf, R9, FaultKind.BadCallTarget);
  movR32I(buf, R10, pc);
  jmpRel32(buf, e.faultHandler);
  for (const at of matches) buf.patchU32(at, buf.length - (at + 4));
}

function emitTailCall(e: Emitter): void {
  const buf = e.buf;
  const m = e.m;
  const fails: number[] = [];
  const fail = (cc: number): void => {
    fails.push(jumpShortForward(buf, cc));
  };
  movRR(buf, 32, RDX, RDX); // the index is a u32
  m.base = RSI;
  m.index = NO_INDEX;
  m.disp = PROG_ARRAY_MAX_ENTRIES;
  aluRM(buf, AluOp.Cmp, 32, RDX, m);
  fail(Cond.AE);
  m.base = FRAME;
  m.disp = HEADER_TAIL_CALLS;
  aluMI(buf, AluOp.Cmp, 32, m, MAX_TAIL_CALLS);
  fail(Cond.AE);
  m.base = RSI;
  m.index = RDX;
  m.scale = 8;
  m.disp = PROG_ARRAY_ENTRIES;
  movRM(buf, 64, R11, m);
  m.index = NO_INDEX;
  m.scale = 1;
  testRR(buf, 64, R11, R11);
  fail(Cond.E);
  m.base = FRAME;
  m.disp = HEADER_TAIL_CALLS;
  aluMI(buf, AluOp.Add, 32, m, 1);
  movRR(buf, 64, RSP, FRAME);
  jmpR(buf, R11);
  for (const at of fails) bindShort(buf, at);
  loadConstant(buf, RAX, -EINVAL, -1);
}
