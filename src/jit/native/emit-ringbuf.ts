// Native ring buffer helpers over the kernel-compatible layout of src/maps/ringbuf-map.ts, safe with any
// number of producers (threads or processes) and the TypeScript consumer: positions change only under
// the producer lock; a record is BUSY from reserve to commit, and its commit is an atomic exchange of the
// length word, so a consumer sees either a BUSY record or a finished one. A reserved record is reached
// from its sample pointer alone, as in the kernel: the header's page offset leads back to the region's
// start (regions are page-aligned). Results match RingbufMap and src/helpers/events.ts.
//
//   ringbuf_reserve(rdi map, rsi size, rdx flags) -> rax sample or 0
//   ringbuf_submit / ringbuf_discard(rdi sample, rsi flags) -> rax 0 / -EINVAL
//   ringbuf_output(rdi map, rsi data, rdx size, rcx flags) -> rax 0 / -errno
//   ringbuf_query(rdi map, rsi flags) -> rax

import { Errno } from "../../maps/errno.js";
import { RingbufFlag, RingbufQuery } from "../../maps/map-types.js";
import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ, RingbufLayout } from "../../maps/ringbuf-map.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R8, R9, RAX, RBX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import { emitLock, emitUnlock } from "./emit-context.js";

const MAX_RECORD_SIZE = Math.floor(0xffffffff / 4);
const WAKEUP_FLAGS = RingbufFlag.NO_WAKEUP | RingbufFlag.FORCE_WAKEUP;
const PAGE_SHIFT = 12;

