// Native QUEUE / STACK push, pop and peek (src/maps/queue-stack-map.ts: a ring of max_entries + 1 slots
// under one lock) and BLOOM_FILTER push and peek (src/maps/bloom-filter-map.ts: k jhash bits, set with an
// atomic OR and no lock), with the TypeScript side's results.
//
//   queue_push(rdi map, rsi value, rdx flags) -> rax 0 or -errno
//   queue_pop / queue_peek(rdi map, rsi out) -> rax 0 or -errno (out zeroed when empty)
//   bloom_push(rdi map, rsi value, rdx flags), bloom_peek(rdi map, rsi value) -> rax 0 or -errno

import { BloomHeader } from "../../maps/bloom-filter-map.js";
import { Errno } from "../../maps/errno.js";
import { Header } from "../../maps/header.js";
import { MapType, UpdateFlag } from "../../maps/map-types.js";
import { QueueHeader } from "../../maps/queue-stack-map.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R8, R9, RAX, RBX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { AluOp, M, type Asm } from "./asm.js";
import { emitLock, emitUnlock } from "./emit-context.js";

/** dst = index + 1, wrapped to 0 at `slots` (a register). */
function nextSlot(a: Asm, dst: number, index: number, slots: number): void {
  const fits = a.label();
  a.lea(dst, M(index, 1));
  a.cmp(dst, slots, 32);
  a.j(Cond.B, fits);
  a.li(dst, 0);
  a.bind(fits);
}

/** r10 = address of slot `slot` (a zero-extended register) of the queue at rdi. */
function slotAddress(a: Asm, slot: number): void {
  a.ld(32, R10, M(RDI, Header.valueStride));
  a.imul(R10, slot);
  a.lea(R10, M(R10, Header.size, RDI));
}

export function emitQueueStack(a: Asm): void {
  a.fn("queue_push");
  {
    const invalid = a.label();
    const busy = a.label();
    const room = a.label();
    const full = a.label();
    a.testi(RDX, UpdateFlag.NOEXIST, 32);
    a.j(Cond.NE, invalid);
    a.cmpi(RDX, UpdateFlag.EXIST);
    a.j(Cond.A, invalid);
    a.mov(R11, RDX);
    emitLock(a, RDI, QueueHeader.lock, RCX, busy);
    a.ld(32, R8, M(RDI, QueueHeader.head));
    a.ld(32, R9, M(RDI, QueueHeader.size));
    nextSlot(a, RCX, R8, R9);
    a.cmpm(RCX, M(RDI, QueueHeader.tail), 32);
    a.j(Cond.NE, room);
    a.testi(R11, UpdateFlag.EXIST, 32);
    a.j(Cond.E, full);
    // Full and told to overwrite: drop the oldest element.
    a.ld(32, RAX, M(RDI, QueueHeader.tail));
    nextSlot(a, RDX, RAX, R9);
    a.st(32, M(RDI, QueueHeader.tail), RDX);
    a.li(RAX, -1);
    a.lockAdd(M(RDI, Header.count), RAX, 32);
    a.bind(room);
    a.push(RDI);
    a.push(RCX);
    slotAddress(a, R8);
    a.ld(32, RDX, M(RDI, Header.valueSize));
    a.mov(RDI, R10);
    a.callFn("copy_bytes");
    a.pop(RCX);
    a.pop(RDI);
    a.st(32, M(RDI, QueueHeader.head), RCX);
    a.li(RAX, 1);
    a.lockAdd(M(RDI, Header.count), RAX, 32);
    emitUnlock(a, RDI, QueueHeader.lock);
    a.li(RAX, 0);
    a.ret();
    a.bind(full);
    emitUnlock(a, RDI, QueueHeader.lock);
    a.li(RAX, -Errno.E2BIG);
    a.ret();
    a.bind(invalid);
    a.li(RAX, -Errno.EINVAL);
    a.ret();
    a.bind(busy);
    a.li(RAX, -Errno.EBUSY);
    a.ret();
  }

  for (const remove of [true, false]) {
    a.fn(remove ? "queue_pop" : "queue_peek");
    const busy = a.label();
    const empty = a.label();
    const queue = a.label();
    const chosen = a.label();
    const notZero = a.label();
    a.mov(R11, RSI);
    emitLock(a, RDI, QueueHeader.lock, RCX, busy);
    a.ld(32, R8, M(RDI, QueueHeader.head));
    a.ld(32, R9, M(RDI, QueueHeader.tail));
    a.cmp(R8, R9, 32);
    a.j(Cond.E, empty);
    a.cmpMemImm(M(RDI, Header.type), MapType.STACK, 32);
    a.j(Cond.NE, queue);
    // A stack takes the newest element, at head - 1.
    a.lea(RCX, M(R8, -1));
    a.test(R8, R8, 32);
    a.j(Cond.NE, notZero);
    a.ld(32, RCX, M(RDI, QueueHeader.size));
    a.subi(RCX, 1, 32);
    a.bind(notZero);
    if (remove) a.st(32, M(RDI, QueueHeader.head), RCX);
    a.jmp(chosen);
    a.bind(queue);
    a.mov(RCX, R9, 32);
    if (remove) {
      a.ld(32, RDX, M(RDI, QueueHeader.size));
      nextSlot(a, RAX, R9, RDX);
      a.st(32, M(RDI, QueueHeader.tail), RAX);
    }
    a.bind(chosen);
    slotAddress(a, RCX);
    a.push(RDI);
    a.ld(32, RDX, M(RDI, Header.valueSize));
    a.mov(RDI, R11);
    a.mov(RSI, R10);
    a.callFn("copy_bytes");
    a.pop(RDI);
    if (remove) {
      a.li(RAX, -1);
      a.lockAdd(M(RDI, Header.count), RAX, 32);
    }
    emitUnlock(a, RDI, QueueHeader.lock);
    a.li(RAX, 0);
    a.ret();
    a.bind(empty);
    // The kernel zeroes the caller's buffer when there is nothing to return.
    a.push(RDI);
    a.ld(32, RDX, M(RDI, Header.valueSize));
    a.mov(RDI, R11);
    a.callFn("zero_bytes");
    a.pop(RDI);
    emitUnlock(a, RDI, QueueHeader.lock);
    a.li(RAX, -Errno.ENOENT);
    a.ret();
    a.bind(busy);
    a.li(RAX, -Errno.EBUSY);
    a.ret();
  }
}

