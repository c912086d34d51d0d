// The kernel's LRU lists (src/maps/lru-list.ts, after kernel/bpf/bpf_lru_list.c) in generated code, over
// the same LRU area, so a native update of an LRU hash evicts exactly the keys the TypeScript side (and
// the kernel) would. Each routine below is a translation of the LruLists method of the same name; the
// comments only note where the machine code differs in form.
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
import { LruListType, LruNode } from "../../maps/lru-list.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm, type Label } from "./asm.js";
import { emitLock, emitUnlock } from "./emit-context.js";
import type { Mem } from "./asm.js";

const NO_ELEMENT = 0xffffffff;
const NODE = 8; // the node's offset in an element
const AREA = { flavour: 0, nrScans: 4, targetFree: 8, listCount: 12, lists: 16 } as const;
const LIST = { lock: 0, active: 4, inactive: 8, nextInactiveRotation: 12, size: 16 } as const;
const LOCAL = { lock: 0, nextSteal: 4, size: 8 } as const;
const PERCPU_FREE_TARGET = 4;
const SAVED = [RBX, RBP, R12, R13, R14, R15];

const { ACTIVE, INACTIVE, FREE, LOCAL_FREE, LOCAL_PENDING } = LruListType;

/** A stack frame of 8-byte locals for one routine. */
class Frame {
  private readonly slots: string[];

  constructor(
    private readonly a: Asm,
    names: string[],
  ) {
    this.slots = names;
  }

  get size(): number {
    // An odd number of slots keeps rsp's alignment as it was at the routine's entry (after a call).
    return (this.slots.length | 1) * 8;
  }

  enter(): void {
    this.a.subi(RSP, this.size);
  }

  leave(): void {
    this.a.addi(RSP, this.size);
    this.a.ret();
  }

  at(name: string): Mem {
    const index = this.slots.indexOf(name);
    if (index < 0) throw new Error(`no local '${name}'`);
    return M(RSP, index * 8);
  }

  load(reg: number, name: string): void {
    this.a.ld(32, reg, this.at(name));
  }

  store(name: string, reg: number): void {
    this.a.st(32, this.at(name), reg);
  }

  storeImm(name: string, imm: number): void {
    this.a.sti(32, this.at(name), imm);
  }
}

// ---- ids and records ------------------------------------------------------------------------------------

/** dst = r13 + 3 * list + type (the head of a list's sublist). */
function headId(a: Asm, dst: number, list: number, type: number): void {
  a.lea(dst, M(list, 0, list, 2));
  a.add(dst, R13, 32);
  a.addi(dst, type, 32);
}

/** dst = r13 + 3 L + 2 cpu (+1 for the pending list). */
function localHeadId(a: Asm, dst: number, cpu: number, pending: boolean): void {
  a.ld(32, dst, M(R12, AREA.listCount));
  a.lea(dst, M(dst, 0, dst, 2));
  a.add(dst, R13, 32);
  a.lea(dst, M(dst, pending ? 1 : 0, cpu, 2));
}

/** dst = address of list `list`'s record. */
function listRecord(a: Asm, dst: number, list: number): void {
  a.mov(dst, list, 32);
  a.shli(dst, 4, 32);
  a.lea(dst, M(R12, AREA.lists, dst));
}

/** dst = address of CPU `cpu`'s local record (uses tmp). */
function localRecord(a: Asm, dst: number, cpu: number, tmp: number): void {
  a.ld(32, tmp, M(R12, AREA.listCount));
  a.shli(tmp, 4, 32);
  a.lea(dst, M(R12, AREA.lists, tmp));
  a.lea(dst, M(dst, 0, cpu, 8));
}

/** rdi = node address of link `id` (edi in); a tiny routine so callers stay short. */
function nodeOf(a: Asm, id: number): void {
  if (id !== RDI) a.mov(RDI, id, 32);
  a.callFn("lru_addr");
}