export function emitRingbuf(a: Asm): void {
  a.fn("ringbuf_reserve");
  {
    const none = a.label();
    const busy = a.label();
    const skip = a.label();
    const skipped = a.label();
    const full = a.label();
    a.test(RDX, RDX);
    a.j(Cond.NE, none);
    a.li(RAX, MAX_RECORD_SIZE);
    a.cmp(RSI, RAX);
    a.j(Cond.A, none);
    a.lea(RCX, M(RSI, RINGBUF_HDR_SZ + 7));
    a.andi(RCX, -8);
    a.ld(32, RAX, M(RDI, RingbufLayout.dataSize));
    a.cmp(RCX, RAX);
    a.j(Cond.A, none);
    a.ld(64, R8, M(RDI, RingbufLayout.consumerPos));
    emitLock(a, RDI, RingbufLayout.lock, R9, none);
    a.ld(64, R11, M(RDI, RingbufLayout.pendingPos));
    a.ld(64, RDX, M(RDI, RingbufLayout.producerPos));
    a.ld(32, R10, M(RDI, RingbufLayout.mask));
    // Skip past records committed since the last reserve: the oldest one still BUSY bounds the space.
    a.bind(skip);
    a.cmp(R11, RDX);
    a.j(Cond.AE, skipped);
    a.mov(RAX, R11, 32);
    a.and(RAX, R10, 32);
    a.ld(32, RAX, M(RDI, RingbufLayout.data, RAX));
    a.testi(RAX, RINGBUF_BUSY_BIT | 0, 32);
    a.j(Cond.NE, skipped);
    a.andi(RAX, ~RINGBUF_DISCARD_BIT, 32);
    a.addi(RAX, RINGBUF_HDR_SZ + 7, 32);
    a.andi(RAX, -8, 32);
    a.add(R11, RAX);
    a.jmp(skip);
    a.bind(skipped);
    a.st(64, M(RDI, RingbufLayout.pendingPos), R11);
    a.lea(R9, M(RDX, 0, RCX)); // next = producer + length
    a.mov(RAX, R9);
    a.sub(RAX, R8);
    a.cmp(RAX, R10);
    a.j(Cond.A, full);
    a.mov(RAX, R9);
    a.sub(RAX, R11);
    a.cmp(RAX, R10);
    a.j(Cond.A, full);
    a.mov(RAX, RDX, 32);
    a.and(RAX, R10, 32);
    a.addi(RAX, RingbufLayout.data, 32); // the header's offset in the region
    a.mov(RCX, RAX, 32);
    a.shri(RCX, PAGE_SHIFT, 32);
    a.st(32, M(RDI, 4, RAX), RCX);
    a.ori(RSI, RINGBUF_BUSY_BIT | 0, 32);
    a.st(32, M(RDI, 0, RAX), RSI);
    a.st(64, M(RDI, RingbufLayout.producerPos), R9);
    emitUnlock(a, RDI, RingbufLayout.lock);
    a.lea(RAX, M(RDI, RINGBUF_HDR_SZ, RAX));
    a.ret();
    a.bind(full);
    emitUnlock(a, RDI, RingbufLayout.lock);
    a.bind(busy);
    a.bind(none);
    a.li(RAX, 0);
    a.ret();
  }

  for (const discard of [false, true]) {
    a.fn(discard ? "ringbuf_discard" : "ringbuf_submit");
    const invalid = a.label();
    const contiguous = a.label();
    a.testi(RSI, ~WAKEUP_FLAGS);
    a.j(Cond.NE, invalid);
    a.lea(R8, M(RDI, -RINGBUF_HDR_SZ)); // the record header
    // The region's start: the header's page, minus its page offset (bpf_ringbuf_restore_from_rec).
    a.ld(32, R9, M(R8, 4));
    a.shli(R9, PAGE_SHIFT);
    a.mov(R10, R8);
    a.andi(R10, ~0xfff);
    a.sub(R10, R9);
    // A record that ran past the end of the data was written into the second copy: put its tail where the
    // double mapping would have (see ringbuf-map.ts).
    a.ld(32, R11, M(R8));
    a.mov(RAX, R11, 32);
    a.andi(RAX, ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT), 32);
    a.add(RAX, RDI);
    a.sub(RAX, R10); // end offset of the sample
    a.ld(32, RCX, M(R10, RingbufLayout.dataSize));
    a.addi(RCX, RingbufLayout.data);
    a.cmp(RAX, RCX);
    a.j(Cond.BE, contiguous);
    a.push(R8);
    a.push(R11);
    a.lea(RSI, M(R10, 0, RCX));
    a.sub(RAX, RCX);
    a.mov(RDX, RAX);
    a.lea(RDI, M(R10, RingbufLayout.data));
    a.callFn("copy_bytes");
    a.pop(R11);
    a.pop(R8);
    a.bind(contiguous);
    a.xori(R11, RINGBUF_BUSY_BIT | 0, 32);
    if (discard) a.ori(R11, RINGBUF_DISCARD_BIT, 32);
    a.xchg(M(R8), R11, 32);
    a.li(RAX, 0);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
  }

  a.fn("ringbuf_output");
  {
    const invalid = a.label();
    const noRoom = a.label();
    a.testi(RCX, ~WAKEUP_FLAGS);
    a.j(Cond.NE, invalid);
    a.push(RBX);
    a.push(R12);
    a.push(R13);
    a.mov(R12, RSI);
    a.mov(R13, RDX);
    a.mov(RSI, RDX);
    a.li(RDX, 0);
    a.callFn("ringbuf_reserve");
    a.test(RAX, RAX);
    a.j(Cond.E, noRoom);
    a.mov(RBX, RAX);
    a.mov(RDI, RAX);
    a.mov(RSI, R12);
    a.mov(RDX, R13);
    a.callFn("copy_bytes");
    a.mov(RDI, RBX);
    a.li(RSI, 0);
    a.callFn("ringbuf_submit");
    const out = a.label();
    a.bind(out);
    a.pop(R13);
    a.pop(R12);
    a.pop(RBX);
    a.ret();
    a.bind(noRoom);
    a.li(RAX, -Errno.EAGAIN);
    a.jmp(out);
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
  }

  a.fn("ringbuf_query");
  {
    const cases: [number, () => void][] = [
      [
        RingbufQuery.AVAIL_DATA,
        () => {
          a.ld(64, RAX, M(RDI, RingbufLayout.producerPos));
          a.opm(5, RAX, M(RDI, RingbufLayout.consumerPos)); // AluOp.Sub
        },
      ],
      [RingbufQuery.RING_SIZE, () => a.ld(32, RAX, M(RDI, RingbufLayout.dataSize))],
      [RingbufQuery.CONS_POS, () => a.ld(64, RAX, M(RDI, RingbufLayout.consumerPos))],
      [RingbufQuery.PROD_POS, () => a.ld(64, RAX, M(RDI, RingbufLayout.producerPos))],
    ];
    for (const [selector, read] of cases) {
      const other = a.label();
      a.cmpi(RSI, selector);
      a.j(Cond.NE, other);
      read();
      a.ret();
      a.bind(other);
    }
    a.li(RAX, 0);
    a.ret();
  }
}
