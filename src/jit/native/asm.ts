// A compact front end over the shared x86-64 encoder for hand-written native routines (map operations,
// helpers, test drivers): one object that owns the code buffer, named functions, labels and a terse
// instruction vocabulary, so that a routine reads like an assembly listing.
//
// Conventions: widths are in bits; loads of 8 and 16 bits zero-extend (movzx), 32-bit loads and ALU ops
// zero the upper half as the hardware does. Functions are System V: arguments in rdi, rsi, rdx, rcx, r8,
// r9, the result in rax; rbx, rbp and r12..r15 must be preserved.

import { AluOp, aluMI, aluMR, aluRI, aluRM, aluRR, imulRR, testRI, testRR, UnaryOp, unaryR } from "../x64/assembler/arithmetic.js";
import { lockAlu, lockCmpxchg, lockXadd, xchgMR } from "../x64/assembler/atomics.js";
import { CodeBuffer } from "../x64/assembler/code-buffer.js";
import { callR, jmpR, pop, push, ret } from "../x64/assembler/control.js";
import { bind, callLabel, jccLabel, jmpLabel, Label } from "../x64/assembler/labels.js";
import { mem, ripMem, type Mem } from "../x64/assembler/memory-operand.js";
import { cmov, lea, loadConstant, movMI, movMR, movRM, movRR, movzxRM, setcc, movzxRR } from "../x64/assembler/moves.js";
import { NO_INDEX, type Width } from "../x64/assembler/registers.js";
import { ShiftOp, shiftRCl, shiftRI } from "../x64/assembler/shifts.js";
import { movFromFs, pause, rdpid, rdtscp, repMovsb, repStosb, syscallInsn } from "./x64-extras.js";

export { AluOp, Label };
export type { Mem };

/** [base + index * scale + disp]. */
export function M(base: number, disp = 0, index = NO_INDEX, scale: 1 | 2 | 4 | 8 = 1): Mem {
  return mem(base, disp, index, scale);
}

const halves = (value: bigint): [number, number] => {
  const bits = BigInt.asUintN(64, value);
  return [Number(BigInt.asIntN(32, bits & 0xffffffffn)), Number(BigInt.asIntN(32, bits >> 32n))];
};

export class Asm {
  readonly buf = new CodeBuffer(8192);
  /** Entry points by name, as code offsets. */
  readonly functions = new Map<string, Label>();

  /** Starts a named function here (16-byte aligned, padded with int3); calls may precede it. */
  fn(name: string): Label {
    const label = this.ref(name);
    if (label.offset >= 0) throw new Error(`native function '${name}' defined twice`);
    while (this.buf.length % 16 !== 0) this.buf.byte(0xcc);
    bind(this.buf, label);
    return label;
  }

  /** The label of a function defined (or to be defined) under `name`. */
  ref(name: string): Label {
    let label = this.functions.get(name);
    if (!label) {
      label = new Label();
      this.functions.set(name, label);
    }
    return label;
  }

  offsetOf(name: string): number {
    const label = this.functions.get(name);
    if (!label || label.offset < 0) throw new Error(`native function '${name}' was never emitted`);
    return label.offset;
  }

  label(): Label {
    return new Label();
  }

  bind(label: Label): void {
    bind(this.buf, label);
  }

  // ---- data movement ----

  mov(dst: number, src: number, width: Width = 64): void {
    movRR(this.buf, width, dst, src);
  }

  /** dst = a 64-bit constant (shortest encoding; zero uses xor, which clobbers the flags). */
  li(dst: number, value: number | bigint): void {
    const [lo, hi] = halves(BigInt(value));
    loadConstant(this.buf, dst, lo, hi);
  }

  /** Load, zero-extended for 8 and 16 bits. */
  ld(width: Width, dst: number, m: Mem): void {
    if (width === 8 || width === 16) movzxRM(this.buf, width, dst, m);
    else movRM(this.buf, width, dst, m);
  }

