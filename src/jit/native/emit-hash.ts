// Native HASH / PERCPU_HASH / LRU_HASH / LRU_PERCPU_HASH element operations over the layout and the
// concurrency contract of src/maps/hash-map.ts: lookups walk a bucket chain without a lock (comparing
// hash, then key, and restarting when the walk ends on another bucket's nulls marker); every chain change
// happens under the bucket's lock word; the free list has its own lock; LRU lists are emit-lru.ts's.
// Results and errno values are those of HashMap.progLookup / progUpdate / progDelete, step for step
// (including the order in which an LRU update takes an element, checks flags and gives elements back).
//
//   hash_lookup(rdi map, rsi key) -> rax value pointer (this CPU's slot for per-CPU maps) or 0
//   hash_update(rdi map, rsi key, rdx value, rcx flags) -> rax 0 or -errno
//   hash_delete(rdi map, rsi key) -> rax 0 or -errno
//   hash_evict(rdi map, esi element) -> eax 1 if the element was unlinked (the LRU's eviction callback)

import { Errno } from "../../maps/errno.js";
import { HashElement, HashHeader, NULLS_BIT } from "../../maps/hash-map.js";
import { Header } from "../../maps/header.js";
import { LruNode } from "../../maps/lru-list.js";
import { MapType, UpdateFlag } from "../../maps/map-types.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";
import { emitCpu, emitCpuSlot, emitLock, emitUnlock, type EmitContext } from "./emit-context.js";

/** Bucket records (hash-map.ts): i32 lock, u32 first element or nulls marker; 8 bytes each. */
const BUCKET_LOCK = 0;
const BUCKET_FIRST = 4;
/** Each element's LRU node sits at element offset 8 (lru-list.ts). */
const ELEMENT_REF = 8 + LruNode.ref;
const NO_ELEMENT = -1;

const SAVED = [RBX, RBP, R12, R13, R14, R15];
/** Locals of update/delete below the saved registers (keeps rsp 16-byte aligned). */
const LOCALS = 24;
const LOCAL_ELEMENT = 0;
const LOCAL_OLD = 8;
const LOCAL_RESULT = 16;

/** dst = address of element `index` (a zero-extended 32-bit register). */
function elementAddress(a: Asm, dst: number, map: number, index: number, tmp: number): void {
  a.ld(32, dst, M(map, HashHeader.elementSize));
  a.imul(dst, index);
  a.ld(32, tmp, M(map, HashHeader.elementsOffset));
  a.add(dst, tmp);
  a.add(dst, map);
}

/** dst = address of the bucket record of `hash` (uses tmp). */
function bucketAddress(a: Asm, dst: number, map: number, hash: number, tmp: number): void {
  a.ld(32, tmp, M(map, HashHeader.buckets));
  a.subi(tmp, 1, 32);
  a.and(tmp, hash, 32);
  a.ld(32, dst, M(map, HashHeader.bucketsOffset));
  a.add(dst, map);
  a.lea(dst, M(dst, 0, tmp, 8));
}

function prologue(a: Asm): void {
  for (const reg of SAVED) a.push(reg);
  a.subi(RSP, LOCALS);
}

function epilogue(a: Asm): void {
  a.addi(RSP, LOCALS);
  for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
  a.ret();
}

/** r15d = jhash of the key at r12 for the map at rbx. */
function hashKey(a: Asm): void {
  a.mov(RDI, R12);
  a.ld(32, RSI, M(RBX, Header.keySize));
  a.ld(32, RDX, M(RBX, Header.seed));
  a.callFn("jhash");
  a.mov(R15, RAX, 32);
}

/** hash_find on the map at rbx for the key at r12 and hash r15d: rdx = element or 0, r8d = its index. */
function find(a: Asm): void {
  a.mov(R11, RBX);
  a.mov(RDI, R12);
  a.mov(RAX, R15, 32);
  a.callFn("hash_find");
}

/** The element at `element` (an address register) was looked up by a program: set its LRU ref bit. */
function setRef(a: Asm, element: number): void {
  const done = a.label();
  a.cmpMemImm(M(element, ELEMENT_REF), 0, 8);
  a.j(Cond.NE, done);
  a.sti(8, M(element, ELEMENT_REF), 1);
  a.bind(done);
}

/** Links element `index` (a 32-bit register other than rcx/rdx) at the head of the bucket at rbp. */
function linkHead(a: Asm, index: number): void {
  elementAddress(a, RDX, RBX, index, RCX);
  a.ld(32, RCX, M(RBP, BUCKET_FIRST));
  a.st(32, M(RDX, HashElement.next), RCX);
  a.st(32, M(RBP, BUCKET_FIRST), index);
}

/** Writes the hash and the key (at r12) into the element at r9. */
function fillElement(a: Asm): void {
  a.st(32, M(R9, HashElement.hash), R15);
  a.ld(32, RAX, M(RBX, HashHeader.keyOffset));
  a.lea(RDI, M(R9, 0, RAX));
  a.mov(RSI, R12);
  a.ld(32, RDX, M(RBX, Header.keySize));
  a.callFn("copy_bytes");
}

