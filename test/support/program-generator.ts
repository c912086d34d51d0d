// A seeded generator of random eBPF programs for differential testing: every program it makes is valid,
// terminates (jumps only go forward), reads only initialised registers and stack bytes, and is accepted
// by the kernel verifier, so the kernel, the interpreter and the JIT can be asked for the same r0.
//
// Programs are built as a list of blocks; a jump may only land on a block boundary, so multi-instruction
// patterns (an lddw, a divisor set-up, an atomic with its kernel-bug workaround) are never entered in
// the middle. The last block folds every register and stack slot into r0 so every computed value counts.

import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";

/** A small, fast, deterministic PRNG (mulberry32); the same seed always gives the same sequence. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  chance(probability: number): boolean {
    return this.u32() / 4294967296 < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export interface GeneratorOptions {
  /** Body blocks between the set-up and the final fold (default: random in 8..48). */
  blocks?: number;
  /**
   * Bytes of input memory (r1 = pointer, r2 = length). The program starts by loading registers from it,
   * so the verifier sees values it cannot know and has to explore both sides of branches.
   */
  memoryLength?: number;
  /** Mask register shift amounts into range with an `and` first (default: only sometimes). */
  alwaysMaskShifts?: boolean;
  /**
   * Shape atomics around the two kernel bugs (default true). Turn off for engines without them (the
   * interpreter against the JIT): the same seed then gives the same program minus the workarounds.
   */
  kernelBugWorkarounds?: boolean;
}

export interface GeneratedCase {
  seed: number;
  program: Insn[];
  /** Input memory when the case uses it. */
  memory?: Uint8Array;
}

/** Stack slots (8 bytes each, below r10) the program initialises and then uses. */
const STACK_SLOTS = 8;
/** The slot below them that keeps the input memory pointer, so the body can keep reading input bytes. */
const MEMORY_POINTER_OFFSET = -8 * (STACK_SLOTS + 1);
const GENERAL_REGISTERS = 10; // r0..r9; r10 is the read-only frame pointer.

const IMM32_EDGES: readonly number[] = [0, 1, -1, 2, -2, 7, 8, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, -0x7fffffff];
const IMM64_EDGES: readonly bigint[] = [
  0n,
  1n,
  -1n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  0xffffffff80000000n,
  0xffffffff00000000n,
  0x7fffffffffffffffn,
  -0x8000000000000000n,
  0x8000000000000001n,
  0x0000ffff0000ffffn,
  0xff00ff00ff00ff00n,
];

const ALU_OPS: readonly number[] = [op.BPF_ADD, op.BPF_SUB, op.BPF_MUL, op.BPF_OR, op.BPF_AND, op.BPF_XOR, op.BPF_MOV, op.BPF_LSH, op.BPF_RSH, op.BPF_ARSH];
const DIV_OPS: readonly number[] = [op.BPF_DIV, op.BPF_MOD];
const SHIFT_OPS: readonly number[] = [op.BPF_LSH, op.BPF_RSH, op.BPF_ARSH];
const JUMP_OPS: readonly number[] = [
  op.BPF_JEQ,
  op.BPF_JGT,
  op.BPF_JGE,
  op.BPF_JSET,
  op.BPF_JNE,
  op.BPF_JSGT,
  op.BPF_JSGE,
  op.BPF_JLT,
  op.BPF_JLE,
  op.BPF_JSLT,
  op.BPF_JSLE,
];
const ATOMIC_OPS: readonly number[] = [
  op.BPF_ADD,
  op.BPF_OR,
  op.BPF_AND,
  op.BPF_XOR,
  op.BPF_ADD | op.BPF_FETCH,
  op.BPF_OR | op.BPF_FETCH,
  op.BPF_AND | op.BPF_FETCH,
  op.BPF_XOR | op.BPF_FETCH,
  op.BPF_XCHG,
  op.BPF_CMPXCHG,
];
const SIZES: readonly (readonly [size: number, bytes: number])[] = [
  [op.BPF_B, 1],
  [op.BPF_H, 2],
  [op.BPF_W, 4],
  [op.BPF_DW, 8],
];