  st(width: Width, m: Mem, src: number): void {
    movMR(this.buf, width, m, src);
  }

  /** Store of an immediate (sign-extended imm32 for 64 bits). */
  sti(width: Width, m: Mem, imm: number): void {
    movMI(this.buf, width, m, imm);
  }

  lea(dst: number, m: Mem): void {
    lea(this.buf, 64, dst, m);
  }

  /** dst = the address of a label already bound in this code (RIP-relative, position-independent). */
  leaLabel(dst: number, label: Label): void {
    if (label.offset < 0) throw new Error("leaLabel needs a label that is already bound");
    lea(this.buf, 64, dst, ripMem(label.offset));
  }

  zx8(dst: number, src: number): void {
    movzxRR(this.buf, 8, dst, src);
  }

  // ---- arithmetic ----

  op(op: AluOp, dst: number, src: number, width: Width = 64): void {
    aluRR(this.buf, op, width, dst, src);
  }

  opi(op: AluOp, dst: number, imm: number, width: Width = 64): void {
    aluRI(this.buf, op, width, dst, imm);
  }

  /** `op dst, [m]`. */
  opm(op: AluOp, dst: number, m: Mem, width: Width = 64): void {
    aluRM(this.buf, op, width, dst, m);
  }

  /** `op [m], src`. */
  opToMem(op: AluOp, m: Mem, src: number, width: Width = 64): void {
    aluMR(this.buf, op, width, m, src);
  }

  /** `op [m], imm`. */
  opMemImm(op: AluOp, m: Mem, imm: number, width: Width = 64): void {
    aluMI(this.buf, op, width, m, imm);
  }

  add(dst: number, src: number, width: Width = 64): void {
    this.op(AluOp.Add, dst, src, width);
  }

  addi(dst: number, imm: number, width: Width = 64): void {
    if (imm !== 0) this.opi(AluOp.Add, dst, imm, width);
  }

  sub(dst: number, src: number, width: Width = 64): void {
    this.op(AluOp.Sub, dst, src, width);
  }

  subi(dst: number, imm: number, width: Width = 64): void {
    this.opi(AluOp.Sub, dst, imm, width);
  }

  and(dst: number, src: number, width: Width = 64): void {
    this.op(AluOp.And, dst, src, width);
  }

  andi(dst: number, imm: number, width: Width = 64): void {
    this.opi(AluOp.And, dst, imm, width);
  }

  or(dst: number, src: number, width: Width = 64): void {
    this.op(AluOp.Or, dst, src, width);
  }

  ori(dst: number, imm: number, width: Width = 64): void {
    this.opi(AluOp.Or, dst, imm, width);
  }

  xor(dst: number, src: number, width: Width = 64): void {
    this.op(AluOp.Xor, dst, src, width);
  }

  xori(dst: number, imm: number, width: Width = 64): void {
    this.opi(AluOp.Xor, dst, imm, width);
  }

  cmp(a: number, b: number, width: Width = 64): void {
    this.op(AluOp.Cmp, a, b, width);
  }

  cmpi(a: number, imm: number, width: Width = 64): void {
    this.opi(AluOp.Cmp, a, imm, width);
  }

  /** `cmp reg, [m]`. */
  cmpm(a: number, m: Mem, width: Width = 64): void {
    aluRM(this.buf, AluOp.Cmp, width, a, m);
  }

  /** `cmp [m], imm`. */
  cmpMemImm(m: Mem, imm: number, width: Width = 64): void {
    aluMI(this.buf, AluOp.Cmp, width, m, imm);
  }

  test(a: number, b: number, width: Width = 64): void {
    testRR(this.buf, width, a, b);
  }

  testi(a: number, imm: number, width: Width = 64): void {
    testRI(this.buf, width, a, imm);
  }

  imul(dst: number, src: number, width: 32 | 64 = 64): void {
    imulRR(this.buf, width, dst, src);
  }