export function emitBloomFilter(a: Asm): void {
  for (const push of [true, false]) {
    a.fn(push ? "bloom_push" : "bloom_peek");
    const loop = a.label();
    const done = a.label();
    const absent = a.label();
    const invalid = a.label();
    if (push) {
      a.test(RDX, RDX);
      a.j(Cond.NE, invalid);
    }
    a.push(RBX);
    a.push(R12);
    a.push(R13);
    a.push(R14);
    a.mov(RBX, RDI);
    a.mov(R12, RSI);
    a.li(R13, 0); // i
    a.bind(loop);
    a.cmpm(R13, M(RBX, BloomHeader.hashFunctions), 32);
    a.j(Cond.AE, done);
    a.mov(RDI, R12);
    a.ld(32, RSI, M(RBX, Header.valueSize));
    a.ld(32, RDX, M(RBX, Header.seed));
    a.add(RDX, R13, 32);
    a.callFn("jhash");
    a.opm(AluOp.And, RAX, M(RBX, BloomHeader.bitMask), 32);
    a.mov(RCX, RAX, 32);
    a.mov(R14, RAX, 32);
    a.shri(R14, 5, 32);
    a.li(RDX, 1);
    a.shlCl(RDX, 32); // 1 << (h & 31): the shift count is masked by the hardware
    if (push) {
      a.lockOr(M(RBX, Header.size, R14, 4), RDX, 32);
    } else {
      a.ld(32, RAX, M(RBX, Header.size, R14, 4));
      a.test(RAX, RDX, 32);
      a.j(Cond.E, absent);
    }
    a.addi(R13, 1, 32);
    a.jmp(loop);
    a.bind(absent);
    a.li(RAX, -Errno.ENOENT);
    const out = a.label();
    a.jmp(out);
    a.bind(done);
    a.li(RAX, 0);
    a.bind(out);
    a.pop(R14);
    a.pop(R13);
    a.pop(R12);
    a.pop(RBX);
    a.ret();
    if (push) {
      a.bind(invalid);
      a.li(RAX, -Errno.EINVAL);
      a.ret();
    } else {
      a.bind(invalid);
    }
  }
}
