// Every x86-64 instruction form the backend emits, as named cases over a spread of registers (including
// the ones with encoding quirks: rsp/r12 as a base need a SIB byte, rbp/r13 need a displacement, spl..dil
// need a REX prefix) and of displacements and immediates (imm8 vs imm32, disp8 vs disp32).

import { AluOp, aluMI, aluMR, aluRI, aluRM, aluRR, imulRR, imulRRI, signExtendAccumulator, testRI, testRR, UnaryOp, unaryR } from "../../src/jit/x64/assembler/arithmetic.js";
import { lockAlu, lockCmpxchg, lockXadd, xchgMR } from "../../src/jit/x64/assembler/atomics.js";
import { CodeBuffer } from "../../src/jit/x64/assembler/code-buffer.js";
import { Cond } from "../../src/jit/x64/assembler/conditions.js";
import {
  callM,
  callR,
  callRel32,
  endbr64,
  int3,
  jccRel32,
  jccRel8,
  jmpM,
  jmpR,
  jmpRel32,
  jmpRel8,
  mfence,
  nop,
  pop,
  push,
  repStosq,
  ret,
  ud2,
} from "../../src/jit/x64/assembler/control.js";
import { mem, ripMem, type Mem } from "../../src/jit/x64/assembler/memory-operand.js";
import {
  bswap,
  cmov,
  lea,
  loadConstant,
  movabs,
  movMI,
  movMR,
  movR32I,
  movR64SignExtendedI,
  movRM,
  movRR,
  movsxdRM,
  movsxdRR,
  movsxRM,
  movsxRR,
  movzxRM,
  movzxRR,
  setcc,
  xchgRR,
} from "../../src/jit/x64/assembler/moves.js";
import { regName, type Width } from "../../src/jit/x64/assembler/registers.js";
import { shiftRCl, shiftRI, ShiftOp } from "../../src/jit/x64/assembler/shifts.js";

export interface FormCase {
  name: string;
  emit(buf: CodeBuffer): void;
}

const ALL = Array.from({ length: 16 }, (_, r) => r);
/** Registers whose encodings differ from their neighbours': rax, rsp, rbp, rsi/rdi (byte forms), r8, r12, r13, r15. */
const EDGE = [0, 4, 5, 6, 7, 8, 12, 13, 15];
const WIDTHS: readonly Width[] = [8, 16, 32, 64];
const DISPS = [0, 8, -8, 0x7f, -0x80, 0x80, 0x1000, -0x200];

function memText(m: Mem): string {
  if (m.base < 0) return `rip+${m.disp}`;
  let s = regName(m.base, 64);
  if (m.index >= 0) s += `+${regName(m.index, 64)}*${m.scale}`;
  if (m.disp !== 0) s += m.disp < 0 ? `-${-m.disp}` : `+${m.disp}`;
  return s;
}

/** Memory operands: every base with several displacements, and some indexed forms. */
function memOperands(): Mem[] {
  const out: Mem[] = [];
  for (const base of ALL) for (const disp of base === 0 || EDGE.includes(base) ? DISPS : [0, 8, 0x1000]) out.push(mem(base, disp));
  for (const base of EDGE) for (const index of [0, 5, 9, 12, 13]) for (const scale of [1, 8] as const) out.push(mem(base, 16, index, scale));
  out.push(mem(5, 0, 13, 4), mem(13, 0, 5, 2), mem(12, 0, 12, 8));
  return out;
}

