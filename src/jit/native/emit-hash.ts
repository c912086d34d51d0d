// Native HASH / PERCPU_HASH / LRU_HASH / LRU_PERCPU_HASH element operations over the layout and the
// concurrency contract of src/maps/hash-map.ts: lookups walk a bucket chain without a lock (comparing
// hash, then key, and restarting when the walk ends on another bucket's nulls marker); every chain change
// happens under the bucket's lock word; the free list has its own lock; LRU lists are emit-lru.ts's.
// Results and errno values are those of HashMap.progLookup / progUpdate / progDelete, step for step
// (including the order in which an LRU update takes an element, checks flags and gives elements back).
//
//   hash_lookup(rdi map, rsi key) -> rax value pointer (this CPU's slot for per-CPU maps) or 0
//   hash_update(rdi map, rsi key, rdx value, rcx flags) -> rax 0 or -errno     (emit-hash-update.ts)
//   hash_delete(rdi map, rsi key) -> rax 0 or -errno
//   hash_evict(rdi map, esi element) -> eax 1 if the element was unlinked (the LRU's eviction callback)

import { Errno } from "../../maps/errno.js";
import { HashElement, HashHeader, NULLS_BIT } from "../../maps/hash-map.js";
import { Header } from "../../maps/header.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import { emitCpu, emitCpuSlot, emitLock, emitUnlock, type EmitContext } from "./emit-context.js";
import { BUCKET_FIRST, BUCKET_LOCK, bucketAddress, elementAddress, epilogue, find, hashKey, NO_ELEMENT, prologue, setRef } from "./emit-hash-layout.js";
import { emitHashUpdate } from "./emit-hash-update.js";

export function emitHashOperations(ctx: EmitContext): void {
  const a = ctx.a;
  emitFind(a);
  emitUnlink(a);
  emitWriteValue(ctx, false);
  emitWriteValue(ctx, true);
  emitFreeList(a);
  emitLookup(ctx);
  emitHashUpdate(ctx);
  emitDelete(a);
  emitEvict(a);
}

/**
 * hash_find(r11 map, rdi key, eax hash) -> rdx element address or 0, r8d its index. Preserves rax, rdi,
 * r11 and rbx..r15; clobbers rcx, rsi, r9, r10.
 */
function emitFind(a: Asm): void {
  a.fn("hash_find");
  const restart = a.label();
  const walk = a.label();
  const next = a.label();
  const end = a.label();
  const found = a.label();
  const notFour = a.label();
  const generic = a.label();
  bucketAddress(a, R9, R11, RAX, RCX);
  a.ld(32, RSI, M(R11, Header.keySize));
  a.bind(restart);
  a.ld(32, R8, M(R9, BUCKET_FIRST));
  a.bind(walk);
  a.test(R8, R8, 32);
  a.j(Cond.S, end); // the nulls bit is the sign bit
  elementAddress(a, RDX, R11, R8, R10);
  a.cmpm(RAX, M(RDX, HashElement.hash), 32);
  a.j(Cond.NE, next);
  a.ld(32, R10, M(R11, HashHeader.keyOffset));
  a.add(R10, RDX);
  a.cmpi(RSI, 4, 32);
  a.j(Cond.NE, notFour);
  a.ld(32, RCX, M(RDI));
  a.cmpm(RCX, M(R10), 32);
  a.j(Cond.E, found);
  a.jmp(next);
  a.bind(notFour);
  a.cmpi(RSI, 8, 32);
  a.j(Cond.NE, generic);
  a.ld(64, RCX, M(RDI));
  a.cmpm(RCX, M(R10));
  a.j(Cond.E, found);
  a.bind(next);
  a.ld(32, R8, M(RDX, HashElement.next));
  a.jmp(walk);
  a.bind(generic);
  for (const reg of [RAX, RDI, RDX, RSI, R8, R9]) a.push(reg);
  a.mov(RDX, RSI);
  a.mov(RSI, R10);
  a.callFn("equal_bytes");
  for (const reg of [R9, R8, RSI, RDX, RDI, RAX]) a.pop(reg); // pops leave the flags alone
  a.j(Cond.E, found);
  a.jmp(next);
  a.bind(end);
  // A walk that ends on another bucket's marker followed an element that moved: start over.
  a.ld(32, RCX, M(R11, HashHeader.buckets));
  a.subi(RCX, 1, 32);
  a.and(RCX, RAX, 32);
  a.ori(RCX, NULLS_BIT | 0, 32);
  a.cmp(R8, RCX, 32);
  a.j(Cond.NE, restart);
  a.li(RDX, 0);
  a.bind(found);
  a.ret();
}

