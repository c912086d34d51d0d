// A small position-dependent x86-64 writer for the hook stubs: exactly the instructions the trampolines
// need, with labels and RIP-relative / rel32 references resolved against the address the code will live
// at. (The JIT has its own, larger encoder; this one stays independent so the hook code can be generated
// and tested on its own.)

export const Reg = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
} as const;
export type Reg = (typeof Reg)[keyof typeof Reg];

/** Condition codes, as in `jcc` = 0F 80+cc and 70+cc. */
export const Cond = {
  o: 0,
  no: 1,
  b: 2,
  ae: 3,
  e: 4,
  ne: 5,
  be: 6,
  a: 7,
  s: 8,
  ns: 9,
  p: 10,
  np: 11,
  l: 12,
  ge: 13,
  le: 14,
  g: 15,
} as const;
export type Cond = (typeof Cond)[keyof typeof Cond];

/** A position in the code being written, bound once. */
export class Label {
  position: number | undefined;
}

/** Where a rel32 or RIP-relative disp32 points: a label in this code, or an absolute address. */
export type Target = Label | bigint;

/** A memory operand: [base + index*scale + disp], or [rip + x] aimed at a target. */
export type Memory =
  | { readonly kind: "base"; readonly base: Reg; readonly index?: Reg; readonly scale?: 1 | 2 | 4 | 8; readonly disp: number }
  | { readonly kind: "rip"; readonly target: Target }
  /** An absolute 32-bit address (SIB with no base and no index), used with the fs segment. */
  | { readonly kind: "absolute"; readonly address: number };

export function mem(base: Reg, disp = 0, index?: Reg, scale: 1 | 2 | 4 | 8 = 1): Memory {
  return index === undefined ? { kind: "base", base, disp } : { kind: "base", base, index, scale, disp };
}

export function rip(target: Target): Memory {
  return { kind: "rip", target };
}

/** An ALU operation's ModRM.reg extension in the 81/83 group and its r/m,reg opcode. */
const ALU = {
  add: { ext: 0, rr: 0x01 },
  or: { ext: 1, rr: 0x09 },
  and: { ext: 4, rr: 0x21 },
  sub: { ext: 5, rr: 0x29 },
  xor: { ext: 6, rr: 0x31 },
  cmp: { ext: 7, rr: 0x39 },
} as const;
export type AluOp = keyof typeof ALU;

interface Fixup {
  /** Position of the 4-byte field to fill. */
  readonly field: number;
  /** The address the field is relative to is origin + end (the end of the instruction). */
  readonly end: number;
  readonly target: Target;
}

export class HookCodeRangeError extends RangeError {
  override name = "HookCodeRangeError";
}

function fitsInt8(value: number): boolean {
  return value >= -128 && value <= 127;
}

function fitsInt32(value: bigint | number): boolean {
  const v = BigInt(value);
  return v >= -0x80000000n && v <= 0x7fffffffn;
}

export class X64Writer {
  private readonly bytes: number[] = [];
  private readonly fixups: Fixup[] = [];

  /** `origin` is the address the first byte will have once the code is placed. */
  constructor(readonly origin: bigint) {}

  get position(): number {
    return this.bytes.length;
  }

  addressOf(target: Target): bigint {
    if (typeof target === "bigint") return target;
    if (target.position === undefined) throw new Error("label used but never bound");
    return this.origin + BigInt(target.position);
  }

  label(): Label {
    return new Label();
  }

  bind(label: Label): void {
    if (label.position !== undefined) throw new Error("label bound twice");
    label.position = this.position;
  }

  /** A new label bound here. */
  here(): Label {
    const label = new Label();
    this.bind(label);
    return label;
  }

  raw(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.bytes.push(bytes[i]! & 0xff);
  }

