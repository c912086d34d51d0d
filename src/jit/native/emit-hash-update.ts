// Native bpf_map_update_elem for the hash family (HashMap.update, lruUpdate and lruPercpuUpdate of
// src/maps/hash-map.ts, step for step): replace in place or take a free element under the bucket lock; for
// LRU maps take an element from the LRU lists first, exactly when the TypeScript side (and the kernel) do,
// so the same updates evict the same keys.
//
//   hash_update(rdi map, rsi key, rdx value, rcx flags) -> rax 0 or -errno

import { Errno } from "../../maps/errno.js";
import { HashHeader } from "../../maps/hash-map.js";
import { Header } from "../../maps/header.js";
import { MapType, UpdateFlag } from "../../maps/map-types.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M } from "./asm.js";
import { emitCpu, emitCpuSlot, emitLock, emitUnlock, type EmitContext } from "./emit-context.js";
import { BUCKET_FIRST, BUCKET_LOCK, bucketAddress, checkFlags, elementAddress, epilogue, fillElement, find, hashKey, linkHead, LOCAL_ELEMENT, LOCAL_OLD, LOCAL_RESULT, NO_ELEMENT, prologue, setRef } from "./emit-hash-layout.js";

export function emitHashUpdate(ctx: EmitContext): void {
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