export function emitLru(a: Asm): void {
  emitPrimitives(a);
  emitMoves(a);
  emitLocalLists(a);
  emitRotation(a);
  emitShrink(a);
  emitPopPush(a);
  emitEntryPoints(a);
}

function emitPrimitives(a: Asm): void {
  // lru_addr(edi id) -> rdi: an element's node or a list head. Touches nothing else.
  a.fn("lru_addr");
  {
    const head = a.label();
    a.cmp(RDI, R13, 32);
    a.j(Cond.AE, head);
    a.imul(RDI, RBP);
    a.lea(RDI, M(R15, NODE, RDI));
    a.ret();
    a.bind(head);
    a.sub(RDI, R13, 32);
    a.lea(RDI, M(R14, 0, RDI, 8));
    a.ret();
  }
  // lru_prev / lru_next(edi id) -> eax. Clobber rdi.
  a.fn("lru_prev");
  a.callFn("lru_addr");
  a.ld(32, RAX, M(RDI, LruNode.prev));
  a.ret();
  a.fn("lru_next");
  a.callFn("lru_addr");
  a.ld(32, RAX, M(RDI, LruNode.next));
  a.ret();

  // lru_unlink(esi id). Clobbers rax, rcx, rdi.
  a.fn("lru_unlink");
  nodeOf(a, RSI);
  a.ld(32, RAX, M(RDI, LruNode.prev));
  a.ld(32, RCX, M(RDI, LruNode.next));
  nodeOf(a, RAX);
  a.st(32, M(RDI, LruNode.next), RCX);
  nodeOf(a, RCX);
  a.st(32, M(RDI, LruNode.prev), RAX);
  a.ret();

  // lru_add_head(esi id, edx head). Clobbers rax, rdi.
  a.fn("lru_add_head");
  nodeOf(a, RDX);
  a.ld(32, RAX, M(RDI, LruNode.next));
  a.st(32, M(RDI, LruNode.next), RSI);
  nodeOf(a, RSI);
  a.st(32, M(RDI, LruNode.prev), RDX);
  a.st(32, M(RDI, LruNode.next), RAX);
  nodeOf(a, RAX);
  a.st(32, M(RDI, LruNode.prev), RSI);
  a.ret();

  // lru_move(esi id, edx head). Clobbers rax, rcx, rdi.
  a.fn("lru_move");
  a.callFn("lru_unlink");
  a.jmpFn("lru_add_head");

  // lru_count_add(r8d list, ecx type, edx delta): only active and inactive are counted. Clobbers rax, rcx.
  a.fn("lru_count_add");
  {
    const uncounted = a.label();
    a.cmpi(RCX, INACTIVE, 32);
    a.j(Cond.A, uncounted);
    listRecord(a, RAX, R8);
    a.opToMem(0, M(RAX, LIST.active, RCX, 4), RDX, 32); // AluOp.Add: active at +4, inactive at +8
    a.bind(uncounted);
    a.ret();
  }

  // lru_evict(esi element) -> eax 1 if the hash map let it go. Preserves esi, r8..r11 (saved here).
  a.fn("lru_evict");
  for (const reg of [RSI, R8, R9, R10, R11]) a.push(reg);
  a.mov(RDI, RBX);
  a.callFn("hash_evict");
  for (const reg of [R11, R10, R9, R8, RSI]) a.pop(reg);
  a.ret();
}

/** If `node` (esi) is the list's (r8d) next_inactive_rotation, moves that to prev(node). Clobbers rax, rdx, rdi. */
function keepRotationCursor(a: Asm): void {
  const other = a.label();
  listRecord(a, RDX, R8);
  a.cmpm(RSI, M(RDX, LIST.nextInactiveRotation), 32);
  a.j(Cond.NE, other);
  nodeOf(a, RSI);
  a.ld(32, RAX, M(RDI, LruNode.prev));
  a.st(32, M(RDX, LIST.nextInactiveRotation), RAX);
  a.bind(other);
}