  u32(value: number): void {
    const v = value >>> 0;
    this.raw([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
  }

  u64(value: bigint): void {
    const v = BigInt.asUintN(64, value);
    for (let i = 0n; i < 8n; i++) this.bytes.push(Number((v >> (8n * i)) & 0xffn));
  }

  /** Pads with `fill` up to a multiple of `alignment` (relative to the origin, which callers keep aligned). */
  align(alignment: number, fill = 0xcc): void {
    while ((this.origin + BigInt(this.position)) % BigInt(alignment) !== 0n) this.bytes.push(fill);
  }

  /** The finished code, with every label and address reference resolved. */
  finish(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    const view = new DataView(out.buffer);
    for (const fixup of this.fixups) {
      const delta = this.addressOf(fixup.target) - (this.origin + BigInt(fixup.end));
      if (!fitsInt32(delta)) {
        throw new HookCodeRangeError(
          `a reference at 0x${(this.origin + BigInt(fixup.field)).toString(16)} to 0x${this.addressOf(fixup.target).toString(16)} is beyond ±2 GB`,
        );
      }
      view.setInt32(fixup.field, Number(delta), true);
    }
    return out;
  }

  /** True if a rel32 from somewhere in this code (at most `slack` bytes away) can reach `address`. */
  reaches(address: bigint, slack = 4096): boolean {
    const here = this.origin + BigInt(this.position);
    return fitsInt32(address - here - BigInt(slack)) && fitsInt32(address - here + BigInt(slack));
  }

  // ----- encoding core -----

  private rex(w: boolean, reg: number, index: number, base: number, force = false): void {
    const value = 0x40 | (w ? 8 : 0) | ((reg & 8) >> 1) | ((index & 8) >> 2) | ((base & 8) >> 3);
    if (value !== 0x40 || force) this.bytes.push(value);
  }

  /**
   * [prefixes] [REX] opcode ModRM [SIB] [disp] — then the caller appends `immediateSize` bytes of immediate.
   * `reg` is the ModRM.reg field (a register or an opcode extension).
   */
  private modrm(opts: {
    prefixes?: readonly number[];
    w: boolean;
    opcode: readonly number[];
    reg: number;
    rm: Reg | Memory;
    immediateSize?: number;
  }): void {
    const { w, opcode, reg, rm } = opts;
    const immediateSize = opts.immediateSize ?? 0;
    for (const p of opts.prefixes ?? []) this.bytes.push(p);
    if (typeof rm === "number") {
      this.rex(w, reg, 0, rm);
      this.raw(opcode);
      this.bytes.push(0xc0 | ((reg & 7) << 3) | (rm & 7));
      return;
    }
    if (rm.kind === "rip") {
      this.rex(w, reg, 0, 0);
      this.raw(opcode);
      this.bytes.push(((reg & 7) << 3) | 5);
      const field = this.position;
      this.u32(0);
      this.fixups.push({ field, end: field + 4 + immediateSize, target: rm.target });
      return;
    }
    if (rm.kind === "absolute") {
      this.rex(w, reg, 0, 0);
      this.raw(opcode);
      this.bytes.push(((reg & 7) << 3) | 4, 0x25);
      this.u32(rm.address);
      return;
    }
    const { base, disp } = rm;
    const index = rm.index;
    if (index === Reg.rsp) throw new Error("rsp cannot be an index register");
    this.rex(w, reg, index ?? 0, base);
    this.raw(opcode);
    // rbp/r13 as a base have no disp-less form; rsp/r12 as a base need a SIB byte.
    const mod = disp === 0 && (base & 7) !== 5 ? 0 : fitsInt8(disp) ? 1 : 2;
    const needsSib = index !== undefined || (base & 7) === 4;
    this.bytes.push((mod << 6) | ((reg & 7) << 3) | (needsSib ? 4 : base & 7));
    if (needsSib) {
      const scaleBits = { 1: 0, 2: 1, 4: 2, 8: 3 }[rm.scale ?? 1];
      this.bytes.push((scaleBits << 6) | (((index ?? Reg.rsp) & 7) << 3) | (base & 7));
    }
    if (mod === 1) this.bytes.push(disp & 0xff);
    else if (mod === 2) this.u32(disp);
  }

  private rel32(opcode: readonly number[], target: Target): void {
    this.raw(opcode);
    const field = this.position;
    this.u32(0);
    this.fixups.push({ field, end: field + 4, target });
  }

  // ----- instructions -----

  push(reg: Reg): void {
    this.rex(false, 0, 0, reg);
    this.bytes.push(0x50 | (reg & 7));
  }

  pop(reg: Reg): void {
    this.rex(false, 0, 0, reg);
    this.bytes.push(0x58 | (reg & 7));
  }

  /** push imm32, sign-extended to 64 bits. */
  pushImm32(value: number): void {
    if (fitsInt8(value)) this.raw([0x6a, value & 0xff]);
    else {
      this.bytes.push(0x68);
      this.u32(value);
    }
  }

  pushMem(m: Memory): void {
    this.modrm({ w: false, opcode: [0xff], reg: 6, rm: m });
  }

  pushfq(): void {
    this.bytes.push(0x9c);
  }

  popfq(): void {
    this.bytes.push(0x9d);
  }

  cld(): void {
    this.bytes.push(0xfc);
  }

  std(): void {
    this.bytes.push(0xfd);
  }

  /** sahf: SF, ZF, AF, PF, CF from ah (OF untouched). */
  sahf(): void {
    this.bytes.push(0x9e);
  }

  /** bt r/m32, imm8: CF = bit `bit` of the operand. */
  bt(rm: Reg | Memory, bit: number): void {
    this.modrm({ w: false, opcode: [0x0f, 0xba], reg: 4, rm, immediateSize: 1 });
    this.bytes.push(bit & 31);
  }

  /** mov ah, al. */
  movAhAl(): void {
    this.raw([0x88, 0xc4]);
  }

  /** add cl, imm8. */
  addCl(value: number): void {
    this.raw([0x80, 0xc1, value & 0xff]);
  }

  /** movzx ecx, byte [m]. */
  loadByteZeroExtended(dst: Reg, m: Memory): void {
    this.modrm({ w: false, opcode: [0x0f, 0xb6], reg: dst, rm: m });
  }

  ret(): void {
    this.bytes.push(0xc3);
  }

  int3(): void {
    this.bytes.push(0xcc);
  }

  ud2(): void {
    this.raw([0x0f, 0x0b]);
  }

  mov(dst: Reg, src: Reg): void {
    this.modrm({ w: true, opcode: [0x89], reg: src, rm: dst });
  }

  load(dst: Reg, m: Memory): void {
    this.modrm({ w: true, opcode: [0x8b], reg: dst, rm: m });
  }

  store(m: Memory, src: Reg): void {
    this.modrm({ w: true, opcode: [0x89], reg: src, rm: m });
  }

  /** mov qword [m], imm32 (sign-extended). */
  storeImm(m: Memory, value: number): void {
    this.modrm({ w: true, opcode: [0xc7], reg: 0, rm: m, immediateSize: 4 });
    this.u32(value);
  }

  /** mov dword [m], imm32. */
  storeImm32(m: Memory, value: number): void {
    this.modrm({ w: false, opcode: [0xc7], reg: 0, rm: m, immediateSize: 4 });
    this.u32(value);
  }

  /** The shortest mov of a 64-bit constant: mov r32 (zero-extends), mov r64 sign-extended imm32, or movabs. */
  movImm(dst: Reg, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    if (v <= 0xffffffffn) {
      this.rex(false, 0, 0, dst);
      this.bytes.push(0xb8 | (dst & 7));
      this.u32(Number(v));
    } else if (fitsInt32(BigInt.asIntN(64, v))) {
      this.modrm({ w: true, opcode: [0xc7], reg: 0, rm: dst, immediateSize: 4 });
      this.u32(Number(BigInt.asIntN(64, v)));
    } else {
      this.rex(true, 0, 0, dst);
      this.bytes.push(0xb8 | (dst & 7));
      this.u64(v);
    }
  }

  lea(dst: Reg, m: Memory): void {
    this.modrm({ w: true, opcode: [0x8d], reg: dst, rm: m });
  }

  /** op r/m64, imm (imm8 when it fits, else imm32 sign-extended). */
  aluImm(op: AluOp, rm: Reg | Memory, value: number): void {
    const { ext } = ALU[op];
    if (fitsInt8(value)) {
      this.modrm({ w: true, opcode: [0x83], reg: ext, rm, immediateSize: 1 });
      this.bytes.push(value & 0xff);
    } else {
      this.modrm({ w: true, opcode: [0x81], reg: ext, rm, immediateSize: 4 });
      this.u32(value);
    }
  }

  /** op r/m64, r64. */
  alu(op: AluOp, rm: Reg | Memory, src: Reg): void {
    this.modrm({ w: true, opcode: [ALU[op].rr], reg: src, rm });
  }

  test(rm: Reg | Memory, src: Reg): void {
    this.modrm({ w: true, opcode: [0x85], reg: src, rm });
  }

  /** xor r32, r32: zeroes the full register. */
  zero(reg: Reg): void {
    this.modrm({ w: false, opcode: [0x31], reg, rm: reg });
  }

  inc(rm: Reg | Memory): void {
    this.modrm({ w: true, opcode: [0xff], reg: 0, rm });
  }

  dec(rm: Reg | Memory): void {
    this.modrm({ w: true, opcode: [0xff], reg: 1, rm });
  }

  shl(reg: Reg, count: number): void {
    this.modrm({ w: true, opcode: [0xc1], reg: 4, rm: reg, immediateSize: 1 });
    this.bytes.push(count & 63);
  }

  shr(reg: Reg, count: number): void {
    this.modrm({ w: true, opcode: [0xc1], reg: 5, rm: reg, immediateSize: 1 });
    this.bytes.push(count & 63);
  }

  /** imul dst, src, imm32 (the constant is sign-extended to 64 bits). */
  imulImm(dst: Reg, src: Reg, value: number): void {
    this.modrm({ w: true, opcode: [0x69], reg: dst, rm: src, immediateSize: 4 });
    this.u32(value);
  }

  /** imul dst, src (64-bit, low half of the product). */
  imul(dst: Reg, src: Reg | Memory): void {
    this.modrm({ w: true, opcode: [0x0f, 0xaf], reg: dst, rm: src });
  }

  /** lock cmpxchg [m], src (compares with rax). */
  lockCmpxchg(m: Memory, src: Reg): void {
    this.modrm({ prefixes: [0xf0], w: true, opcode: [0x0f, 0xb1], reg: src, rm: m });
  }

  /** lock add qword [m], imm. */
  lockAddImm(m: Memory, value: number): void {
    this.bytes.push(0xf0);
    this.aluImm("add", m, value);
  }

  call(rm: Reg | Memory): void {
    this.modrm({ w: false, opcode: [0xff], reg: 2, rm });
  }

  jmpIndirect(rm: Reg | Memory): void {
    this.modrm({ w: false, opcode: [0xff], reg: 4, rm });
  }

  /** jmp rel32 */
  jmp(target: Target): void {
    this.rel32([0xe9], target);
  }

  /** call rel32 */
  callRelative(target: Target): void {
    this.rel32([0xe8], target);
  }

  /** jcc rel32 */
  jcc(cond: Cond, target: Target): void {
    this.rel32([0x0f, 0x80 | cond], target);
  }

  /** jmp [rip+0] followed by the 8-byte address: reaches anywhere, clobbers nothing (14 bytes). */
  jmpAbsolute(address: bigint): void {
    this.raw([0xff, 0x25, 0, 0, 0, 0]);
    this.u64(address);
  }

  /** movaps [m], xmm (m 16-byte aligned). */
  storeXmm(m: Memory, xmm: number): void {
    this.modrm({ w: false, opcode: [0x0f, 0x29], reg: xmm, rm: m });
  }

  /** movaps xmm, [m] (m 16-byte aligned). */
  loadXmm(xmm: number, m: Memory): void {
    this.modrm({ w: false, opcode: [0x0f, 0x28], reg: xmm, rm: m });
  }

  /** mov dst, fs:[offset]: under the x86-64 TLS ABI fs:[0] holds the thread pointer itself. */
  loadFs(dst: Reg, offset: number): void {
    this.modrm({ prefixes: [0x64], w: true, opcode: [0x8b], reg: dst, rm: { kind: "absolute", address: offset } });
  }

  /** rdfsbase dst (needs CR4.FSGSBASE, which Linux >= 5.9 enables and reports as HWCAP2_FSGSBASE). */
  rdfsbase(dst: Reg): void {
    this.modrm({ prefixes: [0xf3], w: true, opcode: [0x0f, 0xae], reg: 0, rm: dst });
  }
}
