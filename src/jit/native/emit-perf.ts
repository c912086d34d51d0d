// Native bpf_perf_event_output over src/maps/perf-event-array-map.ts: one PERF_RECORD_SAMPLE (and a
// PERF_RECORD_LOST first after drops) into the ring of the slot the flags pick, under the slot's lock,
// with the same checks and errno values as PerfEventArrayMap.output.
//
//   perf_event_output(rdi ctx, rsi map, rdx flags, rcx data, r8 size) -> rax 0 / -errno

import { Errno } from "../../maps/errno.js";
import { Header } from "../../maps/header.js";
import { PERF_CURRENT_CPU } from "../../maps/map-types.js";
import { PerfHeader, PerfMmapPage, PerfRecordType } from "../../maps/perf-event-array-map.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import { emitCpu, emitCpuSlot, emitLock, emitUnlock, type EmitContext } from "./emit-context.js";

/** Slot records at 0x100 (perf-event-array-map.ts): u32 installed, i32 lock, u64 lost. */
const SLOT = { installed: 0, lock: 4, lost: 8, size: 16 } as const;
const PERF_HEADER_SIZE = 8;
const LOST_RECORD_SIZE = 24;
const MAX_RECORD_SIZE = 0xffff;
const PERF_RECORD_MISC_USER = 2;
const PAGE_SIZE = 4096;
const SAVED = [RBX, RBP, R12, R13, R14, R15];

/** The 8-byte perf_event_header at ring position `pos` (r13 ring data, r14 mask): type, misc, size. */
function putHeader(a: Asm, pos: number, type: number, misc: number, size: number | "r15"): void {
  a.mov(RAX, pos);
  a.and(RAX, R14);
  a.sti(32, M(R13, 0, RAX), type);
  a.sti(16, M(R13, 4, RAX), misc);
  if (size === "r15") a.st(16, M(R13, 6, RAX), R15);
  else a.sti(16, M(R13, 6, RAX), size);
}