/** A run of instructions no jump may enter except at its start; `jump` marks the slot to patch. */
interface Block {
  insns: Insn[];
  jump?: { at: number; toBlock: number; field: "off" | "imm" };
}

class ProgramBuilder {
  readonly blocks: Block[] = [];

  constructor(
    readonly rng: Prng,
    readonly options: GeneratorOptions,
  ) {}

  // ---- operands ----

  reg(): number {
    return this.rng.below(GENERAL_REGISTERS);
  }

  imm32(): number {
    const r = this.rng.below(4);
    if (r === 0) return this.rng.pick(IMM32_EDGES);
    if (r === 1) return this.rng.between(-16, 16);
    return this.rng.u32() | 0;
  }

  imm64(): bigint {
    const r = this.rng.below(5);
    if (r === 0) return this.rng.pick(IMM64_EDGES);
    if (r === 1) return BigInt.asIntN(64, 1n << BigInt(this.rng.below(64))) - BigInt(this.rng.below(2));
    if (r === 2) return BigInt(this.imm32()); // sign-extended 32-bit patterns
    return this.rng.u64();
  }

  /** A non-zero immediate: the verifier rejects division by a constant zero. */
  nonZeroImm32(): number {
    const value = this.imm32();
    return value === 0 ? this.rng.pick([1, -1, 3]) : value;
  }

  /** A stack offset below r10 for an access of `bytes`, aligned as the kernel requires for the stack. */
  stackOffset(bytes: number): number {
    const inSlot = this.rng.below(8 / bytes) * bytes;
    return -8 * (1 + this.rng.below(STACK_SLOTS)) + inSlot;
  }

  add(...insns: Insn[]): void {
    this.blocks.push({ insns });
  }

  // ---- set-up ----

  /** A load of input bytes through the pointer in `base` into `dst`, or undefined if none fit. */
  memoryLoad(dst: number, base: number): Insn | undefined {
    const length = this.options.memoryLength ?? 0;
    const [size, bytes] = this.rng.pick(SIZES);
    if (bytes > length) return undefined;
    const mode = bytes < 8 && this.rng.chance(0.3) ? op.BPF_MEMSX : op.BPF_MEM;
    return insn(op.BPF_LDX | mode | size, dst, base, this.rng.below(length - bytes + 1));
  }

  /**
   * r1 = memory and r2 = its length on entry. Keeps the pointer in a stack slot of its own and loads
   * some registers from the bytes; the rest are then given constants. Returns the registers loaded.
   */
  loadFromMemory(): Set<number> {
    this.add(insn(op.BPF_STX | op.BPF_MEM | op.BPF_DW, op.REG_FP, 1, MEMORY_POINTER_OFFSET));
    const loaded = new Set<number>();
    for (let r = 0; r < GENERAL_REGISTERS; r++) {
      if (r === 1 || r === 2 || !this.rng.chance(0.6)) continue;
      const load = this.memoryLoad(r, 1);
      if (!load) continue;
      this.add(load);
      loaded.add(r);
    }
    return loaded;
  }

  /** Reads fresh input bytes into a register: values the verifier cannot know, so it must branch. */
  reloadFromMemory(): void {
    const dst = this.reg();
    const load = this.memoryLoad(dst, dst);
    // The pointer is restored into dst and at once overwritten by the load through it, so no pointer
    // ever reaches an ALU instruction or the final fold.
    if (load) this.add(insn(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, dst, op.REG_FP, MEMORY_POINTER_OFFSET), load);
  }

  initialiseRegisters(skip: ReadonlySet<number>): void {
    for (let r = 0; r < GENERAL_REGISTERS; r++) {
      if (skip.has(r)) continue;
      this.add(...this.constantInto(r));
    }
  }