/** The -errno of HashMap.checkFlags in rax when the flags (r14) refuse the update, else falls through. */
function checkFlags(a: Asm, found: boolean, refused: (errno: number) => void): void {
  const fine = a.label();
  a.cmpi(R14, found ? UpdateFlag.NOEXIST : UpdateFlag.EXIST);
  a.j(Cond.NE, fine);
  refused(found ? -Errno.EEXIST : -Errno.ENOENT);
  a.bind(fine);
}

export function emitHashOperations(ctx: EmitContext): void {
  const a = ctx.a;
  emitFind(a);
  emitUnlink(a);
  emitWriteValue(ctx, false);
  emitWriteValue(ctx, true);
  emitFreeList(a);
  emitLookup(ctx);
  emitUpdate(ctx);
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

function emitUpdate(ctx: EmitContext): void {
  const a = ctx.a;
  a.fn("hash_update");
  const invalid = a.label();
  const out = a.label();
  const busy = a.label();
  const lru = a.label();
  a.cmpi(RCX, UpdateFlag.EXIST);
  a.j(Cond.A, invalid); // BPF_F_LOCK and unknown flags: no value here holds a spin lock
  prologue(a);
  a.mov(RBX, RDI);
  a.mov(R12, RSI);
  a.mov(R13, RDX);
  a.mov(R14, RCX);
  hashKey(a);
  a.cmpMemImm(M(RBX, HashHeader.lruOffset), 0, 32);
  a.j(Cond.NE, lru);

  // ---- HASH, PERCPU_HASH ----
  {
    const absent = a.label();
    const unlockOk = a.label();
    const unlockWith = a.label();
    bucketAddress(a, RBP, RBX, R15, RCX);
    emitLock(a, RBP, BUCKET_LOCK, RCX, busy);
    find(a);
    a.test(RDX, RDX);
    a.j(Cond.E, absent);
    const refusedUnlock = (errno: number): void => {
      a.li(RAX, errno);
      a.jmp(unlockWith);
    };
    checkFlags(a, true, refusedUnlock);
    a.mov(R9, RDX);
    a.mov(R14, R8, 32);
    a.callFn("hash_write_value");
    // Replacing a HASH value moves its element to the bucket head, as the kernel's element swap does.
    a.cmpMemImm(M(RBX, Header.type), MapType.HASH, 32);
    a.j(Cond.NE, unlockOk);
    a.cmpm(R14, M(RBP, BUCKET_FIRST), 32);
    a.j(Cond.E, unlockOk);
    a.mov(RSI, R14, 32);
    a.callFn("hash_unlink");
    linkHead(a, R14);
    a.jmp(unlockOk);

    a.bind(absent);
    checkFlags(a, false, refusedUnlock);
    a.callFn("hash_pop_free");
    a.cmpi(RAX, NO_ELEMENT, 32);
    const full = a.label();
    a.j(Cond.E, full);
    a.mov(R14, RAX, 32);
    elementAddress(a, R9, RBX, R14, RCX);
    fillElement(a);
    a.callFn("hash_write_fresh_value");
    linkHead(a, R14);
    a.li(RAX, 1);
    a.lockAdd(M(RBX, Header.count), RAX, 32);
    a.bind(unlockOk);
    a.li(RAX, 0);
    a.bind(unlockWith);
    emitUnlock(a, RBP, BUCKET_LOCK);
    a.jmp(out);
    a.bind(full);
    a.li(RAX, -Errno.E2BIG);
    a.jmp(unlockWith);
  }

  // ---- LRU_HASH, LRU_PERCPU_HASH ----
  a.bind(lru);
  {
    const percpu = a.label();
    const noMemory = a.label();
    // r13 keeps the value; the CPU slot goes to the LRU, which keeps its local lists per CPU.
    emitCpu(ctx, RSI);
    a.ld(32, RCX, M(RBX, Header.ncpus));
    emitCpuSlot(a, RSI, RCX);
    a.cmpMemImm(M(RBX, HashHeader.valueSlots), 1, 32);
    a.j(Cond.NE, percpu);

    // htab_lru_map_update_elem: take an element first, fill it, then check the flags under the lock.
    {
      const giveBackBusy = a.label();
      const refused = a.label();
      const absent = a.label();
      const unlocked = a.label();
      a.mov(RDI, RBX);
      a.mov(RDX, R15, 32);
      a.callFn("lru_pop_free");
      a.cmpi(RAX, NO_ELEMENT, 32);
      a.j(Cond.E, noMemory);
      a.st(64, M(RSP, LOCAL_ELEMENT), RAX);
      elementAddress(a, R9, RBX, RAX, RCX);
      fillElement(a);
      a.callFn("hash_write_fresh_value");
      bucketAddress(a, RBP, RBX, R15, RCX);
      emitLock(a, RBP, BUCKET_LOCK, RCX, giveBackBusy);
      find(a);
      a.st(64, M(RSP, LOCAL_OLD), R8);
      a.test(RDX, RDX);
      a.j(Cond.E, absent);
      checkFlags(a, true, (errno) => {
        a.li(RAX, errno);
        a.jmp(refused);
      });
      a.ld(64, RAX, M(RSP, LOCAL_ELEMENT));
      linkHead(a, RAX);
      a.ld(64, RAX, M(RSP, LOCAL_ELEMENT));
      elementAddress(a, R9, RBX, RAX, RCX);
      setRef(a, R9);
      a.ld(64, RSI, M(RSP, LOCAL_OLD));
      a.callFn("hash_unlink");
      emitUnlock(a, RBP, BUCKET_LOCK);
      a.mov(RDI, RBX);
      a.ld(64, RSI, M(RSP, LOCAL_OLD));
      a.callFn("lru_push_free");
      a.li(RAX, 0);
      a.jmp(out);
      a.bind(absent);
      checkFlags(a, false, (errno) => {
        a.li(RAX, errno);
        a.jmp(refused);
      });
      a.ld(64, RAX, M(RSP, LOCAL_ELEMENT));
      linkHead(a, RAX);
      a.li(RAX, 1);
      a.lockAdd(M(RBX, Header.count), RAX, 32);
      emitUnlock(a, RBP, BUCKET_LOCK);
      a.li(RAX, 0);
      a.jmp(out);
      a.bind(refused);
      emitUnlock(a, RBP, BUCKET_LOCK);
      a.jmp(unlocked);
      a.bind(giveBackBusy);
      a.li(RAX, -Errno.EBUSY);
      a.bind(unlocked);
      a.st(64, M(RSP, LOCAL_RESULT), RAX);
      a.mov(RDI, RBX);
      a.ld(64, RSI, M(RSP, LOCAL_ELEMENT));
      a.callFn("lru_push_free");
      a.ld(64, RAX, M(RSP, LOCAL_RESULT));
      a.jmp(out);
    }

    // __htab_lru_percpu_map_update_elem: values change in place; BPF_EXIST takes no element first.
    a.bind(percpu);
    {
      const haveElement = a.label();
      const absent = a.label();
      const unlock = a.label();
      const noGiveBack = a.label();
      const busyGiveBack = a.label();
      a.li(RAX, NO_ELEMENT & 0xffffffff);
      a.cmpi(R14, UpdateFlag.EXIST);
      a.j(Cond.E, haveElement);
      a.mov(RDI, RBX);
      a.mov(RDX, R15, 32);
      a.callFn("lru_pop_free");
      a.cmpi(RAX, NO_ELEMENT, 32);
      a.j(Cond.E, noMemory);
      a.bind(haveElement);
      a.st(64, M(RSP, LOCAL_ELEMENT), RAX);
      bucketAddress(a, RBP, RBX, R15, RCX);
      emitLock(a, RBP, BUCKET_LOCK, RCX, busyGiveBack);
      find(a);
      a.test(RDX, RDX);
      a.j(Cond.E, absent);
      checkFlags(a, true, (errno) => {
        a.li(RAX, errno);
        a.jmp(unlock);
      });
      a.mov(R9, RDX);
      setRef(a, R9);
      a.callFn("hash_write_value");
      a.li(RAX, 0);
      a.jmp(unlock);
      a.bind(absent);
      checkFlags(a, false, (errno) => {
        a.li(RAX, errno);
        a.jmp(unlock);
      });
      a.ld(64, RAX, M(RSP, LOCAL_ELEMENT));
      elementAddress(a, R9, RBX, RAX, RCX);
      fillElement(a);
      a.callFn("hash_write_fresh_value");
      a.ld(64, RAX, M(RSP, LOCAL_ELEMENT));
      linkHead(a, RAX);
      a.li(RAX, 1);
      a.lockAdd(M(RBX, Header.count), RAX, 32);
      a.sti(64, M(RSP, LOCAL_ELEMENT), NO_ELEMENT);
      a.li(RAX, 0);
      a.bind(unlock);
      emitUnlock(a, RBP, BUCKET_LOCK);
      a.bind(noGiveBack);
      a.st(64, M(RSP, LOCAL_RESULT), RAX);
      const done = a.label();
      a.cmpMemImm(M(RSP, LOCAL_ELEMENT), NO_ELEMENT, 32);
      a.j(Cond.E, done);
      a.mov(RDI, RBX);
      a.ld(32, RSI, M(RSP, LOCAL_ELEMENT));
      a.callFn("lru_push_free");
      a.bind(done);
      a.ld(64, RAX, M(RSP, LOCAL_RESULT));
      a.jmp(out);
      a.bind(busyGiveBack);
      a.li(RAX, -Errno.EBUSY);
      a.jmp(noGiveBack);
    }
    a.bind(noMemory);
    a.li(RAX, -Errno.ENOMEM);
    a.jmp(out);
  }

  a.bind(busy);
  a.li(RAX, -Errno.EBUSY);
  a.bind(out);
  epilogue(a);
  a.bind(invalid);
  a.li(RAX, -Errno.EINVAL);
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
