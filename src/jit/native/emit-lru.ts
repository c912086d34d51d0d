// The kernel's LRU lists (src/maps/lru-list.ts, after kernel/bpf/bpf_lru_list.c) in generated code, over
// the same LRU area, so a native update of an LRU hash evicts exactly the keys the TypeScript side (and
// the kernel) would. Each routine is a translation of the LruLists method of the same name; the
// comments only note where the machine code differs in form. This module has the entry points, taking
// and giving back elements (common and per-CPU flavours); emit-lru-lists.ts the list mechanics under them.
//
//   lru_pop_free(rdi map, esi cpu slot, edx hash) -> eax element or 0xffffffff
//   lru_push_free(rdi map, esi element)
// Both are System V functions. Inside, the map's constants live in callee-saved registers:
//   rbx map, r12 LRU area, r13 pool size P (link ids >= P are list heads), r14 list heads, r15 elements,
//   rbp element size.
// Internal routines take arguments in registers as documented on each; "locals" live in a stack frame,
// since every internal call may clobber every caller-saved register unless said otherwise.

import { HashHeader } from "../../maps/hash-map.js";
import { Header } from "../../maps/header.js";
import { LruNode } from "../../maps/lru-list.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { AluOp, M, type Asm } from "./asm.js";
import { emitLock, emitUnlock } from "./emit-context.js";
import { AREA, Frame, FREE, walkList, headId, INACTIVE, LIST, listRecord, LOCAL, LOCAL_FREE, LOCAL_PENDING, localHeadId, localRecord, NO_ELEMENT, nodeOf, PERCPU_FREE_TARGET } from "./emit-lru-layout.js";
import { emitLruLists } from "./emit-lru-lists.js";

const SAVED = [RBX, RBP, R12, R13, R14, R15];

export function emitLru(a: Asm): void {
  emitLruLists(a);
  emitPopPush(a);
  emitEntryPoints(a);
}

/** `dst` = the list lock's address of list `list` (a register). */
function lockOfList(a: Asm, dst: number, list: number): void {
  listRecord(a, dst, list);
}