/**
 * The moves between lists, with the kernel's count bookkeeping. Arguments: r8d list, esi node, r9d target
 * type, r10d free head, r11d free type; all preserved. Clobber rax, rcx, rdx, rdi.
 */
function emitMoves(a: Asm): void {
  a.fn("lru_move_to_free");
  keepRotationCursor(a);
  nodeOf(a, RSI);
  a.ld(8, RCX, M(RDI, LruNode.type));
  a.li(RDX, -1);
  a.callFn("lru_count_add");
  nodeOf(a, RSI);
  a.st(8, M(RDI, LruNode.type), R11);
  a.mov(RDX, R10, 32);
  a.jmpFn("lru_move");

  a.fn("lru_move_in");
  a.mov(RCX, R9, 32);
  a.li(RDX, 1);
  a.callFn("lru_count_add");
  nodeOf(a, RSI);
  a.st(8, M(RDI, LruNode.type), R9);
  a.sti(8, M(RDI, LruNode.ref), 0);
  headId(a, RDX, R8, 0);
  a.add(RDX, R9, 32);
  a.jmpFn("lru_move");

  a.fn("lru_node_move");
  {
    const same = a.label();
    nodeOf(a, RSI);
    a.ld(8, RCX, M(RDI, LruNode.type));
    a.cmp(RCX, R9, 32);
    a.j(Cond.E, same);
    a.li(RDX, -1);
    a.callFn("lru_count_add");
    a.mov(RCX, R9, 32);
    a.li(RDX, 1);
    a.callFn("lru_count_add");
    nodeOf(a, RSI);
    a.st(8, M(RDI, LruNode.type), R9);
    a.bind(same);
    nodeOf(a, RSI);
    a.sti(8, M(RDI, LruNode.ref), 0);
    keepRotationCursor(a);
    headId(a, RDX, R8, 0);
    a.add(RDX, R9, 32);
    a.jmpFn("lru_move");
  }
}

/** Jumps to `target` if the ref bit of `node` is clear (rdi clobbered). */
function ifUnreferenced(a: Asm, node: number, target: Label): void {
  nodeOf(a, node);
  a.cmpMemImm(M(RDI, LruNode.ref), 0, 8);
  a.j(Cond.E, target);
}

