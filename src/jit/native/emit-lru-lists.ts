// The LRU lists' mechanics in generated code (lru-list.ts): link primitives, moves between lists with the
// kernel's count bookkeeping, the per-CPU local lists, rotation and shrinking. Each routine is a
// translation of the LruLists method of the same name; registers as in emit-lru-layout.ts.

import { LruNode } from "../../maps/lru-list.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R10, R11, R12, R13, R14, R15, R8, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { AluOp, M, type Asm } from "./asm.js";
import { ACTIVE, AREA, Frame, headId, walkList, ifUnreferenced, INACTIVE, LIST, listRecord, LOCAL_PENDING, localHeadId, NO_ELEMENT, NODE, nodeOf } from "./emit-lru-layout.js";

/** The list mechanics every LRU entry point builds on. */
export function emitLruLists(a: Asm): void {
  emitPrimitives(a);
  emitMoves(a);
  emitLocalLists(a);
  emitRotation(a);
  emitShrink(a);
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
    const f = new Frame(a, ["pending", "force", "node", "previous"]);
    f.enter();
    localHeadId(a, RAX, R8, true);
    f.store("pending", RAX);
    for (const force of [false, true]) {
      walkList(a, f, { head: "pending", node: "node", step: "previous", backwards: true }, (next) => {
        const tryEvict = a.label();
        if (!force) {
          ifUnreferenced(a, RSI, tryEvict);
          a.jmp(next);
        }
        a.bind(tryEvict);
        f.load(RSI, "node");
        a.callFn("lru_evict");
        a.test(RAX, RAX, 32);
        a.j(Cond.E, next);
        f.load(RSI, "node");
        a.callFn("lru_unlink");
        f.load(RAX, "node");
        f.leave();
      });
    }
    a.li(RAX, NO_ELEMENT);
    f.leave();
  }

  // lru_flush_pending(r8d cpu): pending elements into the global list, oldest first.
  a.fn("lru_flush_pending");
  {
    const f = new Frame(a, ["pending", "node", "previous"]);
    f.enter();
    localHeadId(a, RAX, R8, true);
    f.store("pending", RAX);
    walkList(a, f, { head: "pending", node: "node", step: "previous", backwards: true }, () => {
      const inactive = a.label();
      const move = a.label();
      a.li(R8, 0);
      ifUnreferenced(a, RSI, inactive);
      a.li(R9, ACTIVE);
      a.jmp(move);
      a.bind(inactive);
      a.li(R9, INACTIVE);
      a.bind(move);
      f.load(RSI, "node");
      a.callFn("lru_move_in");
    });
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
    f.store("list", R8);
    headId(a, RAX, R8, ACTIVE);
    f.store("active", RAX);
    a.mov(RDI, RAX, 32);
    a.callFn("lru_next");
    f.store("first", RAX);
    f.storeImm("scanned", 0);
    walkList(a, f, { head: "active", node: "node", step: "previous", backwards: true }, (_next, done) => {
      const toInactive = a.label();
      const move = a.label();
      f.load(R8, "list");
      ifUnreferenced(a, RSI, toInactive);
      a.li(R9, ACTIVE);
      a.jmp(move);
      a.bind(toInactive);
      a.li(R9, INACTIVE);
      a.bind(move);
      f.load(RSI, "node");
      a.callFn("lru_node_move");
      a.opMemImm(AluOp.Add, f.at("scanned"), 1, 32);
      a.ld(32, RAX, f.at("scanned"));
      a.cmpm(RAX, M(R12, AREA.nrScans), 32);
      a.j(Cond.E, done);
      f.load(RAX, "node");
      a.cmpm(RAX, f.at("first"), 32);
      a.j(Cond.E, done);
    });
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
    a.opMemImm(AluOp.Add, f.at("scanned"), 1, 32);
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
    f.store("list", R8);
    f.store("wanted", R9);
    f.store("freeHead", R10);
    f.store("freeType", R11);
    headId(a, RAX, R8, INACTIVE);
    f.store("inactive", RAX);
    f.storeImm("shrunk", 0);
    f.storeImm("scanned", 0);
    walkList(a, f, { head: "inactive", node: "node", step: "previous", backwards: true }, (_next, done) => {
      const unreferenced = a.label();
      const counted = a.label();
      f.load(R8, "list");
      ifUnreferenced(a, RSI, unreferenced);
      f.load(RSI, "node");
      a.li(R9, ACTIVE);
      a.callFn("lru_node_move");
      a.jmp(counted);
      a.bind(unreferenced);
      f.load(RSI, "node");
      a.callFn("lru_evict");
      a.test(RAX, RAX, 32);
      a.j(Cond.E, counted);
      f.load(RSI, "node");
      f.load(R8, "list");
      f.load(R10, "freeHead");
      f.load(R11, "freeType");
      a.callFn("lru_move_to_free");
      a.opMemImm(AluOp.Add, f.at("shrunk"), 1, 32);
      a.ld(32, RAX, f.at("shrunk"));
      a.cmpm(RAX, f.at("wanted"), 32);
      a.j(Cond.E, done);
      a.bind(counted);
      a.opMemImm(AluOp.Add, f.at("scanned"), 1, 32);
      a.ld(32, RAX, f.at("scanned"));
      a.cmpm(RAX, M(R12, AREA.nrScans), 32);
      a.j(Cond.E, done);
    });
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
    f.store("list", R8);
    f.store("freeHead", R10);
    f.store("freeType", R11);
    a.callFn("lru_shrink_inactive");
    a.test(RAX, RAX, 32);
    a.j(Cond.E, fallback);
    f.leave();
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
    walkList(a, f, { head: "victims", node: "node", step: "previous", backwards: true }, (next) => {
      a.callFn("lru_evict");
      a.test(RAX, RAX, 32);
      a.j(Cond.E, next);
      f.load(RSI, "node");
      f.load(R8, "list");
      f.load(R10, "freeHead");
      f.load(R11, "freeType");
      a.callFn("lru_move_to_free");
      a.li(RAX, 1);
      f.leave();
    });
    a.li(RAX, 0);
    f.leave();
  }
}
