// The hash family's element and bucket layout (src/maps/hash-map.ts) as the generated hash routines use
// it, and the emitters they share. Inside update and delete: rbx map, r12 key, r13 value, r14 flags (then
// an element index), r15d the key's hash, rbp the bucket record.

import { UpdateFlag } from "../../maps/map-types.js";
import { Errno } from "../../maps/errno.js";
import { HashElement, HashHeader } from "../../maps/hash-map.js";
import { Header } from "../../maps/header.js";
import { LruNode } from "../../maps/lru-list.js";
import { Cond } from "../x64/assembler/conditions.js";
import { R11, R12, R13, R14, R15, R9, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from "../x64/assembler/registers.js";
import { M, type Asm } from "./asm.js";

/** Bucket records (hash-map.ts): i32 lock, u32 first element or nulls marker; 8 bytes each. */
export const BUCKET_LOCK = 0;
export const BUCKET_FIRST = 4;
/** Each element's LRU node sits at element offset 8 (lru-list.ts). */
export const ELEMENT_REF = 8 + LruNode.ref;
export const NO_ELEMENT = -1;

export const SAVED = [RBX, RBP, R12, R13, R14, R15];
/** Locals of update/delete below the saved registers (keeps rsp 16-byte aligned). */
export const LOCALS = 24;
export const LOCAL_ELEMENT = 0;
export const LOCAL_OLD = 8;
export const LOCAL_RESULT = 16;

/** dst = address of element `index` (a zero-extended 32-bit register). */
export function elementAddress(a: Asm, dst: number, map: number, index: number, tmp: number): void {
  a.ld(32, dst, M(map, HashHeader.elementSize));
  a.imul(dst, index);
  a.ld(32, tmp, M(map, HashHeader.elementsOffset));
  a.add(dst, tmp);
  a.add(dst, map);
}

/** dst = address of the bucket record of `hash` (uses tmp). */
export function bucketAddress(a: Asm, dst: number, map: number, hash: number, tmp: number): void {
  a.ld(32, tmp, M(map, HashHeader.buckets));
  a.subi(tmp, 1, 32);
  a.and(tmp, hash, 32);
  a.ld(32, dst, M(map, HashHeader.bucketsOffset));
  a.add(dst, map);
  a.lea(dst, M(dst, 0, tmp, 8));
}

export function prologue(a: Asm): void {
  for (const reg of SAVED) a.push(reg);
  a.subi(RSP, LOCALS);
}

export function epilogue(a: Asm): void {
  a.addi(RSP, LOCALS);
  for (let i = SAVED.length - 1; i >= 0; i--) a.pop(SAVED[i]!);
  a.ret();
}

/** r15d = jhash of the key at r12 for the map at rbx. */
export function hashKey(a: Asm): void {
  a.mov(RDI, R12);
  a.ld(32, RSI, M(RBX, Header.keySize));
  a.ld(32, RDX, M(RBX, Header.seed));
  a.callFn("jhash");
  a.mov(R15, RAX, 32);
}

/** hash_find on the map at rbx for the key at r12 and hash r15d: rdx = element or 0, r8d = its index. */
export function find(a: Asm): void {
  a.mov(R11, RBX);
  a.mov(RDI, R12);
  a.mov(RAX, R15, 32);
  a.callFn("hash_find");
}

/** The element at `element` (an address register) was looked up by a program: set its LRU ref bit. */
export function setRef(a: Asm, element: number): void {
  const done = a.label();
  a.cmpMemImm(M(element, ELEMENT_REF), 0, 8);
  a.j(Cond.NE, done);
  a.sti(8, M(element, ELEMENT_REF), 1);
  a.bind(done);
}

/** Links element `index` (a 32-bit register other than rcx/rdx) at the head of the bucket at rbp. */
export function linkHead(a: Asm, index: number): void {
  elementAddress(a, RDX, RBX, index, RCX);
  a.ld(32, RCX, M(RBP, BUCKET_FIRST));
  a.st(32, M(RDX, HashElement.next), RCX);
  a.st(32, M(RBP, BUCKET_FIRST), index);
}

/** Writes the hash and the key (at r12) into the element at r9. */
export function fillElement(a: Asm): void {
  a.st(32, M(R9, HashElement.hash), R15);
  a.ld(32, RAX, M(RBX, HashHeader.keyOffset));
  a.lea(RDI, M(R9, 0, RAX));
  a.mov(RSI, R12);
  a.ld(32, RDX, M(RBX, Header.keySize));
  a.callFn("copy_bytes");
}

/** The -errno of HashMap.checkFlags in rax when the flags (r14) refuse the update, else falls through. */
export function checkFlags(a: Asm, found: boolean, refused: (errno: number) => void): void {
  const fine = a.label();
  a.cmpi(R14, found ? UpdateFlag.NOEXIST : UpdateFlag.EXIST);
  a.j(Cond.NE, fine);
  refused(found ? -Errno.EEXIST : -Errno.ENOENT);
  a.bind(fine);
}