export function emitPerfEventOutput(ctx: EmitContext): void {
  const a = ctx.a;
  a.fn("perf_event_output");
  const invalid = a.label();
  const tooBig = a.label();
  const noConsumer = a.label();
  const busy = a.label();
  const noSpace = a.label();
  const out = a.label();
  const indexed = a.label();
  const bytes = a.label();
  const zeros = a.label();
  const zerosDone = a.label();
  a.li(RAX, 0xffffffff);
  a.cmp(RDX, RAX);
  a.j(Cond.A, invalid);
  for (const reg of SAVED) a.push(reg);
  a.subi(RSP, 8);
  a.mov(RBX, RSI); // map
  a.mov(R12, RCX); // data
  a.mov(RBP, R8); // size
  // The slot: the flags' index, or this CPU's for BPF_F_CURRENT_CPU.
  a.mov(R9, RDX, 32);
  a.cmpi(RDX, PERF_CURRENT_CPU | 0, 32);
  a.j(Cond.NE, indexed);
  emitCpu(ctx, R9);
  a.ld(32, R10, M(RBX, Header.ncpus));
  emitCpuSlot(a, R9, R10);
  a.bind(indexed);
  a.cmpm(R9, M(RBX, Header.maxEntries), 32);
  a.j(Cond.AE, tooBig);
  a.mov(R10, R9, 32);
  a.shli(R10, 4, 32);
  a.lea(R10, M(RBX, Header.size, R10)); // the slot record
  a.cmpMemImm(M(R10, SLOT.installed), 0, 32);
  a.j(Cond.E, noConsumer);
  // raw size = round_up(size + 4, 8) - 4; record = header + u32 raw size + raw bytes.
  a.lea(R15, M(RBP, 4 + 7));
  a.andi(R15, -8);
  a.subi(R15, 4);
  a.mov(R11, R15);
  a.addi(R15, PERF_HEADER_SIZE + 4);
  a.li(RAX, MAX_RECORD_SIZE);
  a.cmp(R15, RAX);
  a.j(Cond.A, tooBig);
  a.st(64, M(RSP, 0), R11);
  emitLock(a, R10, SLOT.lock, RCX, busy);
  // r12 data, rbp size, r15 record size, r10 slot, r11 ring page, r13 ring data, r14 data size - 1.
  a.ld(32, R11, M(RBX, PerfHeader.ringStride));
  a.imul(R11, R9);
  a.ld(32, RAX, M(RBX, PerfHeader.ringsOffset));
  a.add(R11, RAX);
  a.add(R11, RBX);
  a.lea(R13, M(R11, PAGE_SIZE));
  a.ld(32, R14, M(RBX, PerfHeader.ringPages));
  a.shli(R14, 12);
  a.subi(R14, 1);
  a.ld(64, R8, M(R11, PerfMmapPage.dataHead));
  a.ld(64, RAX, M(R11, PerfMmapPage.dataTail));
  // free = data size - 1 - (head - tail) must hold the record (and a LOST record before it after drops).
  a.lea(RCX, M(R14, 0));
  a.sub(RCX, R8);
  a.add(RCX, RAX);
  a.mov(RDX, R15);
  const noLost = a.label();
  a.cmpMemImm(M(R10, SLOT.lost), 0);
  a.j(Cond.E, noLost);
  a.addi(RDX, LOST_RECORD_SIZE);
  a.bind(noLost);
  a.cmp(RCX, RDX);
  a.j(Cond.L, noSpace);
  const sample = a.label();
  a.cmpMemImm(M(R10, SLOT.lost), 0);
  a.j(Cond.E, sample);
  putHeader(a, R8, PerfRecordType.LOST, 0, LOST_RECORD_SIZE);
  a.ld(32, RCX, M(R10, SLOT.installed));
  a.lea(RAX, M(R8, 8));
  a.and(RAX, R14);
  a.st(64, M(R13, 0, RAX), RCX);
  a.ld(64, RCX, M(R10, SLOT.lost));
  a.lea(RAX, M(R8, 16));
  a.and(RAX, R14);
  a.st(64, M(R13, 0, RAX), RCX);
  a.addi(R8, LOST_RECORD_SIZE);
  a.sti(64, M(R10, SLOT.lost), 0);
  a.bind(sample);
  putHeader(a, R8, PerfRecordType.SAMPLE, PERF_RECORD_MISC_USER, "r15");
  a.ld(64, RCX, M(RSP, 0));
  a.lea(RAX, M(R8, 8));
  a.and(RAX, R14);
  a.st(32, M(R13, 0, RAX), RCX);
  // The raw bytes, wrapping byte-wise at the end of the ring, then zero padding.
  a.li(RCX, 0);
  a.bind(bytes);
  a.cmp(RCX, RBP);
  a.j(Cond.AE, zeros);
  a.ld(8, RDX, M(R12, 0, RCX));
  a.lea(RAX, M(R8, 12, RCX));
  a.and(RAX, R14);
  a.st(8, M(R13, 0, RAX), RDX);
  a.addi(RCX, 1);
  a.jmp(bytes);
  a.bind(zeros);
  a.ld(64, RDX, M(RSP, 0)); // raw size
  const zeroLoop = a.label();
  a.bind(zeroLoop);
  a.cmp(RCX, RDX);
  a.j(Cond.AE, zerosDone);
  a.lea(RAX, M(R8, 12, RCX));
  a.and(RAX, R14);
  a.sti(8, M(R13, 0, RAX), 0);
  a.addi(RCX, 1);
  a.jmp(zeroLoop);
  a.bind(zerosDone);
  a.add(R8, R15);
  a.st(64, M(R11, PerfMmapPage.dataHead), R8);
  emitUnlock(a, R10, SLOT.lock);
  a.li(RAX, 0);
  a.bind(out);
  a.addi(RSP, 8);
  for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
  a.ret();
  a.bind(noSpace);
  a.opMemImm(0, M(R10, SLOT.lost), 1); // AluOp.Add: one more record dropped
  emitUnlock(a, R10, SLOT.lock);
  a.li(RAX, -Errno.ENOSPC);
  a.jmp(out);
  a.bind(busy);
  a.li(RAX, -Errno.EBUSY);
  a.jmp(out);
  a.bind(noConsumer);
  a.li(RAX, -Errno.ENOENT);
  a.jmp(out);
  a.bind(tooBig);
  a.li(RAX, -Errno.E2BIG);
  a.jmp(out);
  a.bind(invalid);
  a.li(RAX, -Errno.EINVAL);
  a.ret();
}