/**
 * hash_unlink(rbx map, rbp bucket record, esi element index) -> eax 1 if it was in the chain and is now
 * unlinked, else 0. Clobbers rcx, rdx, r8, r9.
 */
function emitUnlink(a: Asm): void {
  a.fn("hash_unlink");
  const walk = a.label();
  const advance = a.label();
  const absent = a.label();
  const notFirst = a.label();
  a.ld(32, RAX, M(RBP, BUCKET_FIRST));
  a.cmp(RAX, RSI, 32);
  a.j(Cond.NE, notFirst);
  elementAddress(a, RDX, RBX, RSI, RCX);
  a.ld(32, RCX, M(RDX, HashElement.next));
  a.st(32, M(RBP, BUCKET_FIRST), RCX);
  a.li(RAX, 1);
  a.ret();
  a.bind(notFirst);
  a.bind(walk);
  a.test(RAX, RAX, 32);
  a.j(Cond.S, absent);
  elementAddress(a, RDX, RBX, RAX, RCX);
  a.ld(32, RCX, M(RDX, HashElement.next));
  a.cmp(RCX, RSI, 32);
  a.j(Cond.NE, advance);
  elementAddress(a, R8, RBX, RSI, R9);
  a.ld(32, R9, M(R8, HashElement.next));
  a.st(32, M(RDX, HashElement.next), R9);
  a.li(RAX, 1);
  a.ret();
  a.bind(advance);
  a.mov(RAX, RCX, 32);
  a.jmp(walk);
  a.bind(absent);
  a.li(RAX, 0);
  a.ret();
}

/**
 * hash_write_value / hash_write_fresh_value(rbx map, r9 element, r13 value): the program's value into the
 * element, for per-CPU maps into this CPU's slot (a fresh element's other slots become zero, as
 * pcpu_init_value does). Preserves r9..r15, rbx, rbp; clobbers rax, rcx, rdx, rsi, rdi, r8.
 */
function emitWriteValue(ctx: EmitContext, fresh: boolean): void {
  const a = ctx.a;
  a.fn(fresh ? "hash_write_fresh_value" : "hash_write_value");
  const percpu = a.label();
  a.ld(32, RAX, M(RBX, HashHeader.valueOffset));
  a.lea(RDI, M(R9, 0, RAX));
  a.ld(32, RCX, M(RBX, HashHeader.valueSlots));
  a.cmpi(RCX, 1, 32);
  a.j(Cond.NE, percpu);
  a.mov(RSI, R13);
  a.ld(32, RDX, M(RBX, Header.valueSize));
  a.jmpFn("copy_bytes");
  a.bind(percpu);
  if (fresh) {
    a.ld(32, RDX, M(RBX, Header.valueStride));
    a.imul(RDX, RCX);
    a.callFn("zero_bytes");
  }
  emitCpu(ctx, R8);
  a.ld(32, RCX, M(RBX, Header.ncpus));
  emitCpuSlot(a, R8, RCX);
  a.ld(32, RDI, M(RBX, Header.valueStride));
  a.imul(RDI, R8);
  a.ld(32, RAX, M(RBX, HashHeader.valueOffset));
  a.add(RDI, RAX);
  a.add(RDI, R9);
  a.mov(RSI, R13);
  a.ld(32, RDX, M(RBX, Header.valueSize));
  a.jmpFn("copy_bytes");
}

/** hash_pop_free(rbx map) -> eax element or NO_ELEMENT; hash_push_free(rbx map, esi element). */
function emitFreeList(a: Asm): void {
  a.fn("hash_pop_free");
  {
    const busy = a.label();
    const empty = a.label();
    emitLock(a, RBX, HashHeader.freeLock, RCX, busy);
    a.ld(32, RAX, M(RBX, HashHeader.freeHead));
    a.cmpi(RAX, NO_ELEMENT, 32);
    a.j(Cond.E, empty);
    elementAddress(a, RDX, RBX, RAX, RCX);
    a.ld(32, RCX, M(RDX, HashElement.freeNext));
    a.st(32, M(RBX, HashHeader.freeHead), RCX);
    a.bind(empty);
    emitUnlock(a, RBX, HashHeader.freeLock);
    a.ret();
    a.bind(busy);
    a.li(RAX, NO_ELEMENT & 0xffffffff);
    a.ret();
  }
  a.fn("hash_push_free");
  {
    const busy = a.label();
    a.mov(R8, RSI, 32);
    emitLock(a, RBX, HashHeader.freeLock, RCX, busy);
    elementAddress(a, RDX, RBX, R8, RCX);
    a.ld(32, RCX, M(RBX, HashHeader.freeHead));
    a.st(32, M(RDX, HashElement.freeNext), RCX);
    a.st(32, M(RBX, HashHeader.freeHead), R8);
    emitUnlock(a, RBX, HashHeader.freeLock);
    a.bind(busy); // the TS side drops the element too when the lock cannot be had
    a.ret();
  }
}

