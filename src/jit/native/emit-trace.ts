// Native bpf_trace_printk: writes one record (layout in trace-ring.ts) into the trace ring and leaves the
// formatting to the control plane. The only parsing done here is finding which of the three arguments
// are %s conversions, so their strings can be copied while they still exist.
//
//   trace_printk(rdi fmt, rsi fmt size, rdx arg1, rcx arg2, r8 arg3) -> rax 0, or -EINVAL for a format
//   without a NUL in its size, or -ENOSPC when the ring is full (or there is no ring).
// The kernel returns the formatted length instead of 0; producing it would mean formatting natively.

import { Errno } from "../../maps/errno.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import type { Label } from "./asm.js";
import { emitCpu, Sys, type EmitContext } from "./emit-context.js";
import { NOT_A_STRING, TRACE_STRING_MAX, TraceRecordLayout as R } from "./trace-ring.js";

const SAVED = [RBX, RBP, R12, R13, R14, R15];
const L = { fmt: 0, fmtLength: 8, args: 16, stringLengths: 40, sample: 64, strings: 72 } as const;
const STRING_SLOT = TRACE_STRING_MAX + 1;
/** Locals, sized so that rsp is 16-byte aligned inside (entry rsp is 8 mod 16, plus six pushes). */
const FRAME = Math.ceil((L.strings + 3 * STRING_SLOT) / 16) * 16 + 8;
const CLOCK_MONOTONIC = 1;
const PR_GET_NAME = 16;

/** Advances rcx (index into the format at rbx, length r12) while `test` does not jump to its `no`. */
function skipWhile(a: Asm, test: (byte: number, no: Label) => void): void {
  const loop = a.label();
  const done = a.label();
  a.bind(loop);
  a.cmp(RCX, R12);
  a.j(Cond.AE, done);
  a.ld(8, RAX, M(RBX, 0, RCX));
  test(RAX, done);
  a.addi(RCX, 1);
  a.jmp(loop);
  a.bind(done);
}