  neg(reg: number, width: Width = 64): void {
    unaryR(this.buf, UnaryOp.Neg, width, reg);
  }

  not(reg: number, width: Width = 64): void {
    unaryR(this.buf, UnaryOp.Not, width, reg);
  }

  /** Unsigned rdx:rax / reg: quotient in rax, remainder in rdx. */
  div(reg: number, width: 32 | 64 = 64): void {
    unaryR(this.buf, UnaryOp.Div, width, reg);
  }

  shli(reg: number, count: number, width: Width = 64): void {
    shiftRI(this.buf, ShiftOp.Shl, width, reg, count);
  }

  shri(reg: number, count: number, width: Width = 64): void {
    shiftRI(this.buf, ShiftOp.Shr, width, reg, count);
  }

  roli(reg: number, count: number, width: Width = 32): void {
    shiftRI(this.buf, ShiftOp.Rol, width, reg, count);
  }

  /** Shift left by cl. */
  shlCl(reg: number, width: Width = 64): void {
    shiftRCl(this.buf, ShiftOp.Shl, width, reg);
  }

  setcc(cc: number, reg: number): void {
    setcc(this.buf, cc, reg);
  }

  cmov(cc: number, dst: number, src: number, width: 32 | 64 = 64): void {
    cmov(this.buf, cc, width, dst, src);
  }

  // ---- atomics ----

  /** `lock cmpxchg [m], src`: compares with eax/rax. */
  lockCmpxchg(m: Mem, src: number, width: 32 | 64 = 32): void {
    lockCmpxchg(this.buf, width, m, src);
  }

  lockXadd(m: Mem, src: number, width: 32 | 64 = 64): void {
    lockXadd(this.buf, width, m, src);
  }

  lockAdd(m: Mem, src: number, width: 32 | 64 = 64): void {
    lockAlu(this.buf, AluOp.Add, width, m, src);
  }

  /** `lock or [m], src`. */
  lockOr(m: Mem, src: number, width: 32 | 64 = 32): void {
    lockAlu(this.buf, AluOp.Or, width, m, src);
  }

  /** `xchg [m], src` (locked): src gets the old value. */
  xchg(m: Mem, src: number, width: 32 | 64 = 32): void {
    xchgMR(this.buf, width, m, src);
  }

  // ---- control flow ----

  j(cc: number, label: Label, short = false): void {
    jccLabel(this.buf, cc, label, short);
  }

  jmp(label: Label, short = false): void {
    jmpLabel(this.buf, label, short);
  }

  call(label: Label): void {
    callLabel(this.buf, label);
  }

  callFn(name: string): void {
    callLabel(this.buf, this.ref(name));
  }

  jmpFn(name: string): void {
    jmpLabel(this.buf, this.ref(name));
  }

  /** Calls native code at an absolute address (through `scratch`, rax unless said otherwise). */
  callAbs(address: bigint, scratch = 0): void {
    this.li(scratch, address);
    callR(this.buf, scratch);
  }

  callReg(reg: number): void {
    callR(this.buf, reg);
  }

  jmpReg(reg: number): void {
    jmpR(this.buf, reg);
  }

  push(reg: number): void {
    push(this.buf, reg);
  }

  pop(reg: number): void {
    pop(this.buf, reg);
  }

  ret(): void {
    ret(this.buf);
  }

  // ---- special instructions ----

  pause(): void {
    pause(this.buf);
  }

  rdtscp(): void {
    rdtscp(this.buf);
  }

  rdpid(reg: number): void {
    rdpid(this.buf, reg);
  }

  syscall(): void {
    syscallInsn(this.buf);
  }

  repMovsb(): void {
    repMovsb(this.buf);
  }

  repStosb(): void {
    repStosb(this.buf);
  }

  movFromFs(width: 32 | 64, reg: number, disp: number): void {
    movFromFs(this.buf, width, reg, disp);
  }

  bytes(): Uint8Array {
    return this.buf.toBytes();
  }
}