  constantInto(r: number): Insn[] {
    switch (this.rng.below(3)) {
      case 0:
        return lddw(r, this.imm64());
      case 1:
        return [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, r, 0, 0, this.imm32())];
      default:
        return [insn(op.BPF_ALU | op.BPF_MOV | op.BPF_K, r, 0, 0, this.imm32())];
    }
  }

  initialiseStack(): void {
    for (let slot = 1; slot <= STACK_SLOTS; slot++) {
      const store = this.rng.chance(0.5)
        ? insn(op.BPF_STX | op.BPF_MEM | op.BPF_DW, op.REG_FP, this.reg(), -8 * slot)
        : insn(op.BPF_ST | op.BPF_MEM | op.BPF_DW, op.REG_FP, 0, -8 * slot, this.imm32());
      this.add(store);
    }
  }

  // ---- body ----

  body(count: number): void {
    const kinds: readonly (readonly [weight: number, make: () => void])[] = [
      [30, () => this.alu()],
      [6, () => this.division()],
      [5, () => this.registerShift()],
      [2, () => this.neg()],
      [3, () => this.movsx()],
      [4, () => this.byteSwap()],
      [3, () => this.add(...lddw(this.reg(), this.imm64()))],
      [5, () => this.store()],
      [5, () => this.load()],
      [6, () => this.atomic()],
      [10, () => this.conditionalJump()],
      [2, () => this.unconditionalJump()],
      [this.options.memoryLength ? 6 : 0, () => this.reloadFromMemory()],
    ];
    const total = kinds.reduce((sum, [weight]) => sum + weight, 0);
    for (let i = 0; i < count; i++) {
      let roll = this.rng.below(total);
      for (const [weight, make] of kinds) {
        if (roll < weight) {
          make();
          break;
        }
        roll -= weight;
      }
    }
  }

  aluClass(): number {
    return this.rng.chance(0.5) ? op.BPF_ALU64 : op.BPF_ALU;
  }

  alu(): void {
    const cls = this.aluClass();
    const code = this.rng.pick(ALU_OPS);
    if (this.rng.chance(0.5)) {
      this.add(insn(cls | code | op.BPF_X, this.reg(), this.reg()));
      return;
    }
    const width = cls === op.BPF_ALU64 ? 64 : 32;
    // The verifier rejects constant shifts outside 0..width-1.
    const imm = SHIFT_OPS.includes(code) ? this.rng.below(width) : this.imm32();
    this.add(insn(cls | code | op.BPF_K, this.reg(), 0, 0, imm));
  }

  division(): void {
    const cls = this.aluClass();
    const code = this.rng.pick(DIV_OPS);
    const signed = this.rng.chance(0.5) ? 1 : 0;
    const dst = this.reg();
    const insns: Insn[] = [];
    if (this.rng.chance(0.15)) {
      // The signed-overflow case: INT_MIN / -1.
      insns.push(...lddw(dst, cls === op.BPF_ALU64 ? -(1n << 63n) : 0x80000000n));
    }
    if (this.rng.chance(0.5)) {
      this.add(...insns, insn(cls | code | op.BPF_K, dst, 0, signed, this.rng.chance(0.3) ? -1 : this.nonZeroImm32()));
      return;
    }
    const divisor = this.reg();
    if (divisor !== dst && this.rng.chance(0.6)) {
      // Small divisors, zero and -1 included: by-zero and overflow are checked at run time.
      insns.push(insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, divisor, 0, 0, this.rng.pick([0, 0, 1, -1, 2, 3, 7])));
    }
    this.add(...insns, insn(cls | code | op.BPF_X, dst, divisor, signed));
  }

  registerShift(): void {
    const cls = this.aluClass();
    const amount = this.reg();
    const dst = this.reg();
    const insns: Insn[] = [];
    if (this.options.alwaysMaskShifts || this.rng.chance(0.5)) {
      insns.push(insn(op.BPF_ALU64 | op.BPF_AND | op.BPF_K, amount, 0, 0, cls === op.BPF_ALU64 ? 63 : 31));
    }
    this.add(...insns, insn(cls | this.rng.pick(SHIFT_OPS) | op.BPF_X, dst, amount));
  }

  neg(): void {
    this.add(insn(this.aluClass() | op.BPF_NEG, this.reg()));
  }

  movsx(): void {
    const wide = this.rng.chance(0.5);
    const from = wide ? this.rng.pick([8, 16, 32]) : this.rng.pick([8, 16]);
    this.add(insn((wide ? op.BPF_ALU64 : op.BPF_ALU) | op.BPF_MOV | op.BPF_X, this.reg(), this.reg(), from));
  }

  byteSwap(): void {
    const code = this.rng.pick([op.BPF_ALU | op.BPF_END | op.BPF_TO_LE, op.BPF_ALU | op.BPF_END | op.BPF_TO_BE, op.BPF_ALU64 | op.BPF_END]);
    this.add(insn(code, this.reg(), 0, 0, this.rng.pick([16, 32, 64])));
  }

  store(): void {
    const [size, bytes] = this.rng.pick(SIZES);
    const off = this.stackOffset(bytes);
    if (this.rng.chance(0.5)) this.add(insn(op.BPF_STX | op.BPF_MEM | size, op.REG_FP, this.reg(), off));
    else this.add(insn(op.BPF_ST | op.BPF_MEM | size, op.REG_FP, 0, off, this.imm32()));
  }

  load(): void {
    const [size, bytes] = this.rng.pick(SIZES);
    const mode = bytes < 8 && this.rng.chance(0.4) ? op.BPF_MEMSX : op.BPF_MEM;
    this.add(insn(op.BPF_LDX | mode | size, this.reg(), op.REG_FP, this.stackOffset(bytes)));
  }

  atomic(): void {
    const wide = this.rng.chance(0.5);
    const size = wide ? op.BPF_DW : op.BPF_W;
    const code = op.BPF_STX | op.BPF_ATOMIC | size;
    const off = this.stackOffset(wide ? 8 : 4);
    const operation = this.rng.pick(ATOMIC_OPS);
    const insns: Insn[] = [];
    const workarounds = this.options.kernelBugWorkarounds ?? true;
    if (operation & op.BPF_FETCH) {
      // Kernel bug workaround: a fetching atomic on a slot the verifier knows to hold a constant confuses
      // its state pruning. Two identical non-fetching xors leave memory as it was but the value unknown.
      const scramble = this.reg();
      if (workarounds) insns.push(insn(code, op.REG_FP, scramble, off, op.BPF_XOR), insn(code, op.REG_FP, scramble, off, op.BPF_XOR));
    }
    if (operation === op.BPF_CMPXCHG && this.rng.chance(0.5)) {
      // Make the comparison succeed: r0 gets the slot's current value. For a 32-bit cmpxchg on the low
      // half of a slot, a 64-bit load does that too and also leaves r0's upper half set, which the
      // instruction must clear.
      const loadSize = !wide && off % 8 === 0 && this.rng.chance(0.5) ? op.BPF_DW : size;
      insns.push(insn(op.BPF_LDX | op.BPF_MEM | loadSize, 0, op.REG_FP, off));
    }
    insns.push(insn(code, op.REG_FP, this.reg(), off, operation));
    if (workarounds && operation === op.BPF_CMPXCHG && !wide) {
      // Kernel bug workaround: the x86 JIT may leave r0's upper half set after a 32-bit cmpxchg when
      // the verifier skips the zero-extension on a pruned path; this mov is a no-op on a correct VM.
      insns.push(insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, 0, 0));
    }
    this.add(...insns);
  }

  condition(): Insn {
    const cls = this.rng.chance(0.5) ? op.BPF_JMP : op.BPF_JMP32;
    const code = this.rng.pick(JUMP_OPS);
    return this.rng.chance(0.5)
      ? insn(cls | code | op.BPF_X, this.reg(), this.reg())
      : insn(cls | code | op.BPF_K, this.reg(), 0, 0, this.imm32());
  }

  /** A forward target: one of the next few blocks, or the fold at the end (resolved in `layout`). */
  target(): number {
    return this.blocks.length + 1 + this.rng.below(6);
  }

  conditionalJump(): void {
    const jump = this.condition();
    if (this.rng.chance(0.3)) {
      // Random operands are almost never equal or adjacent, so the boundary of every comparison would go
      // untested: set dst to the other operand, or one off from it, first.
      const delta = this.rng.pick([-1, 0, 0, 1]);
      const setUp =
        op.srcBit(jump.code) === op.BPF_X
          ? [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_X, jump.dst, jump.src), insn(op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, jump.dst, 0, 0, delta)]
          : [insn(this.aluClass() | op.BPF_MOV | op.BPF_K, jump.dst, 0, 0, (jump.imm + delta) | 0)];
      this.blocks.push({ insns: [...setUp, jump], jump: { at: setUp.length, toBlock: this.target(), field: "off" } });
      return;
    }
    this.blocks.push({ insns: [jump], jump: { at: 0, toBlock: this.target(), field: "off" } });
  }

  unconditionalJump(): void {
    // The verifier rejects unreachable code, so the blocks a `ja` skips must be reachable some other
    // way: a conditional jump over the `ja` leads into them.
    const skip = { ...this.condition(), off: 1 };
    const gotol = this.rng.chance(0.3);
    const ja = gotol ? insn(op.OP_JA32) : insn(op.OP_JA);
    this.blocks.push({ insns: [skip, ja], jump: { at: 1, toBlock: this.target(), field: gotol ? "imm" : "off" } });
  }

  // ---- end ----

  fold(): Insn[] {
    const mix = (): Insn => insn(op.BPF_ALU64 | op.BPF_MUL | op.BPF_K, 0, 0, 0, 0x9e3779b1 | 0);
    const out: Insn[] = [];
    for (let r = 1; r < GENERAL_REGISTERS; r++) out.push(mix(), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 0, r));
    for (let slot = 1; slot <= STACK_SLOTS; slot++) {
      out.push(insn(op.BPF_LDX | op.BPF_MEM | op.BPF_DW, 1, op.REG_FP, -8 * slot), mix(), insn(op.BPF_ALU64 | op.BPF_XOR | op.BPF_X, 0, 1));
    }
    out.push(insn(op.OP_EXIT));
    return out;
  }

  /** Places the blocks, patches jump distances (targets past the end land on the fold), appends the fold. */
  layout(): Insn[] {
    const starts: number[] = [];
    let at = 0;
    for (const block of this.blocks) {
      starts.push(at);
      at += block.insns.length;
    }
    const foldAt = at;
    const program: Insn[] = [];
    this.blocks.forEach((block, i) => {
      const insns = block.insns.map((x) => ({ ...x }));
      if (block.jump) {
        const target = block.jump.toBlock < this.blocks.length ? starts[block.jump.toBlock]! : foldAt;
        const jumpAt = starts[i]! + block.jump.at;
        insns[block.jump.at]![block.jump.field] = target - (jumpAt + 1);
      }
      program.push(...insns);
    });
    program.push(...this.fold());
    return program;
  }
}

/** A random program and, when `options.memoryLength` is set, its input memory. */
export function generateCase(seed: number, options: GeneratorOptions = {}): GeneratedCase {
  const rng = new Prng(seed);
  const builder = new ProgramBuilder(rng, options);
  const memoryLength = options.memoryLength;
  let fromMemory = new Set<number>();
  if (memoryLength !== undefined) {
    fromMemory = builder.loadFromMemory();
    // r2 (the length) is a scalar too and may stay as it is.
    if (rng.chance(0.5)) fromMemory.add(2);
  }
  builder.initialiseRegisters(fromMemory);
  builder.initialiseStack();
  builder.body(options.blocks ?? rng.between(8, 48));
  const program = builder.layout();
  return memoryLength === undefined ? { seed, program } : { seed, program, memory: rng.bytes(memoryLength) };
}

/** A random program without input memory. */
export function generateProgram(seed: number, options: Omit<GeneratorOptions, "memoryLength"> = {}): Insn[] {
  return generateCase(seed, options).program;
}
