// Read-modify-write instructions on memory for eBPF atomics. Every form here is atomic with respect to
// other CPUs: the plain ALU forms and cmpxchg/xadd take a LOCK prefix, and xchg with memory is locked by
// the hardware on its own.

import { AluOp, aluMR } from "./arithmetic.js";
import type { CodeBuffer } from "./code-buffer.js";
import { LOCK, widthFlags } from "./encoding.js";
import { opMem, type Mem } from "./memory-operand.js";

/** `lock add/or/and/xor [m], src`. */
export function lockAlu(buf: CodeBuffer, op: typeof AluOp.Add | typeof AluOp.Or | typeof AluOp.And | typeof AluOp.Xor, width: 32 | 64, m: Mem, src: number): void {
  aluMR(buf, op, width, m, src, LOCK);
}

/** `lock xadd [m], src`: src receives the old value. */
export function lockXadd(buf: CodeBuffer, width: 32 | 64, m: Mem, src: number): void {
  opMem(buf, widthFlags(width) | LOCK, 0x0fc1, src, m);
}

/**
 * `lock cmpxchg [m], src`: if [m] equals rax/eax, [m] = src (ZF set); otherwise rax/eax = [m] (ZF clear).
 * The 32-bit form writes eax only on failure, so on success the upper half of rax is left as it was.
 */
export function lockCmpxchg(buf: CodeBuffer, width: 32 | 64, m: Mem, src: number): void {
  opMem(buf, widthFlags(width) | LOCK, 0x0fb1, src, m);
}

/** `xchg [m], src` (implicitly locked): src receives the old value. */
export function xchgMR(buf: CodeBuffer, width: 32 | 64, m: Mem, src: number): void {
  opMem(buf, widthFlags(width), 0x87, src, m);
}
