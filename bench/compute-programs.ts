import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Compute programs for throughput benchmarks, in the conformance assembler's syntax, with the input memory
// they run on and the r0 each must return (so a benchmark also checks it measured a correct run).

export interface ComputeProgram {
  readonly name: string;
  readonly asm: string;
  readonly memory?: Uint8Array;
  readonly expected: bigint;
}

const LOG2_VALUES = 8192;
const COPY_BYTES = 1 << 20;
/** Bytes of each string of the strcmp programs (the NUL included); offsets must fit the 16-bit field. */
export const STRCMP_BYTES = 16_384;
const SWITCH_ITERATIONS = 100_000;

/** Counts primes below 10,000 by trial division (1229): the README's example program. */
const prime: ComputeProgram = {
  name: "prime",
  asm: readFileSync(fileURLToPath(new URL("../../examples/prime.asm", import.meta.url)), "utf8"),
  expected: 1229n,
};

function log2Input(): { memory: Uint8Array; expected: bigint } {
  const memory = new Uint8Array(LOG2_VALUES * 8);
  const view = new DataView(memory.buffer);
  let seed = 0x2545f491n;
  let sum = 0n;
  for (let i = 0; i < LOG2_VALUES; i++) {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    const value = seed >> BigInt(i % 64) || 1n;
    view.setBigUint64(i * 8, value, true);
    sum += BigInt(value.toString(2).length - 1);
  }
  return { memory, expected: sum };
}

/** Sums floor(log2(x)) over an array of u64 by successive halving. */
const log2Steps = [32, 16, 8, 4, 2, 1]
  .map(
    (bits) => `
    mov %r5, %r3
    rsh %r5, ${bits}
    jeq %r5, 0, skip${bits}
    add %r4, ${bits}
    rsh %r3, ${bits}
  skip${bits}:`,
  )
  .join("");
const log2: ComputeProgram = {
  name: "log2",
  asm: `
    mov %r0, 0
    mov %r6, %r1
    mov %r7, %r1
    add %r7, %r2
  loop:
    ldxdw %r3, [%r6]
    mov %r4, 0${log2Steps}
    add %r0, %r4
    add %r6, 8
    jlt %r6, %r7, loop
    exit`,
  ...log2Input(),
};

function copyInput(): Uint8Array {
  const memory = new Uint8Array(COPY_BYTES * 2);
  for (let i = 0; i < COPY_BYTES; i++) memory[i] = (i * 7 + 3) & 0xff;
  return memory;
}

/** Copies the first half of memory to the second half a byte at a time; returns the last byte copied. */
const byteCopy: ComputeProgram = {
  name: "byte-copy",
  asm: `
    mov %r6, %r1
    mov %r7, %r2
    rsh %r7, 1
    add %r7, %r1
    mov %r8, %r7
  loop:
    ldxb %r3, [%r6]
    stxb [%r7], %r3
    add %r6, 1
    add %r7, 1
    jlt %r6, %r8, loop
    mov %r0, %r3
    exit`,
  memory: copyInput(),
  expected: BigInt(((COPY_BYTES - 1) * 7 + 3) & 0xff),
};

function switchExpected(): bigint {
  let r0 = 0n;
  const mask = (1n << 64n) - 1n;
  for (let i = 0n; i < BigInt(SWITCH_ITERATIONS); i++) {
    switch (Number(i & 7n)) {
      case 0: r0 = (r0 + i) & mask; break;
      case 1: r0 = (r0 - 3n) & mask; break;
      case 2: r0 = (r0 ^ (i << 3n)) & mask; break;
      case 3: r0 = (r0 * 3n) & mask; break;
      case 4: r0 = r0 >> 1n; break;
      case 5: r0 = (r0 | 0x10n) & mask; break;
      case 6: r0 = (r0 + 0x12345n) & mask; break;
      default: r0 = (r0 ^ i) & mask;
    }
  }
  return r0;
}

/** A loop whose body dispatches on i % 8 through a chain of compares, as clang emits small switches. */
const switchLoop: ComputeProgram = {
  name: "switch",
  asm: `
    mov %r0, 0
    mov %r1, 0
  loop:
    mov %r2, %r1
    and %r2, 7
    jeq %r2, 0, c0
    jeq %r2, 1, c1
    jeq %r2, 2, c2
    jeq %r2, 3, c3
    jeq %r2, 4, c4
    jeq %r2, 5, c5
    jeq %r2, 6, c6
    xor %r0, %r1
    ja next
  c0:
    add %r0, %r1
    ja next
  c1:
    sub %r0, 3
    ja next
  c2:
    mov %r3, %r1
    lsh %r3, 3
    xor %r0, %r3
    ja next
  c3:
    mul %r0, 3
    ja next
  c4:
    rsh %r0, 1
    ja next
  c5:
    or %r0, 0x10
    ja next
  c6:
    add %r0, 0x12345
  next:
    add %r1, 1
    jlt %r1, ${SWITCH_ITERATIONS}, loop
    exit`,
  expected: switchExpected(),
};

/** Two strings of STRCMP_BYTES bytes each, back to back; the second differs at `differAt` (or not at all). */
export function strcmpInput(differAt: number | undefined): Uint8Array {
  const memory = new Uint8Array(2 * STRCMP_BYTES);
  for (let i = 0; i < STRCMP_BYTES - 1; i++) memory[i] = memory[STRCMP_BYTES + i] = 97 + (i % 26);
  if (differAt !== undefined) memory[STRCMP_BYTES + differAt] = 65;
  return memory;
}

const strcmpAsm = `
    mov %r6, %r1
    mov %r7, %r1
    add %r7, ${STRCMP_BYTES}
    mov %r0, 0
  loop:
    ldxb %r3, [%r6]
    ldxb %r4, [%r7]
    jne %r3, %r4, differ
    jeq %r3, 0, out
    add %r6, 1
    add %r7, 1
    ja loop
  differ:
    mov %r0, %r3
    sub %r0, %r4
  out:
    exit`;

/** strcmp of two equal strings: every byte up to the NUL is compared. */
const strcmpMatch: ComputeProgram = { name: "strcmp-match", asm: strcmpAsm, memory: strcmpInput(undefined), expected: 0n };

/** strcmp of strings that differ a quarter of the way in; r0 = the byte difference. */
const STRCMP_DIFFER_AT = STRCMP_BYTES / 4;
const strcmpMismatch: ComputeProgram = {
  name: "strcmp-mismatch",
  asm: strcmpAsm,
  memory: strcmpInput(STRCMP_DIFFER_AT),
  expected: BigInt(97 + (STRCMP_DIFFER_AT % 26) - 65),
};

export const COMPUTE_PROGRAMS: readonly ComputeProgram[] = [prime, log2, byteCopy, strcmpMatch, strcmpMismatch, switchLoop];