function emitPopPush(a: Asm): void {
  // lru_refill_local(r8d cpu): bpf_lru_list_pop_free_to_local.
  a.fn("lru_refill_local");
  {
    const f = new Frame(a, ["cpu", "globalFree", "localFree", "moved", "node", "following"]);
    f.enter();
    const busy = a.label();
    const unlock = a.label();
    f.store("cpu", R8);
    emitLock(a, R12, AREA.lists + LIST.lock, RCX, busy);
    f.load(R8, "cpu");
    a.callFn("lru_flush_pending");
    a.li(R8, 0);
    a.callFn("lru_rotate");
    a.mov(RAX, R13, 32);
    a.addi(RAX, FREE, 32);
    f.store("globalFree", RAX);
    f.load(R8, "cpu");
    localHeadId(a, RAX, R8, false);
    f.store("localFree", RAX);
    f.storeImm("moved", 0);
    walkList(a, f, { head: "globalFree", node: "node", step: "following", backwards: false }, (_next, done) => {
      a.li(R8, 0);
      f.load(R10, "localFree");
      a.li(R11, LOCAL_FREE);
      a.callFn("lru_move_to_free");
      a.opMemImm(AluOp.Add, f.at("moved"), 1, 32);
      a.ld(32, RAX, f.at("moved"));
      a.cmpm(RAX, M(R12, AREA.targetFree), 32);
      a.j(Cond.E, done);
    });
    f.load(RAX, "moved");
    a.ld(32, R9, M(R12, AREA.targetFree));
    a.sub(R9, RAX, 32);
    a.j(Cond.BE, unlock);
    a.li(R8, 0);
    f.load(R10, "localFree");
    a.li(R11, LOCAL_FREE);
    a.callFn("lru_shrink");
    a.bind(unlock);
    emitUnlock(a, R12, AREA.lists + LIST.lock);
    a.bind(busy);
    f.leave();
  }

  // lru_common_pop_free(r8d cpu, r9d hash) -> eax node or NO_ELEMENT.
  a.fn("lru_common_pop_free");
  {
    const f = new Frame(a, ["cpu", "hash", "node", "first", "steal"]);
    f.enter();
    const none = a.label();
    const have = a.label();
    const unlockNone = a.label();
    const stealLoop = a.label();
    const stealBusy = a.label();
    const unlockSteal = a.label();
    const advanced = a.label();
    const relockFailed = a.label();
    f.store("cpu", R8);
    f.store("hash", R9);
    localRecord(a, RDX, R8, RAX);
    emitLock(a, RDX, LOCAL.lock, RCX, none);
    f.load(R8, "cpu");
    a.callFn("lru_local_pop_free");
    f.store("node", RAX);
    a.cmpi(RAX, NO_ELEMENT | 0, 32);
    a.j(Cond.NE, have);
    f.load(R8, "cpu");
    a.callFn("lru_refill_local");
    f.load(R8, "cpu");
    a.callFn("lru_local_pop_free");
    f.store("node", RAX);
    a.cmpi(RAX, NO_ELEMENT | 0, 32);
    a.j(Cond.E, unlockNone);
    a.bind(have); // this CPU's local lock is held
    f.load(R8, "cpu");
    f.load(RSI, "node");
    f.load(R9, "hash");
    a.callFn("lru_add_pending");
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    f.load(RAX, "node");
    f.leave();

    // Nothing free here or globally: steal a free or pending element of some CPU, round robin.
    a.bind(unlockNone);
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    a.ld(32, RAX, M(RDX, LOCAL.nextSteal));
    f.store("first", RAX);
    f.store("steal", RAX);
    a.bind(stealLoop);
    f.load(R8, "steal");
    localRecord(a, RDX, R8, RAX);
    emitLock(a, RDX, LOCAL.lock, RCX, stealBusy);
    f.load(R8, "steal");
    a.callFn("lru_local_pop_free");
    f.store("node", RAX);
    a.cmpi(RAX, NO_ELEMENT | 0, 32);
    a.j(Cond.NE, unlockSteal);
    f.load(R8, "steal");
    a.callFn("lru_local_pop_pending");
    f.store("node", RAX);
    a.bind(unlockSteal);
    f.load(R8, "steal");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    a.bind(stealBusy);
    f.load(RAX, "steal");
    a.addi(RAX, 1, 32);
    a.cmpm(RAX, M(RBX, Header.ncpus), 32);
    a.j(Cond.B, advanced);
    a.li(RAX, 0);
    a.bind(advanced);
    f.store("steal", RAX);
    const stolen = a.label();
    a.cmpMemImm(f.at("node"), NO_ELEMENT | 0, 32);
    a.j(Cond.NE, stolen);
    f.load(RAX, "steal");
    a.cmpm(RAX, f.at("first"), 32);
    a.j(Cond.NE, stealLoop);
    a.bind(stolen);
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    f.load(RAX, "steal");
    a.st(32, M(RDX, LOCAL.nextSteal), RAX);
    a.cmpMemImm(f.at("node"), NO_ELEMENT | 0, 32);
    a.j(Cond.E, none);
    emitLock(a, RDX, LOCAL.lock, RCX, relockFailed);
    a.jmp(have); // the stolen element goes pending here, as a local one would
    a.bind(relockFailed);
    f.load(RSI, "node");
    nodeOf(a, RSI);
    a.sti(8, M(RDI, LruNode.type), LOCAL_FREE);
    a.sti(8, M(RDI, LruNode.ref), 0);
    f.load(R8, "cpu");
    localHeadId(a, RDX, R8, false);
    a.callFn("lru_add_head");
    a.bind(none);
    a.li(RAX, NO_ELEMENT);
    f.leave();
  }

  // lru_percpu_pop_free(r8d cpu, r9d hash) -> eax node or NO_ELEMENT.
  a.fn("lru_percpu_pop_free");
  {
    const f = new Frame(a, ["cpu", "hash", "free", "node"]);
    f.enter();
    const busy = a.label();
    const haveFree = a.label();
    const unlock = a.label();
    f.store("cpu", R8);
    f.store("hash", R9);
    lockOfList(a, RDX, R8);
    emitLock(a, RDX, LIST.lock, RCX, busy);
    f.load(R8, "cpu");
    a.callFn("lru_rotate");
    f.load(R8, "cpu");
    headId(a, RAX, R8, FREE);
    f.store("free", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    a.cmpm(RAX, f.at("free"), 32);
    a.j(Cond.NE, haveFree);
    f.load(R8, "cpu");
    a.li(R9, PERCPU_FREE_TARGET);
    f.load(R10, "free");
    a.li(R11, FREE);
    a.callFn("lru_shrink");
    a.bind(haveFree);
    f.storeImm("node", NO_ELEMENT | 0);
    f.load(RDI, "free");
    a.callFn("lru_next");
    a.cmpm(RAX, f.at("free"), 32);
    a.j(Cond.E, unlock);
    f.store("node", RAX);
    a.mov(RDI, RAX, 32);
    a.imul(RDI, RBP);
    f.load(RCX, "hash");
    a.st(32, M(R15, 4, RDI), RCX); // the element's hash field
    f.load(RSI, "node");
    nodeOf(a, RSI);
    a.sti(8, M(RDI, LruNode.ref), 0);
    f.load(R8, "cpu");
    a.li(R9, INACTIVE);
    a.callFn("lru_node_move");
    a.bind(unlock);
    f.load(R8, "cpu");
    lockOfList(a, RDX, R8);
    emitUnlock(a, RDX, LIST.lock);
    f.load(RAX, "node");
    f.leave();
    a.bind(busy);
    a.li(RAX, NO_ELEMENT);
    f.leave();
  }

  // lru_push_free_to_list(r8d list, esi node).
  a.fn("lru_push_free_to_list");
  {
    const busy = a.label();
    lockOfList(a, RDX, R8);
    emitLock(a, RDX, LIST.lock, RCX, busy);
    a.li(R9, FREE);
    a.callFn("lru_node_move");
    lockOfList(a, RDX, R8);
    emitUnlock(a, RDX, LIST.lock);
    a.bind(busy);
    a.ret();
  }

  // lru_push_free_inner(esi node): bpf_lru_push_free.
  a.fn("lru_push_free_inner");
  {
    const f = new Frame(a, ["node", "cpu"]);
    f.enter();
    const common = a.label();
    const toGlobal = a.label();
    const busy = a.label();
    const notPending = a.label();
    f.store("node", RSI);
    nodeOf(a, RSI);
    a.ld(16, R8, M(RDI, LruNode.cpu));
    f.store("cpu", R8);
    a.cmpMemImm(M(R12, AREA.flavour), 1, 32);
    a.j(Cond.NE, common);
    f.load(RSI, "node");
    a.callFn("lru_push_free_to_list");
    f.leave();
    a.bind(common);
    a.cmpMemImm(M(RDI, LruNode.type), LOCAL_PENDING, 8);
    a.j(Cond.NE, toGlobal);
    localRecord(a, RDX, R8, RAX);
    emitLock(a, RDX, LOCAL.lock, RCX, busy);
    f.load(RSI, "node");
    nodeOf(a, RSI);
    a.cmpMemImm(M(RDI, LruNode.type), LOCAL_PENDING, 8);
    a.j(Cond.NE, notPending);
    a.sti(8, M(RDI, LruNode.type), LOCAL_FREE);
    a.sti(8, M(RDI, LruNode.ref), 0);
    f.load(R8, "cpu");
    localHeadId(a, RDX, R8, false);
    a.callFn("lru_move");
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    a.bind(busy);
    f.leave();
    a.bind(notPending);
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    a.bind(toGlobal);
    a.li(R8, 0);
    f.load(RSI, "node");
    a.callFn("lru_push_free_to_list");
    f.leave();
  }
}

function emitEntryPoints(a: Asm): void {
  // lru_enter(rdi map): loads the callee-saved context registers. Clobbers rax.
  a.fn("lru_enter");
  {
    const percpu = a.label();
    a.mov(RBX, RDI);
    a.ld(32, RAX, M(RBX, HashHeader.lruOffset));
    a.lea(R12, M(RBX, 0, RAX));
    a.ld(32, R13, M(RBX, HashHeader.poolSize));
    a.ld(32, RBP, M(RBX, HashHeader.elementSize));
    a.ld(32, RAX, M(RBX, HashHeader.elementsOffset));
    a.lea(R15, M(RBX, 0, RAX));
    a.ld(32, RAX, M(R12, AREA.listCount));
    a.shli(RAX, 4, 32);
    a.lea(R14, M(R12, AREA.lists, RAX));
    a.cmpMemImm(M(R12, AREA.flavour), 1, 32);
    a.j(Cond.E, percpu);
    a.ld(32, RAX, M(RBX, Header.ncpus));
    a.lea(R14, M(R14, 0, RAX, 8));
    a.bind(percpu);
    a.ret();
  }

  a.fn("lru_pop_free");
  {
    const percpu = a.label();
    const out = a.label();
    for (const reg of SAVED) a.push(reg);
    a.mov(R8, RSI, 32);
    a.mov(R9, RDX, 32);
    a.callFn("lru_enter");
    a.cmpMemImm(M(R12, AREA.flavour), 1, 32);
    a.j(Cond.E, percpu);
    a.callFn("lru_common_pop_free");
    a.jmp(out);
    a.bind(percpu);
    a.callFn("lru_percpu_pop_free");
    a.bind(out);
    for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
    a.ret();
  }

  a.fn("lru_push_free");
  for (const reg of SAVED) a.push(reg);
  a.callFn("lru_enter");
  a.callFn("lru_push_free_inner");
  for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
  a.ret();
}
