import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { decodeInstruction, decodeSequence, InstructionDecodeError, startsWithEndbr64 } from "../../src/hook/x86-decoder/decode.js";
import type { ControlFlow } from "../../src/hook/x86-decoder/instruction.js";
import { compareLengths, type LengthSample } from "./support/length-agreement.js";

function bytesOf(hex: string): Uint8Array {
  return Uint8Array.from(hex.split(" ").map((h) => parseInt(h, 16)));
}

interface Case {
  readonly hex: string;
  readonly asm: string;
  readonly flow?: ControlFlow;
  /** Offset of the disp32 of a RIP-relative operand. */
  readonly rip?: number;
  /** Offset and size of a relative branch's displacement. */
  readonly branch?: [number, number];
  readonly immediate?: [number, number];
}

// Lengths and fields as GNU as 2.40 assembled them (checked with objdump -d).
const CASES: readonly Case[] = [
  { hex: "55", asm: "push %rbp" },
  { hex: "48 89 e5", asm: "mov %rsp,%rbp" },
  { hex: "f3 0f 1e fa", asm: "endbr64" },
  { hex: "48 8d 05 34 12 00 00", asm: "lea 0x1234(%rip),%rax", rip: 3 },
  { hex: "80 3d 10 00 00 00 05", asm: "cmpb $0x5,0x10(%rip)", rip: 2, immediate: [6, 1] },
  { hex: "c7 05 10 00 00 00 01 00 00 00", asm: "movl $0x1,0x10(%rip)", rip: 2, immediate: [6, 4] },
  { hex: "8b 44 9c 10", asm: "mov 0x10(%rsp,%rbx,4),%eax" },
  { hex: "41 8b 45 00", asm: "mov 0x0(%r13),%eax" },
  { hex: "48 8b 14 c5 00 00 00 00", asm: "mov 0x0(,%rax,8),%rdx" },
  { hex: "48 b8 88 77 66 55 44 33 22 11", asm: "movabs $0x1122334455667788,%rax", immediate: [2, 8] },
  { hex: "66 b8 34 12", asm: "mov $0x1234,%ax", immediate: [2, 2] },
  { hex: "a0 88 77 66 55 44 33 22 11", asm: "movabs 0x1122334455667788,%al" },
  { hex: "67 a0 44 33 22 11", asm: "addr32 mov 0x11223344,%al" },
  { hex: "f6 07 01", asm: "testb $0x1,(%rdi)", immediate: [2, 1] },
  { hex: "f7 17", asm: "notl (%rdi)" },
  { hex: "f7 07 01 00 00 00", asm: "testl $0x1,(%rdi)", immediate: [2, 4] },
  { hex: "66 f7 07 01 00", asm: "testw $0x1,(%rdi)", immediate: [3, 2] },
  { hex: "48 f7 07 01 00 00 00", asm: "testq $0x1,(%rdi)", immediate: [3, 4] },
  { hex: "c8 10 00 00", asm: "enter $0x10,$0x0" },
  { hex: "c2 08 00", asm: "ret $0x8", flow: "return" },
  { hex: "c3", asm: "ret", flow: "return" },
  { hex: "eb fe", asm: "jmp .", flow: "jump-relative", branch: [1, 1] },
  { hex: "e9 c8 00 00 00", asm: "jmp rel32", flow: "jump-relative", branch: [1, 4] },
  { hex: "0f 84 2b ff ff ff", asm: "je rel32", flow: "conditional-relative", branch: [2, 4] },
  { hex: "75 f8", asm: "jne rel8", flow: "conditional-relative", branch: [1, 1] },
  { hex: "e8 f3 ff ff ff", asm: "call rel32", flow: "call-relative", branch: [1, 4] },
  { hex: "e3 00", asm: "jrcxz", flow: "counter-relative", branch: [1, 1] },
  { hex: "67 e3 00", asm: "jecxz", flow: "counter-relative", branch: [2, 1] },
  { hex: "e2 fe", asm: "loop", flow: "counter-relative", branch: [1, 1] },
  { hex: "ff d0", asm: "call *%rax", flow: "call-indirect" },
  { hex: "ff 15 10 00 00 00", asm: "call *0x10(%rip)", flow: "call-indirect", rip: 2 },
  { hex: "ff 25 10 00 00 00", asm: "jmp *0x10(%rip)", flow: "jump-indirect", rip: 2 },
  { hex: "3e ff e0", asm: "notrack jmp *%rax", flow: "jump-indirect" },
  { hex: "f2 eb e1", asm: "bnd jmp rel8", flow: "jump-relative", branch: [2, 1] },
  { hex: "f2 e9 00 01 00 00", asm: "bnd jmp rel32", flow: "jump-relative", branch: [2, 4] },
  { hex: "f0 48 0f b1 0a", asm: "lock cmpxchg %rcx,(%rdx)" },
  { hex: "c5 fe 6f 06", asm: "vmovdqu (%rsi),%ymm0" },
  { hex: "c5 fd 70 d1 1b", asm: "vpshufd $0x1b,%ymm1,%ymm2", immediate: [4, 1] },
  { hex: "c4 e3 fd 00 c8 4e", asm: "vpermq $0x4e,%ymm0,%ymm1", immediate: [5, 1] },
  { hex: "c4 e2 7d 00 05 10 00 00 00", asm: "vpshufb 0x10(%rip),%ymm0,%ymm0", rip: 5 },
  { hex: "c5 f8 77", asm: "vzeroupper" },
  { hex: "62 e1 fe 48 6f 46 01", asm: "vmovdqu64 0x40(%rsi),%zmm16" },
  { hex: "62 f3 7d 48 25 c0 ff", asm: "vpternlogd $0xff,%zmm0,%zmm0,%zmm0", immediate: [6, 1] },
  { hex: "62 f1 7f 48 6f 0d 34 12 00 00", asm: "vmovdqu8 0x1234(%rip),%zmm1", rip: 6 },
  { hex: "62 f5 6c 48 58 d9", asm: "vaddph %zmm1,%zmm2,%zmm3" },
  { hex: "62 f3 6c 48 c2 c9 01", asm: "vcmpltph %zmm1,%zmm2,%k1", immediate: [6, 1] },
  { hex: "66 0f 38 00 06", asm: "pshufb (%rsi),%xmm0" },
  { hex: "66 0f 3a 0f c1 04", asm: "palignr $0x4,%xmm1,%xmm0", immediate: [5, 1] },
  { hex: "f3 48 0f b8 d8", asm: "popcnt %rax,%rbx" },
  { hex: "66 0f c5 c0 01", asm: "pextrw $0x1,%xmm0,%eax", immediate: [4, 1] },
  { hex: "0f 05", asm: "syscall", flow: "system" },
  { hex: "cd 80", asm: "int $0x80", flow: "system" },
  { hex: "0f 0b", asm: "ud2", flow: "trap" },
  { hex: "cc", asm: "int3" },
  { hex: "f4", asm: "hlt", flow: "trap" },
  { hex: "c7 f8 91 ff ff ff", asm: "xbegin", flow: "transaction", branch: [2, 4] },
  { hex: "c6 f8 03", asm: "xabort $0x3", immediate: [2, 1] },
  { hex: "66 0f 1f 44 00 00", asm: "nopw 0x0(%rax,%rax,1)" },
  { hex: "66 2e 0f 1f 84 00 00 00 00 00", asm: "cs nopw 0x0(%rax,%rax,1)" },
  { hex: "64 48 8b 04 25 28 00 00 00", asm: "mov %fs:0x28,%rax" },
  { hex: "48 69 c0 45 23 01 00", asm: "imul $0x12345,%rax,%rax", immediate: [3, 4] },
  { hex: "68 78 56 34 12", asm: "push $0x12345678", immediate: [1, 4] },
  { hex: "66 68 34 12", asm: "pushw $0x1234", immediate: [2, 2] },
  { hex: "48 c1 e0 03", asm: "shl $0x3,%rax", immediate: [3, 1] },
  { hex: "8f e8 68 cc d9 00", asm: "vpcomltb %xmm1,%xmm2,%xmm3 (XOP map 8)", immediate: [5, 1] },
  { hex: "8f ea 78 10 d8 34 12 00 00", asm: "bextr $0x1234,%eax,%ebx (XOP map A)", immediate: [5, 4] },
  { hex: "8f 40 08", asm: "pop 0x8(%rax)" },
  { hex: "0f 0f c1 9e", asm: "pfadd %mm1,%mm0 (3DNow!)" },
  { hex: "66 0f 78 c0 02 01", asm: "extrq $0x1,$0x2,%xmm0", immediate: [4, 2] },
  { hex: "f2 0f 78 c1 02 01", asm: "insertq $0x1,$0x2,%xmm1,%xmm0", immediate: [4, 2] },
  { hex: "f3 48 0f ae c0", asm: "rdfsbase %rax" },
  { hex: "db 2d 10 00 00 00", asm: "fldt 0x10(%rip)", rip: 2 },
  { hex: "0f 20 c0", asm: "mov %cr0,%rax" },
  { hex: "0f 20 00", asm: "mov %cr0,%rax (mod bits ignored)" },
  { hex: "f3 0f a7 c0", asm: "xcrypt-ecb (PadLock)" },
];