export function formCases(): FormCase[] {
  const cases: FormCase[] = [];
  const add = (name: string, emit: (buf: CodeBuffer) => void): void => {
    cases.push({ name, emit });
  };
  const mems = memOperands();
  const someMems = mems.filter((_, i) => i % 5 === 0);

  const aluNames: [AluOp, string][] = [
    [AluOp.Add, "add"],
    [AluOp.Or, "or"],
    [AluOp.And, "and"],
    [AluOp.Sub, "sub"],
    [AluOp.Xor, "xor"],
    [AluOp.Cmp, "cmp"],
  ];
  for (const [op, name] of aluNames) {
    for (const w of WIDTHS) {
      for (const d of EDGE) for (const s of [0, 6, 9, 13]) add(`${name}${w} ${regName(d, w)},${regName(s, w)}`, (b) => aluRR(b, op, w, d, s));
      for (const d of EDGE) for (const imm of [1, -1, 0x7f, 0x80, -0x81, 0x7fff, 0x12345678, -0x80000000]) {
        if (w === 8 && (imm > 0xff || imm < -0x80)) continue;
        if (w === 16 && (imm > 0xffff || imm < -0x8000)) continue;
        add(`${name}${w} ${regName(d, w)},${imm}`, (b) => aluRI(b, op, w, d, imm));
      }
    }
    for (const m of someMems) {
      add(`${name}64 [${memText(m)}],r9`, (b) => aluMR(b, op, 64, m, 9));
      add(`${name}32 r14d,[${memText(m)}]`, (b) => aluRM(b, op, 32, 14, m));
      add(`${name}64 qword [${memText(m)}],-3`, (b) => aluMI(b, op, 64, m, -3));
      add(`${name}32 dword [${memText(m)}],0x1000`, (b) => aluMI(b, op, 32, m, 0x1000));
    }
  }
  for (const w of WIDTHS) {
    for (const a of EDGE) for (const c of [1, 7, 11]) add(`test${w} ${regName(a, w)},${regName(c, w)}`, (b) => testRR(b, w, a, c));
    for (const a of EDGE) add(`test${w} ${regName(a, w)},imm`, (b) => testRI(b, w, a, w === 8 ? 0x40 : w === 16 ? 0x4000 : -0x10000));
  }
  for (const w of [16, 32, 64] as const) {
    for (const d of EDGE) for (const s of [1, 5, 12, 14]) add(`imul${w} ${regName(d, w)},${regName(s, w)}`, (b) => imulRR(b, w, d, s));
    for (const d of EDGE) for (const imm of [3, -100, 0x9e3779b1 | 0]) {
      if (w === 16 && imm < -0x8000) continue;
      add(`imul${w} ${regName(d, w)},${regName(11, w)},${imm}`, (b) => imulRRI(b, w, d, 11, imm));
    }
  }
  const unaryNames: [UnaryOp, string][] = [
    [UnaryOp.Not, "not"],
    [UnaryOp.Neg, "neg"],
    [UnaryOp.Mul, "mul"],
    [UnaryOp.Imul, "imul1"],
    [UnaryOp.Div, "div"],
    [UnaryOp.Idiv, "idiv"],
  ];
  for (const [op, name] of unaryNames) for (const w of WIDTHS) for (const r of EDGE) add(`${name}${w} ${regName(r, w)}`, (b) => unaryR(b, op, w, r));
  add("cqo", (b) => signExtendAccumulator(b, 64));
  add("cdq", (b) => signExtendAccumulator(b, 32));

  // Moves.
  for (const w of WIDTHS) {
    for (const d of ALL) for (const s of [0, 4, 6, 7, 8, 13]) add(`mov${w} ${regName(d, w)},${regName(s, w)}`, (b) => movRR(b, w, d, s));
    for (const m of mems) {
      add(`mov${w} ${regName(6, w)},[${memText(m)}]`, (b) => movRM(b, w, 6, m));
      add(`mov${w} [${memText(m)}],${regName(15, w)}`, (b) => movMR(b, w, m, 15));
    }
    for (const m of someMems) {
      add(`mov${w} ${regName(12, w)},[${memText(m)}] (2)`, (b) => movRM(b, w, 12, m));
      add(`mov${w} [${memText(m)}],${regName(7, w)} (2)`, (b) => movMR(b, w, m, 7));
      add(`mov${w} [${memText(m)}],imm`, (b) => movMI(b, w, m, w === 8 ? 0xab : w === 16 ? 0xabcd : -0x12345678));
    }
  }
  for (const r of ALL) {
    add(`mov r32 ${regName(r, 32)},imm`, (b) => movR32I(b, r, 0xdeadbeef | 0));
    add(`mov r64 ${regName(r, 64)},simm32`, (b) => movR64SignExtendedI(b, r, -2));
    add(`movabs ${regName(r, 64)}`, (b) => movabs(b, r, 0x55667788, 0x11223344));
  }
  for (const [lo, hi, what] of [[0, 0, "zero"], [5, 0, "u32"], [-5, -1, "s32"], [5, 1, "imm64"]] as const) {
    for (const r of [0, 9]) add(`loadConstant ${what} ${regName(r, 64)}`, (b) => loadConstant(b, r, lo, hi));
  }
  for (const d of EDGE) for (const s of [0, 4, 5, 6, 7, 12]) {
    add(`movzx8 ${regName(d, 32)},${regName(s, 8)}`, (b) => movzxRR(b, 8, d, s));
    add(`movzx16 ${regName(d, 32)},${regName(s, 16)}`, (b) => movzxRR(b, 16, d, s));
    for (const to of [32, 64] as const) {
      add(`movsx8 ${regName(d, to)},${regName(s, 8)}`, (b) => movsxRR(b, 8, to, d, s));
      add(`movsx16 ${regName(d, to)},${regName(s, 16)}`, (b) => movsxRR(b, 16, to, d, s));
    }
    add(`movsxd ${regName(d, 64)},${regName(s, 32)}`, (b) => movsxdRR(b, d, s));
  }
  for (const m of someMems) {
    add(`movzx8 edx,[${memText(m)}]`, (b) => movzxRM(b, 8, 2, m));
    add(`movzx16 r11d,[${memText(m)}]`, (b) => movzxRM(b, 16, 11, m));
    add(`movsx8 rdi,[${memText(m)}]`, (b) => movsxRM(b, 8, 64, 7, m));
    add(`movsx16 r8,[${memText(m)}]`, (b) => movsxRM(b, 16, 64, 8, m));
    add(`movsx8 eax,[${memText(m)}]`, (b) => movsxRM(b, 8, 32, 0, m));
    add(`movsxd r15,[${memText(m)}]`, (b) => movsxdRM(b, 15, m));
    add(`lea64 r11,[${memText(m)}]`, (b) => lea(b, 64, 11, m));
    add(`lea32 eax,[${memText(m)}]`, (b) => lea(b, 32, 0, m));
  }
  add("lea rip", (b) => lea(b, 64, 3, ripMem(0x100)));
  add("mov rip", (b) => movRM(b, 64, 9, ripMem(0x40)));
  for (const r of ALL) {
    add(`bswap32 ${regName(r, 32)}`, (b) => bswap(b, 32, r));
    add(`bswap64 ${regName(r, 64)}`, (b) => bswap(b, 64, r));
  }
  for (let cc = 0; cc < 16; cc++) {
    for (const r of [0, 6, 7, 11]) add(`setcc ${cc} ${regName(r, 8)}`, (b) => setcc(b, cc, r));
    add(`cmov ${cc} 64`, (b) => cmov(b, cc, 64, 13, 2));
    add(`cmov ${cc} 32`, (b) => cmov(b, cc, 32, 1, 12));
  }
  for (const w of WIDTHS) for (const [a, c] of [[0, 1], [6, 13], [12, 7]]) add(`xchg${w} ${regName(a!, w)},${regName(c!, w)}`, (b) => xchgRR(b, w, a!, c!));

  // Shifts and rotates.
  const shiftNames: [ShiftOp, string][] = [
    [ShiftOp.Rol, "rol"],
    [ShiftOp.Ror, "ror"],
    [ShiftOp.Shl, "shl"],
    [ShiftOp.Shr, "shr"],
    [ShiftOp.Sar, "sar"],
  ];
  for (const [op, name] of shiftNames) {
    for (const w of WIDTHS) {
      for (const r of EDGE) {
        add(`${name}${w} ${regName(r, w)},cl`, (b) => shiftRCl(b, op, w, r));
        add(`${name}${w} ${regName(r, w)},imm`, (b) => shiftRI(b, op, w, r, w - 1));
      }
    }
  }

  // Atomics.
  const lockOps: [typeof AluOp.Add | typeof AluOp.Or | typeof AluOp.And | typeof AluOp.Xor, string][] = [
    [AluOp.Add, "add"],
    [AluOp.Or, "or"],
    [AluOp.And, "and"],
    [AluOp.Xor, "xor"],
  ];
  for (const w of [32, 64] as const) {
    for (const m of someMems) {
      for (const [op, name] of lockOps) add(`lock ${name}${w} [${memText(m)}],r10`, (b) => lockAlu(b, op, w, m, 10));
      add(`lock xadd${w} [${memText(m)}],rsi`, (b) => lockXadd(b, w, m, 6));
      add(`lock cmpxchg${w} [${memText(m)}],r13`, (b) => lockCmpxchg(b, w, m, 13));
      add(`xchg${w} [${memText(m)}],rbx`, (b) => xchgMR(b, w, m, 3));
    }
  }

  // Control flow; relative targets are code offsets from the start of the case.
  for (const r of ALL) {
    add(`push ${regName(r, 64)}`, (b) => push(b, r));
    add(`pop ${regName(r, 64)}`, (b) => pop(b, r));
    add(`call ${regName(r, 64)}`, (b) => callR(b, r));
    add(`jmp ${regName(r, 64)}`, (b) => jmpR(b, r));
  }
  for (const m of someMems) {
    add(`call [${memText(m)}]`, (b) => callM(b, m));
    add(`jmp [${memText(m)}]`, (b) => jmpM(b, m));
  }
  add("call [rip]", (b) => callM(b, ripMem(0x800)));
  for (const target of [0, 0x7f, -0x7e, 0x1000, -0x1000]) {
    add(`call ${target}`, (b) => callRel32(b, target));
    add(`jmp32 ${target}`, (b) => jmpRel32(b, target));
    for (let cc = 0; cc < 16; cc++) add(`jcc32 ${cc} ${target}`, (b) => jccRel32(b, cc, target));
  }
  for (const target of [0, 0x81, -0x7e, 2]) {
    add(`jmp8 ${target}`, (b) => jmpRel8(b, target));
    for (let cc = 0; cc < 16; cc++) add(`jcc8 ${cc} ${target}`, (b) => jccRel8(b, cc, target));
  }
  add("jcc8 named", (b) => jccRel8(b, Cond.AE, 0x10));
  add("ret", ret);
  add("nop", nop);
  add("endbr64", endbr64);
  add("mfence", mfence);
  add("int3", int3);
  add("ud2", ud2);
  add("rep stosq", repStosq);
  return cases;
}
