// The loop that calls every program attached to a hook, reading the current program table through its slot.

import { Invocation } from "./frame-layout.js";
import { emitRestoreVectors, emitSaveVectors } from "./register-frame.js";
import { PROGRAM_TABLE_ENTRY_SIZE, PROGRAM_TABLE_HEADER_SIZE } from "./program-table.js";
import { Cond, mem, Reg, rip, type X64Writer } from "../emit/x64-writer.js";

/** mov dst, [address]: RIP-relative when it reaches, else through the register itself. */
export function emitLoadFrom(w: X64Writer, dst: Reg, address: bigint): void {
  if (w.reaches(address)) w.load(dst, rip(address));
  else {
    w.movImm(dst, address);
    w.load(dst, mem(dst, 0));
  }
}

/**
 * Calls table[i].entry(ctx) for each program of the table whose address is stored at `tableSlot`, with the
 * program's cookie in the invocation record. Expects ctx in rbx and rsp 16-byte aligned; uses r12/r13
 * (callee-saved, so they survive the calls; their original values are in pt_regs). Vector registers are
 * saved only when there is something to call.
 */
export function emitProgramCalls(w: X64Writer, tableSlot: bigint, vectorCount: number): void {
  const done = w.label();
  emitLoadFrom(w, Reg.r12, tableSlot);
  w.test(Reg.r12, Reg.r12);
  w.jcc(Cond.e, done);
  w.load(Reg.r13, mem(Reg.r12, 0));
  w.test(Reg.r13, Reg.r13);
  w.jcc(Cond.e, done);
  // The System V ABI wants DF clear at a call; the interrupted code may have had it set.
  w.cld();
  emitSaveVectors(w, vectorCount);
  w.shl(Reg.r13, Math.log2(PROGRAM_TABLE_ENTRY_SIZE));
  w.lea(Reg.r13, mem(Reg.r12, PROGRAM_TABLE_HEADER_SIZE, Reg.r13));
  w.aluImm("add", Reg.r12, PROGRAM_TABLE_HEADER_SIZE);
  const loop = w.here();
  w.load(Reg.rax, mem(Reg.r12, 8));
  w.store(mem(Reg.rbx, Invocation.cookie), Reg.rax);
  w.mov(Reg.rdi, Reg.rbx);
  w.call(mem(Reg.r12, 0));
  w.aluImm("add", Reg.r12, PROGRAM_TABLE_ENTRY_SIZE);
  w.alu("cmp", Reg.r12, Reg.r13);
  w.jcc(Cond.b, loop);
  emitRestoreVectors(w, vectorCount);
  w.bind(done);
}