test("decoder: hand-checked encodings have the assembler's length and fields", () => {
  for (const c of CASES) {
    const bytes = bytesOf(c.hex);
    const padded = new Uint8Array(bytes.length + 8).fill(0x90);
    padded.set(bytes);
    const insn = decodeInstruction(padded, 0);
    assert.equal(insn.length, bytes.length, `${c.asm}: length`);
    assert.equal(insn.flow, c.flow ?? "sequential", `${c.asm}: flow`);
    assert.equal(insn.ripRelative, c.rip !== undefined, `${c.asm}: rip-relative`);
    if (c.rip !== undefined) assert.deepEqual(insn.displacement, { offset: c.rip, size: 4 }, `${c.asm}: disp32`);
    assert.deepEqual(insn.branchDisplacement, c.branch === undefined ? undefined : { offset: c.branch[0], size: c.branch[1] }, `${c.asm}: branch`);
    if (c.immediate !== undefined) assert.deepEqual(insn.immediate, { offset: c.immediate[0], size: c.immediate[1] }, `${c.asm}: immediate`);
  }
});

test("decoder: endbr64, int3 and jcc conditions are recognised", () => {
  assert.equal(decodeInstruction(bytesOf("f3 0f 1e fa")).isEndbr64, true);
  assert.equal(decodeInstruction(bytesOf("f3 0f 1e fb")).isEndbr64, false); // endbr32
  assert.equal(startsWithEndbr64(bytesOf("f3 0f 1e fa 55")), true);
  assert.equal(startsWithEndbr64(bytesOf("55 f3 0f 1e fa")), false);
  assert.equal(decodeInstruction(bytesOf("cc")).isInt3, true);
  assert.equal(decodeInstruction(bytesOf("7c 00")).condition, 0xc);
  assert.equal(decodeInstruction(bytesOf("0f 8f 00 00 00 00")).condition, 0xf);
});