function emitLocalLists(a: Asm): void {
  // lru_local_pop_free(r8d cpu) -> eax node or NO_ELEMENT. Clobbers rax, rcx, rdx, rsi, rdi.
  a.fn("lru_local_pop_free");
  {
    const none = a.label();
    localHeadId(a, RDX, R8, false);
    a.mov(RDI, RDX, 32);
    a.callFn("lru_next");
    a.cmp(RAX, RDX, 32);
    a.j(Cond.E, none);
    a.mov(RSI, RAX, 32);
    a.callFn("lru_unlink");
    a.mov(RAX, RSI, 32);
    a.ret();
    a.bind(none);
    a.li(RAX, NO_ELEMENT);
    a.ret();
  }

  // lru_add_pending(r8d cpu, esi node, r9d hash). Clobbers rax, rcx, rdx, rdi.
  a.fn("lru_add_pending");
  a.mov(RDI, RSI, 32);
  a.imul(RDI, RBP);
  a.st(32, M(R15, 4, RDI), R9); // the element's hash field
  nodeOf(a, RSI);
  a.st(16, M(RDI, LruNode.cpu), R8);
  a.sti(8, M(RDI, LruNode.type), LOCAL_PENDING);
  a.sti(8, M(RDI, LruNode.ref), 0);
  localHeadId(a, RDX, R8, true);
  a.jmpFn("lru_add_head");

  // lru_local_pop_pending(r8d cpu) -> eax node or NO_ELEMENT: unreferenced pending elements first.
  a.fn("lru_local_pop_pending");
  {
    const f = new Frame(a, ["cpu", "pending", "force", "node"]);
    f.enter();
    const forceLoop = a.label();
    const walk = a.label();
    const step = a.label();
    const tryEvict = a.label();
    const nextForce = a.label();
    const none = a.label();
    f.store("cpu", R8);
    localHeadId(a, RAX, R8, true);
    f.store("pending", RAX);
    f.storeImm("force", 0);
    a.bind(forceLoop);
    f.load(RDI, "pending");
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.bind(walk);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("pending"), 32);
    a.j(Cond.E, nextForce);
    a.cmpMemImm(f.at("force"), 1, 32);
    a.j(Cond.E, tryEvict);
    ifUnreferenced(a, RSI, tryEvict);
    a.jmp(step);
    a.bind(tryEvict);
    a.callFn("lru_evict");
    a.test(RAX, RAX, 32);
    a.j(Cond.E, step);
    f.load(RSI, "node");
    a.callFn("lru_unlink");
    f.load(RAX, "node");
    f.leave();
    a.bind(step);
    f.load(RDI, "node");
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.jmp(walk);
    a.bind(nextForce);
    a.cmpMemImm(f.at("force"), 1, 32);
    a.j(Cond.E, none);
    f.storeImm("force", 1);
    a.jmp(forceLoop);
    a.bind(none);
    a.li(RAX, NO_ELEMENT);
    f.leave();
  }

  // lru_flush_pending(r8d cpu): pending elements into the global list, oldest first.
  a.fn("lru_flush_pending");
  {
    const f = new Frame(a, ["pending", "node", "previous"]);
    f.enter();
    const loop = a.label();
    const done = a.label();
    const inactive = a.label();
    const move = a.label();
    localHeadId(a, RAX, R8, true);
    f.store("pending", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.bind(loop);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("pending"), 32);
    a.j(Cond.E, done);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("previous", RAX);
    f.load(RSI, "node");
    a.li(R8, 0);
    ifUnreferenced(a, RSI, inactive);
    a.li(R9, ACTIVE);
    a.jmp(move);
    a.bind(inactive);
    a.li(R9, INACTIVE);
    a.bind(move);
    a.callFn("lru_move_in");
    f.load(RAX, "previous");
    f.store("node", RAX);
    a.jmp(loop);
    a.bind(done);
    f.leave();
  }
}

