// The LRU area of a hash map (src/maps/lru-list.ts) as generated code sees it: its offsets, the
// registers that hold the map's constants inside the LRU routines, and small emitters for ids and records
// that every LRU module uses. See emit-lru.ts for the routines themselves.
//
// Inside the LRU routines: rbx map, r12 LRU area, r13 pool size P (link ids >= P are list heads), r14
// list heads, r15 elements, rbp element size.

import { LruListType, LruNode } from "../../maps/lru-list.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R12, R13, RAX, RDI, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm, type Label, type Mem } from "./asm.js";

export const NO_ELEMENT = 0xffffffff;
/** The node's offset in an element. */
export const NODE = 8;
export const AREA = { flavour: 0, nrScans: 4, targetFree: 8, listCount: 12, lists: 16 } as const;
export const LIST = { lock: 0, active: 4, inactive: 8, nextInactiveRotation: 12, size: 16 } as const;
export const LOCAL = { lock: 0, nextSteal: 4, size: 8 } as const;
export const PERCPU_FREE_TARGET = 4;

export const { ACTIVE, INACTIVE, FREE, LOCAL_FREE, LOCAL_PENDING } = LruListType;

/** A stack frame of 8-byte locals for one routine. */
export class Frame {
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
export function headId(a: Asm, dst: number, list: number, type: number): void {
  a.lea(dst, M(list, 0, list, 2));
  a.add(dst, R13, 32);
  a.addi(dst, type, 32);
}

/** dst = r13 + 3 L + 2 cpu (+1 for the pending list). */
export function localHeadId(a: Asm, dst: number, cpu: number, pending: boolean): void {
  a.ld(32, dst, M(R12, AREA.listCount));
  a.lea(dst, M(dst, 0, dst, 2));
  a.add(dst, R13, 32);
  a.lea(dst, M(dst, pending ? 1 : 0, cpu, 2));
}

/** dst = address of list `list`'s record. */
export function listRecord(a: Asm, dst: number, list: number): void {
  a.mov(dst, list, 32);
  a.shli(dst, 4, 32);
  a.lea(dst, M(R12, AREA.lists, dst));
}

/** dst = address of CPU `cpu`'s local record (uses tmp). */
export function localRecord(a: Asm, dst: number, cpu: number, tmp: number): void {
  a.ld(32, tmp, M(R12, AREA.listCount));
  a.shli(tmp, 4, 32);
  a.lea(dst, M(R12, AREA.lists, tmp));
  a.lea(dst, M(dst, 0, cpu, 8));
}

/** rdi = node address of link `id` (edi in); a tiny routine so callers stay short. */
export function nodeOf(a: Asm, id: number): void {
  if (id !== RDI) a.mov(RDI, id, 32);
  a.callFn("lru_addr");
}

/** Jumps to `target` if the ref bit of `node` is clear (rdi clobbered). */
export function ifUnreferenced(a: Asm, node: number, target: Label): void {
  nodeOf(a, node);
  a.cmpMemImm(M(RDI, LruNode.ref), 0, 8);
  a.j(Cond.E, target);
}

export interface ListWalk {
  /** The local holding the list head's id. */
  head: string;
  /** The local holding the current element (esi holds it too when the body starts). */
  node: string;
  /** The local the element after it goes into, read before the body runs (the body may move `node`). */
  step: string;
  /** From the tail towards the head (prev links), as the kernel's list_for_each_entry_safe_reverse. */
  backwards: boolean;
}

/**
 * A walk over one list; `body` runs per element with esi = the element, and goes on to `next` (by jumping
 * or falling through) or leaves the walk through `done`, which is where the loop ends too.
 */
export function walkList(a: Asm, f: Frame, walk: ListWalk, body: (next: Label, done: Label) => void): void {
  const advance = walk.backwards ? "lru_prev" : "lru_next";
  const loop = a.label();
  const next = a.label();
  const done = a.label();
  f.load(RDI, walk.head);
  a.callFn(advance);
  f.store(walk.node, RAX);
  a.bind(loop);
  f.load(RSI, walk.node);
  a.cmpm(RSI, f.at(walk.head), 32);
  a.j(Cond.E, done);
  a.mov(RDI, RSI, 32);
  a.callFn(advance);
  f.store(walk.step, RAX);
  f.load(RSI, walk.node);
  body(next, done);
  a.bind(next);
  f.load(RAX, walk.step);
  f.store(walk.node, RAX);
  a.jmp(loop);
  a.bind(done);
}
