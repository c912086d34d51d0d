// Conditional and unconditional jumps. A compare against zero becomes `test r, r` (same flags for every
// condition used here); JSET is a `test` whose result is "not zero". In checked mode every backward jump
// first charges the budget with the length of the loop it closes, so an endless loop ends in a fault.

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { AluOp, aluMI, aluRI, aluRR, testRI, testRR } from "../assembler/arithmetic.js";
import { Cond } from "../assembler/conditions.js";
import { jmpRel32 } from "../assembler/control.js";
import { bindShort, jumpShortForward } from "../assembler/labels.js";
import { movR32I } from "../assembler/moves.js";
import { R10, R9 } from "../assembler/registers.js";
import type { Emitter } from "./emitter.js";
import { OP_MAY_GOTO } from "./call-graph.js";
import { BPF_TO_X64, FaultKind, FRAME, HEADER_BUDGET, HEADER_MAY_GOTO } from "./register-map.js";

const CONDITIONS: Record<number, number | undefined> = {
  [op.BPF_JEQ]: Cond.E,
  [op.BPF_JNE]: Cond.NE,
  [op.BPF_JGT]: Cond.A,
  [op.BPF_JGE]: Cond.AE,
  [op.BPF_JLT]: Cond.B,
  [op.BPF_JLE]: Cond.BE,
  [op.BPF_JSGT]: Cond.G,
  [op.BPF_JSGE]: Cond.GE,
  [op.BPF_JSLT]: Cond.L,
  [op.BPF_JSLE]: Cond.LE,
  [op.BPF_JSET]: Cond.NE,
};

export function emitJump(e: Emitter, ins: Insn, pc: number): void {
  const operation = op.jmpOp(ins.code);
  const isJa = operation === op.BPF_JA;
  const target = pc + 1 + (isJa && op.insnClass(ins.code) === op.BPF_JMP32 ? ins.imm : ins.off);
  if (e.checked && target <= pc) chargeBudget(e, pc - target + 1, pc);
  if (isJa) {
    e.jumpToSlot(-1, pc, target);
    return;
  }
  const buf = e.buf;
  if (ins.code === OP_MAY_GOTO) {
    // Like the kernel: jump once the per-run counter is used up, else count one more fall-through.
    const m = e.m;
    m.base = FRAME;
    m.index = -1;
    m.disp = HEADER_MAY_GOTO;
    aluMI(buf, AluOp.Cmp, 64, m, 0);
    e.jumpToSlot(Cond.E, pc, target);
    aluMI(buf, AluOp.Sub, 64, m, 1);
    return;
  }
  const w = op.insnClass(ins.code) === op.BPF_JMP ? 64 : 32;
  const dst = BPF_TO_X64[ins.dst]!;
  const fromReg = op.srcBit(ins.code) === op.BPF_X;
  if (operation === op.BPF_JSET) {
    if (fromReg) testRR(buf, w, dst, BPF_TO_X64[ins.src]!);
    else testRI(buf, w, dst, ins.imm);
  } else if (fromReg) {
    aluRR(buf, AluOp.Cmp, w, dst, BPF_TO_X64[ins.src]!);
  } else if (ins.imm === 0) {
    testRR(buf, w, dst, dst);
  } else {
    aluRI(buf, AluOp.Cmp, w, dst, ins.imm);
  }
  e.jumpToSlot(CONDITIONS[operation]!, pc, target);
}

function chargeBudget(e: Emitter, instructions: number, pc: number): void {
  const buf = e.buf;
  const m = e.m;
  m.base = FRAME;
  m.index = -1;
  m.disp = HEADER_BUDGET;
  aluMI(buf, AluOp.Sub, 64, m, instructions);
  const ok = jumpShortForward(buf, Cond.AE);
  movR32I(buf, R9, FaultKind.Budget);
  movR32I(buf, R10, pc);
  jmpRel32(buf, e.faultHandler);
  bindShort(buf, ok);
}