test("decoder: ModRM fields and the base register with REX.B", () => {
  const insn = decodeInstruction(bytesOf("49 8b 44 24 08")); // mov 0x8(%r12),%rax
  assert.equal(insn.modrm?.base, 12);
  assert.equal(insn.modrm?.sib, 0x24);
  assert.deepEqual(insn.displacement, { offset: 4, size: 1 });
  assert.equal(decodeInstruction(bytesOf("48 8b 05 00 00 00 00")).modrm?.base, "rip");
});

test("decoder: refuses what it cannot measure for certain", () => {
  const refusals: [string, RegExp][] = [
    ["06", /invalid in 64-bit mode/],
    ["0f 04", /invalid in 64-bit mode/],
    ["66 e9 00 00", /Intel and AMD/],
    ["66 0f 84 00 00", /Intel and AMD/],
    ["66 eb 00", /Intel and AMD/],
    ["48", /truncated/],
    ["48 8b", /truncated/],
    ["e8 00 00", /truncated/],
    ["66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", /longer than 15 bytes/],
    ["48 66 90", /REX prefix followed by another prefix/],
    ["48 c5 f8 77", /after a REX/],
    ["0f b8 c0", /popcnt/],
    ["c4 e7 7d 00 00", /VEX opcode map 7/],
    ["62 f4 7c 08 00 c0", /EVEX opcode map 4/],
  ];
  for (const [hex, reason] of refusals) {
    assert.throws(() => decodeInstruction(bytesOf(hex)), (e: unknown) => e instanceof InstructionDecodeError && reason.test(e.message), hex);
  }
});

test("decoder: decodeSequence walks a function's prologue", () => {
  // endbr64; push %rbp; mov %rsp,%rbp; sub $0x10,%rsp; mov %fs:0x28,%rax
  const lengths = decodeSequence(bytesOf("f3 0f 1e fa 55 48 89 e5 48 83 ec 10 64 48 8b 04 25 28 00 00 00")).map((i) => i.length);
  assert.deepEqual(lengths, [4, 1, 3, 4, 9]);
});

interface Fixture {
  readonly objdump: string;
  readonly binaries: { readonly path: string; readonly functions: [string, string, string][] }[];
}

function loadFixture(): Fixture {
  const url = new URL("../../../test/fixtures/hook/prologues.json.gz", import.meta.url);
  return JSON.parse(gunzipSync(readFileSync(url)).toString("utf8")) as Fixture;
}

test("decoder: agrees with objdump on every instruction of the prologue fixture (libc, bash)", (t) => {
  const fixture = loadFixture();
  let functions = 0;
  for (const binary of fixture.binaries) {
    const samples: LengthSample[] = binary.functions.map(([name, hex, lengths]) => ({
      name,
      bytes: [...Buffer.from(hex, "hex")],
      lengths: lengths.split(",").map(Number),
    }));
    const report = compareLengths(samples);
    functions += report.samples;
    t.diagnostic(`${binary.path}: ${report.samplesAgreed}/${report.samples} functions, ${report.agreed}/${report.instructions} instructions agree`);
    assert.deepEqual(report.mismatches.slice(0, 5), [], `${binary.path}: first mismatches`);
    assert.equal(report.agreed, report.instructions);
  }
  assert.ok(functions > 4000, `fixture holds ${functions} functions`);
});