function emitRotation(a: Asm): void {
  // lru_rotate(r8d list).
  a.fn("lru_rotate");
  {
    const inactiveOnly = a.label();
    a.push(R8);
    listRecord(a, RAX, R8);
    a.ld(32, RCX, M(RAX, LIST.inactive));
    a.cmpm(RCX, M(RAX, LIST.active), 32);
    a.j(Cond.AE, inactiveOnly);
    a.callFn("lru_rotate_active");
    a.bind(inactiveOnly);
    a.pop(R8);
    a.jmpFn("lru_rotate_inactive");
  }

  // lru_rotate_active(r8d list): from the tail, referenced to the head of active, others to inactive.
  a.fn("lru_rotate_active");
  {
    const f = new Frame(a, ["list", "active", "first", "scanned", "node", "previous"]);
    f.enter();
    const loop = a.label();
    const done = a.label();
    const toInactive = a.label();
    const move = a.label();
    f.store("list", R8);
    headId(a, RAX, R8, ACTIVE);
    f.store("active", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    f.store("first", RAX);
    f.storeImm("scanned", 0);
    f.load(RDI, "active");
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.bind(loop);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("active"), 32);
    a.j(Cond.E, done);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("previous", RAX);
    f.load(R8, "list");
    f.load(RSI, "node");
    ifUnreferenced(a, RSI, toInactive);
    a.li(R9, ACTIVE);
    a.jmp(move);
    a.bind(toInactive);
    a.li(R9, INACTIVE);
    a.bind(move);
    a.callFn("lru_node_move");
    a.opMemImm(0, f.at("scanned"), 1, 32); // AluOp.Add
    a.ld(32, RAX, f.at("scanned"));
    a.cmpm(RAX, M(R12, AREA.nrScans), 32);
    a.j(Cond.E, done);
    f.load(RAX, "node");
    a.cmpm(RAX, f.at("first"), 32);
    a.j(Cond.E, done);
    f.load(RAX, "previous");
    f.store("node", RAX);
    a.jmp(loop);
    a.bind(done);
    f.leave();
  }

  // lru_rotate_inactive(r8d list): from next_inactive_rotation backwards, referenced elements to active.
  a.fn("lru_rotate_inactive");
  {
    const f = new Frame(a, ["list", "inactive", "last", "cur", "following", "scanned"]);
    f.enter();
    const loop = a.label();
    const notHead = a.label();
    const keep = a.label();
    const done = a.label();
    const empty = a.label();
    const lastOk = a.label();
    f.store("list", R8);
    headId(a, RAX, R8, INACTIVE);
    f.store("inactive", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    a.cmpm(RAX, f.at("inactive"), 32);
    a.j(Cond.E, empty);
    f.load(R8, "list");
    listRecord(a, RAX, R8);
    a.ld(32, RAX, M(RAX, LIST.nextInactiveRotation));
    f.store("cur", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    f.store("last", RAX);
    a.cmpm(RAX, f.at("inactive"), 32);
    a.j(Cond.NE, lastOk);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    f.store("last", RAX);
    a.bind(lastOk);
    f.load(RAX, "inactive");
    f.store("following", RAX);
    f.storeImm("scanned", 0);
    a.bind(loop);
    a.ld(32, RAX, f.at("scanned"));
    a.cmpm(RAX, M(R12, AREA.nrScans), 32);
    a.j(Cond.AE, done);
    f.load(RSI, "cur");
    a.cmpm(RSI, f.at("inactive"), 32);
    a.j(Cond.NE, notHead);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("cur", RAX);
    a.jmp(loop);
    a.bind(notHead);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("following", RAX);
    f.load(RSI, "cur");
    ifUnreferenced(a, RSI, keep);
    f.load(R8, "list");
    a.li(R9, ACTIVE);
    a.callFn("lru_node_move");
    a.bind(keep);
    f.load(RAX, "cur");
    a.cmpm(RAX, f.at("last"), 32);
    a.j(Cond.E, done);
    f.load(RAX, "following");
    f.store("cur", RAX);
    a.opMemImm(0, f.at("scanned"), 1, 32);
    a.jmp(loop);
    a.bind(done);
    f.load(R8, "list");
    listRecord(a, RCX, R8);
    f.load(RAX, "following");
    a.st(32, M(RCX, LIST.nextInactiveRotation), RAX);
    a.bind(empty);
    f.leave();
  }
}

function emitShrink(a: Asm): void {
  // lru_shrink_inactive(r8d list, r9d wanted, r10d free head, r11d free type) -> eax shrunk.
  a.fn("lru_shrink_inactive");
  {
    const f = new Frame(a, ["list", "wanted", "freeHead", "freeType", "inactive", "shrunk", "scanned", "node", "previous"]);
    f.enter();
    const loop = a.label();
    const done = a.label();
    const unreferenced = a.label();
    const counted = a.label();
    f.store("list", R8);
    f.store("wanted", R9);
    f.store("freeHead", R10);
    f.store("freeType", R11);
    headId(a, RAX, R8, INACTIVE);
    f.store("inactive", RAX);
    f.storeImm("shrunk", 0);
    f.storeImm("scanned", 0);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.bind(loop);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("inactive"), 32);
    a.j(Cond.E, done);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("previous", RAX);
    f.load(RSI, "node");
    f.load(R8, "list");
    ifUnreferenced(a, RSI, unreferenced);
    a.li(R9, ACTIVE);
    a.callFn("lru_node_move");
    a.jmp(counted);
    a.bind(unreferenced);
    a.callFn("lru_evict");
    a.test(RAX, RAX, 32);
    a.j(Cond.E, counted);
    f.load(RSI, "node");
    f.load(R8, "list");
    f.load(R10, "freeHead");
    f.load(R11, "freeType");
    a.callFn("lru_move_to_free");
    a.opMemImm(0, f.at("shrunk"), 1, 32);
    a.ld(32, RAX, f.at("shrunk"));
    a.cmpm(RAX, f.at("wanted"), 32);
    a.j(Cond.E, done);
    a.bind(counted);
    a.opMemImm(0, f.at("scanned"), 1, 32);
    a.ld(32, RAX, f.at("scanned"));
    a.cmpm(RAX, M(R12, AREA.nrScans), 32);
    a.j(Cond.E, done);
    f.load(RAX, "previous");
    f.store("node", RAX);
    a.jmp(loop);
    a.bind(done);
    f.load(RAX, "shrunk");
    f.leave();
  }

  // lru_shrink(r8d list, r9d wanted, r10d free head, r11d free type) -> eax: inactive first, else any one.
  a.fn("lru_shrink");
  {
    const f = new Frame(a, ["list", "freeHead", "freeType", "victims", "node", "previous"]);
    f.enter();
    const fallback = a.label();
    const haveVictims = a.label();
    const loop = a.label();
    const step = a.label();
    const none = a.label();
    const out = a.label();
    f.store("list", R8);
    f.store("freeHead", R10);
    f.store("freeType", R11);
    a.callFn("lru_shrink_inactive");
    a.test(RAX, RAX, 32);
    a.j(Cond.E, fallback);
    a.jmp(out);
    a.bind(fallback);
    f.load(R8, "list");
    headId(a, RAX, R8, INACTIVE);
    f.store("victims", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    a.cmpm(RAX, f.at("victims"), 32);
    a.j(Cond.NE, haveVictims);
    f.load(R8, "list");
    headId(a, RAX, R8, ACTIVE);
    f.store("victims", RAX);
    a.bind(haveVictims);
    f.load(RDI, "victims");
    a.callFn("lru_prev");
    f.store("node", RAX);
    a.bind(loop);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("victims"), 32);
    a.j(Cond.E, none);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_prev");
    f.store("previous", RAX);
    f.load(RSI, "node");
    a.callFn("lru_evict");
    a.test(RAX, RAX, 32);
    a.j(Cond.E, step);
    f.load(RSI, "node");
    f.load(R8, "list");
    f.load(R10, "freeHead");
    f.load(R11, "freeType");
    a.callFn("lru_move_to_free");
    a.li(RAX, 1);
    a.jmp(out);
    a.bind(step);
    f.load(RAX, "previous");
    f.store("node", RAX);
    a.jmp(loop);
    a.bind(none);
    a.li(RAX, 0);
    a.bind(out);
    f.leave();
  }
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
    const loop = a.label();
    const filled = a.label();
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
    f.load(RDI, "globalFree");
    a.callFn("lru_next");
    f.store("node", RAX);
    a.bind(loop);
    f.load(RSI, "node");
    a.cmpm(RSI, f.at("globalFree"), 32);
    a.j(Cond.E, filled);
    a.mov(RDI, RSI, 32);
    a.callFn("lru_next");
    f.store("following", RAX);
    f.load(RSI, "node");
    a.li(R8, 0);
    f.load(R10, "localFree");
    a.li(R11, LOCAL_FREE);
    a.callFn("lru_move_to_free");
    a.opMemImm(0, f.at("moved"), 1, 32);
    a.ld(32, RAX, f.at("moved"));
    a.cmpm(RAX, M(R12, AREA.targetFree), 32);
    a.j(Cond.E, filled);
    f.load(RAX, "following");
    f.store("node", RAX);
    a.jmp(loop);
    a.bind(filled);
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
    a.bind(have);
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
    f.load(R8, "cpu");
    f.load(RSI, "node");
    f.load(R9, "hash");
    a.callFn("lru_add_pending");
    f.load(R8, "cpu");
    localRecord(a, RDX, R8, RAX);
    emitUnlock(a, RDX, LOCAL.lock);
    f.load(RAX, "node");
    f.leave();
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