export function emitTracePrintk(ctx: EmitContext): void {
  const a = ctx.a;
  a.fn("trace_printk");
  const invalid = a.label();
  const noRoom = a.label();
  const out = a.label();
  for (const reg of SAVED) a.push(reg);
  a.subi(RSP, FRAME);
  a.st(64, M(RSP, L.args), RDX);
  a.st(64, M(RSP, L.args + 8), RCX);
  a.st(64, M(RSP, L.args + 16), R8);
  a.mov(RBX, RDI);

  // The format's length: it must hold a NUL within its size (the verifier's const-string rule).
  {
    const scan = a.label();
    const found = a.label();
    a.li(R12, 0);
    a.bind(scan);
    a.cmp(R12, RSI);
    a.j(Cond.AE, invalid);
    a.cmpMemImm(M(RBX, 0, R12), 0, 8);
    a.j(Cond.E, found);
    a.addi(R12, 1);
    a.jmp(scan);
    a.bind(found);
  }

  // Which of the first three conversions are %s: bit k of r13.
  {
    const loop = a.label();
    const done = a.label();
    const next = a.label();
    a.li(R13, 0); // string mask
    a.li(R14, 0); // conversions seen
    a.li(RCX, 0);
    a.bind(loop);
    a.cmp(RCX, R12);
    a.j(Cond.AE, done);
    a.ld(8, RAX, M(RBX, 0, RCX));
    a.addi(RCX, 1);
    a.cmpi(RAX, 0x25, 32); // '%'
    a.j(Cond.NE, loop);
    a.cmp(RCX, R12);
    a.j(Cond.AE, done);
    a.cmpMemImm(M(RBX, 0, RCX), 0x25, 8);
    const notPercent = a.label();
    a.j(Cond.NE, notPercent);
    a.addi(RCX, 1);
    a.jmp(loop);
    a.bind(notPercent);
    skipWhile(a, (byte, no) => {
      const yes = a.label();
      for (const flag of [0x30, 0x2b, 0x2d, 0x20]) {
        a.cmpi(byte, flag, 32);
        a.j(Cond.E, yes);
      }
      a.jmp(no);
      a.bind(yes);
    });
    skipWhile(a, (byte, no) => {
      a.lea(RDX, M(byte, -0x30));
      a.cmpi(RDX, 9, 32);
      a.j(Cond.A, no);
    });
    skipWhile(a, (byte, no) => {
      a.cmpi(byte, 0x6c, 32); // 'l'
      a.j(Cond.NE, no);
    });
    a.cmp(RCX, R12);
    a.j(Cond.AE, done);
    a.cmpMemImm(M(RBX, 0, RCX), 0x73, 8); // 's'
    a.j(Cond.NE, next);
    a.push(RCX);
    a.mov(RCX, R14, 32);
    a.li(RDX, 1);
    a.shlCl(RDX);
    a.or(R13, RDX);
    a.pop(RCX);
    a.bind(next);
    a.addi(RCX, 1);
    a.addi(R14, 1);
    a.cmpi(R14, 3);
    a.j(Cond.B, loop);
    a.bind(done);
  }

  // Copy each %s argument (a failed read gives an empty string); r15 = total string bytes.
  a.li(R15, 0);
  for (let k = 0; k < 3; k++) {
    const notString = a.label();
    const lengthKnown = a.label();
    a.sti(64, M(RSP, L.stringLengths + 8 * k), NOT_A_STRING);
    a.testi(R13, 1 << k, 32);
    a.j(Cond.E, notString);
    a.lea(RDI, M(RSP, L.strings + STRING_SLOT * k));
    a.ld(64, RSI, M(RSP, L.args + 8 * k));
    a.li(RDX, STRING_SLOT);
    a.callFn("read_string");
    a.subi(RAX, 1); // the length without the NUL
    a.j(Cond.GE, lengthKnown);
    a.li(RAX, 0);
    a.bind(lengthKnown);
    a.st(64, M(RSP, L.stringLengths + 8 * k), RAX);
    a.add(R15, RAX);
    a.bind(notString);
  }

  // Reserve the record.
  if (ctx.traceRing === undefined) {
    a.jmp(noRoom);
  } else {
    a.li(RDI, ctx.traceRing);
    a.lea(RSI, M(R12, R.bytes, R15));
    a.li(RDX, 0);
    a.callFn("ringbuf_reserve");
    a.test(RAX, RAX);
    a.j(Cond.E, noRoom);
    a.mov(RBP, RAX);
    a.li(RDI, CLOCK_MONOTONIC);
    a.callFn("clock_ns");
    a.st(64, M(RBP, R.timestamp), RAX);
    a.callFn("current_tgid");
    a.st(32, M(RBP, R.tgid), RAX);
    if (ctx.tidOffset !== undefined) {
      a.movFromFs(32, RAX, ctx.tidOffset);
    } else {
      a.li(RAX, Sys.gettid);
      a.syscall();
    }
    a.st(32, M(RBP, R.tid), RAX);
    emitCpu(ctx, RAX);
    a.st(32, M(RBP, R.cpu), RAX);
    a.st(16, M(RBP, R.formatLength), R12);
    for (let k = 0; k < 3; k++) {
      a.ld(64, RAX, M(RSP, L.stringLengths + 8 * k));
      a.st(16, M(RBP, R.stringLengths + 2 * k), RAX);
      a.ld(64, RAX, M(RSP, L.args + 8 * k));
      a.st(64, M(RBP, R.args + 8 * k), RAX);
    }
    a.sti(32, M(RBP, R.stringLengths + 6), 0);
    a.li(RAX, Sys.prctl);
    a.li(RDI, PR_GET_NAME);
    a.lea(RSI, M(RBP, R.comm));
    a.syscall();
    a.lea(RDI, M(RBP, R.bytes));
    a.mov(RSI, RBX);
    a.mov(RDX, R12);
    a.callFn("copy_bytes");
    a.lea(R9, M(RBP, R.bytes, R12));
    for (let k = 0; k < 3; k++) {
      const skip = a.label();
      a.testi(R13, 1 << k, 32);
      a.j(Cond.E, skip);
      a.ld(64, RDX, M(RSP, L.stringLengths + 8 * k));
      a.mov(RDI, R9);
      a.lea(RSI, M(RSP, L.strings + STRING_SLOT * k));
      a.add(R9, RDX);
      a.callFn("copy_bytes"); // leaves r9 alone
      a.bind(skip);
    }
    a.mov(RDI, RBP);
    a.li(RSI, 0);
    a.callFn("ringbuf_submit");
    a.li(RAX, 0);
  }
  a.bind(out);
  a.addi(RSP, FRAME);
  for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
  a.ret();
  a.bind(invalid);
  a.li(RAX, -Errno.EINVAL);
  a.jmp(out);
  a.bind(noRoom);
  a.li(RAX, -Errno.ENOSPC);
  a.jmp(out);
}
