// The fixed eBPF -> x86-64 register assignment and the layout of a run's native stack frame.
//
// r1..r5 sit in the System V argument registers in order (rdi, rsi, rdx, rcx, r8), so a helper call is a
// bare `call` with no shuffling, and r0 sits in rax, where a helper's result arrives. r6..r9 live in
// callee-saved registers, so they survive helper calls for free, as eBPF requires. r10 (the frame
// pointer) is rbp. This is the Linux kernel's assignment; the price is that r4 is rcx, which variable
// shifts need for their count (they save and restore it around the shift).
//
// r9, r10 and r11 are scratch for multi-instruction sequences; r12 holds the frame base for the whole
// run (it is callee-saved, so helpers keep it).

import { R12, R13, R14, R15, R8, RAX, RBP, RBX, RCX, RDI, RDX, RSI } from "../assembler/registers.js";
import { MAX_CALL_DEPTH, STACK_FRAME_SIZE } from "../../../isa/opcodes.js";

export const BPF_TO_X64: readonly number[] = [RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP];

/** The frame base: rsp right after the prologue, for the whole run (tail calls included). */
export const FRAME = R12;

/**
 * The frame, from FRAME upwards: a 64-byte header of per-run state, then the eBPF stack of
 * MAX_CALL_DEPTH frames of 512 bytes. r10 starts at its top; each bpf-to-bpf call moves it 512 down.
 */
export const HEADER_TAIL_CALLS = 0;
/** Checked mode: instructions left before the run is stopped (approximate, counted at back edges). */
export const HEADER_BUDGET = 8;
/** Checked mode: the input memory's address. */
export const HEADER_MEMORY_BASE = 16;
/** Checked mode: for an access of 1, 2, 4, 8 bytes, how many offsets into the input memory are valid. */
export const HEADER_MEMORY_LIMITS = 24;
/** may_goto: how many more times a may_goto may fall through in this run. */
export const HEADER_MAY_GOTO = 56;
export const HEADER_SIZE = 64;
export const STACK_BYTES = STACK_FRAME_SIZE * MAX_CALL_DEPTH;
/** Bytes the prologue reserves below the saved registers; keeps rsp 8 mod 16 so the body runs 16-aligned. */
export const FRAME_BYTES = HEADER_SIZE + STACK_BYTES;
export const STACK_TOP = FRAME_BYTES;

/** The kernel's BPF_MAX_LOOPS: may_goto falls through this many times per run, then jumps. */
export const MAX_MAY_GOTO = 8 * 1024 * 1024;

/** The kernel's MAX_TAIL_CALL_CNT: a chain of at most this many tail calls. */
export const MAX_TAIL_CALLS = 33;

/** Offset of the header slot with the valid-offset count for accesses of `size` bytes. */
export function memoryLimitSlot(size: 1 | 2 | 4 | 8): number {
  return HEADER_MEMORY_LIMITS + 8 * (size === 1 ? 0 : size === 2 ? 1 : size === 4 ? 2 : 3);
}

/**
 * The status block of a checked program (native memory the compiled code writes when it stops a run):
 * the fault kind, the slot index, the address involved, the access size, and the budget a run starts with.
 */
export const STATUS_KIND = 0;
export const STATUS_PC = 4;
export const STATUS_ADDRESS = 8;
export const STATUS_BUDGET = 16;
export const STATUS_SIZE = 24;

export const FaultKind = {
  None: 0,
  /** Read outside the input memory and the stack; the size is in bits 8..15 of the kind word. */
  Read: 1,
  Write: 2,
  Budget: 3,
  /** callx to something that is neither a helper id nor a function of the program. */
  BadCallTarget: 4,
  UnknownHelper: 5,
} as const;