function emitLookup(ctx: EmitContext): void {
  const a = ctx.a;
  a.fn("hash_lookup");
  const missing = a.label();
  const noRef = a.label();
  const percpu = a.label();
  a.mov(R11, RDI);
  a.mov(RDI, RSI);
  a.ld(32, RSI, M(R11, Header.keySize));
  a.ld(32, RDX, M(R11, Header.seed));
  a.callFn("jhash");
  a.callFn("hash_find");
  a.test(RDX, RDX);
  a.j(Cond.E, missing);
  a.cmpMemImm(M(R11, HashHeader.lruOffset), 0, 32);
  a.j(Cond.E, noRef);
  setRef(a, RDX);
  a.bind(noRef);
  a.ld(32, RAX, M(R11, HashHeader.valueOffset));
  a.add(RAX, RDX);
  a.cmpMemImm(M(R11, HashHeader.valueSlots), 1, 32);
  a.j(Cond.NE, percpu);
  a.ret();
  a.bind(percpu);
  a.mov(R10, RAX);
  emitCpu(ctx, R8);
  a.ld(32, R9, M(R11, Header.ncpus));
  emitCpuSlot(a, R8, R9);
  a.ld(32, RAX, M(R11, Header.valueStride));
  a.imul(RAX, R8);
  a.add(RAX, R10);
  a.ret();
  a.bind(missing);
  a.li(RAX, 0);
  a.ret();
}

function emitDelete(a: Asm): void {
  a.fn("hash_delete");
  const out = a.label();
  const busy = a.label();
  const missing = a.label();
  const lruFree = a.label();
  const freed = a.label();
  prologue(a);
  a.mov(RBX, RDI);
  a.mov(R12, RSI);
  hashKey(a);
  bucketAddress(a, RBP, RBX, R15, RCX);
  emitLock(a, RBP, BUCKET_LOCK, RCX, busy);
  find(a);
  a.test(RDX, RDX);
  a.j(Cond.E, missing);
  a.mov(R14, R8, 32);
  a.mov(RSI, R14, 32);
  a.callFn("hash_unlink");
  a.li(RAX, -1);
  a.lockAdd(M(RBX, Header.count), RAX, 32);
  emitUnlock(a, RBP, BUCKET_LOCK);
  a.mov(RSI, R14, 32);
  a.cmpMemImm(M(RBX, HashHeader.lruOffset), 0, 32);
  a.j(Cond.NE, lruFree);
  a.callFn("hash_push_free");
  a.jmp(freed);
  a.bind(lruFree);
  a.mov(RDI, RBX);
  a.callFn("lru_push_free");
  a.bind(freed);
  a.li(RAX, 0);
  a.jmp(out);
  a.bind(missing);
  emitUnlock(a, RBP, BUCKET_LOCK);
  a.li(RAX, -Errno.ENOENT);
  a.jmp(out);
  a.bind(busy);
  a.li(RAX, -Errno.EBUSY);
  a.bind(out);
  epilogue(a);
}

/** htab_lru_map_delete_node: unlinks an element the LRU wants to reuse, if it is still in its bucket. */
function emitEvict(a: Asm): void {
  a.fn("hash_evict");
  const busy = a.label();
  const kept = a.label();
  a.push(RBX);
  a.push(RBP);
  a.push(R12);
  a.mov(RBX, RDI);
  a.mov(R12, RSI, 32);
  elementAddress(a, RAX, RBX, R12, RCX);
  a.ld(32, RAX, M(RAX, HashElement.hash));
  bucketAddress(a, RBP, RBX, RAX, RCX);
  emitLock(a, RBP, BUCKET_LOCK, RCX, busy);
  a.mov(RSI, R12, 32);
  a.callFn("hash_unlink");
  a.test(RAX, RAX, 32);
  a.j(Cond.E, kept);
  a.li(RCX, -1);
  a.lockAdd(M(RBX, Header.count), RCX, 32);
  a.bind(kept);
  emitUnlock(a, RBP, BUCKET_LOCK);
  a.pop(R12);
  a.pop(RBP);
  a.pop(RBX);
  a.ret();
  a.bind(busy);
  a.li(RAX, 0);
  a.pop(R12);
  a.pop(RBP);
  a.pop(RBX);
  a.ret();
}

