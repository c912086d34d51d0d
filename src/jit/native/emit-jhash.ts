// jhash (the kernel's lookup3, as src/maps/jhash.ts computes it) in generated code, so native hash map
// operations pick the same bucket for a key as the TypeScript side.
//
//   jhash(rdi key, esi length, edx initval) -> eax
//   preserves rdi, r11 and the callee-saved registers; clobbers rax, rcx, rdx, rsi, r8, r9, r10.
//
// The last 1..12 bytes are read without touching a byte past the key (the key may end a mapped page):
// whole dwords where 4 bytes remain, else a word and a byte.

import { Cond } from "../x64/assembler/conditions.js";
import { R10, R8, R9, RAX, RCX, RDI, RDX, RSI } from "../x64/assembler/registers.js";
import { AluOp, M, type Asm } from "./asm.js";

const JHASH_INITVAL = 0xdeadbeef | 0;
const A = R8;
const B = R9;
const C = R10;
const T = RAX;

/** x -= y; x ^= rol(y, k); y += z (one line of __jhash_mix). */
function mixStep(a: Asm, x: number, y: number, k: number, z: number): void {
  a.sub(x, y, 32);
  a.mov(T, y, 32);
  a.roli(T, k);
  a.xor(x, T, 32);
  a.add(y, z, 32);
}

/** x ^= y; x -= rol(y, k) (one line of __jhash_final). */
function finalStep(a: Asm, x: number, y: number, k: number): void {
  a.xor(x, y, 32);
  a.mov(T, y, 32);
  a.roli(T, k);
  a.sub(x, T, 32);
}

export function emitJhash(a: Asm): void {
  // partial(rcx pointer, esi count 1..4) -> eax: that many little-endian bytes, zero-extended. Uses edx.
  a.fn("jhash_partial");
  {
    const notFour = a.label();
    const one = a.label();
    const two = a.label();
    a.cmpi(RSI, 4, 32);
    a.j(Cond.NE, notFour);
    a.ld(32, RAX, M(RCX));
    a.ret();
    a.bind(notFour);
    a.cmpi(RSI, 2, 32);
    a.j(Cond.B, one);
    a.ld(16, RAX, M(RCX));
    a.j(Cond.E, two);
    a.ld(8, RDX, M(RCX, 2));
    a.shli(RDX, 16, 32);
    a.or(RAX, RDX, 32);
    a.bind(two);
    a.ret();
    a.bind(one);
    a.ld(8, RAX, M(RCX));
    a.ret();
  }

  a.fn("jhash");
  const blocks = a.label();
  const tail = a.label();
  const done = a.label();
  const final = a.label();
  a.mov(A, RSI, 32);
  a.add(A, RDX, 32);
  a.addi(A, JHASH_INITVAL, 32);
  a.mov(B, A, 32);
  a.mov(C, A, 32);
  a.mov(RCX, RDI);
  a.bind(blocks);
  a.cmpi(RSI, 12, 32);
  a.j(Cond.BE, tail);
  a.opm(AluOp.Add, A, M(RCX), 32);
  a.opm(AluOp.Add, B, M(RCX, 4), 32);
  a.opm(AluOp.Add, C, M(RCX, 8), 32);
  mixStep(a, A, C, 4, B);
  mixStep(a, B, A, 6, C);
  mixStep(a, C, B, 8, A);
  mixStep(a, A, C, 16, B);
  mixStep(a, B, A, 19, C);
  mixStep(a, C, B, 4, A);
  a.addi(RCX, 12);
  a.subi(RSI, 12, 32);
  a.jmp(blocks);

  a.bind(tail);
  a.test(RSI, RSI, 32);
  a.j(Cond.E, done);
  // 1..12 bytes left: up to three words, the last one partial.
  for (const word of [A, B, C]) {
    const full = a.label();
    a.cmpi(RSI, 4, 32);
    a.j(Cond.A, full);
    a.callFn("jhash_partial");
    a.add(word, RAX, 32);
    a.jmp(final);
    a.bind(full);
    a.opm(AluOp.Add, word, M(RCX), 32);
    a.addi(RCX, 4);
    a.subi(RSI, 4, 32);
  }
  a.bind(final);
  finalStep(a, C, B, 14);
  finalStep(a, A, C, 11);
  finalStep(a, B, A, 25);
  finalStep(a, C, B, 16);
  finalStep(a, A, C, 4);
  finalStep(a, B, A, 14);
  finalStep(a, C, B, 24);
  a.bind(done);
  a.mov(RAX, C, 32);
  a.ret();
}
