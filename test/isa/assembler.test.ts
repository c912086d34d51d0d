import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { AssemblyError } from "../../src/isa/errors.js";
import { encodeProgram, insn, type Insn } from "../../src/isa/instruction.js";
import { conformanceFiles, parseConformanceFile, readConformanceFile } from "../support/conformance-file.js";

/** The one instruction `source` assembles to. */
function one(source: string): Insn {
  const program = assemble(source);
  assert.equal(program.length, 1, `${source} should be one slot`);
  return program[0]!;
}

/** Asserts that assembling throws an AssemblyError with this line and reason. */
function rejects(source: string, line: number, reason: string | RegExp): void {
  assert.throws(
    () => assemble(source),
    (error: unknown) => {
      assert.ok(error instanceof AssemblyError, `expected AssemblyError, got ${String(error)}`);
      assert.equal(error.line, line);
      if (typeof reason === "string") assert.equal(error.reason, reason);
      else assert.match(error.reason, reason);
      return true;
    },
  );
}

describe("conformance suite assembly", () => {
  const tests = conformanceFiles("tests");

  test("the suite has its 313 test files", () => {
    assert.equal(tests.length, 313);
  });

  for (const name of tests) {
    test(`tests/${name} assembles`, () => {
      const file = parseConformanceFile(readConformanceFile("tests", name));
      assert.ok(file.asm !== undefined, "every test has an asm section");
      const program = assemble(file.asm);
      assert.ok(program.length > 0);
      if (file.raw !== undefined) assert.deepEqual(encodeProgram(program), encodeProgram(file.raw));
    });
  }

  test("the raw lddw test is the only one with a raw section, and it matches", () => {
    const withRaw = tests.filter((name) => parseConformanceFile(readConformanceFile("tests", name)).raw !== undefined);
    assert.deepEqual(withRaw, ["lddw.data"]);
    const file = parseConformanceFile(readConformanceFile("tests", "lddw.data"));
    assert.deepEqual(assemble(file.asm!), file.raw);
  });

  const invalid = conformanceFiles("negative").filter((name) => name.startsWith("invalid_"));

  test("there are 11 invalid_* negative files", () => {
    assert.equal(invalid.length, 11);
  });

  for (const name of invalid) {
    test(`negative/${name} is rejected`, () => {
      let file;
      try {
        file = parseConformanceFile(readConformanceFile("negative", name));
      } catch (error) {
        // bpf_conformance refuses files with an unknown section before assembling anything.
        assert.equal(name, "invalid_unknown_directive.data");
        assert.match(String(error), /unknown section '-- Unknown directive'/);
        return;
      }
      assert.throws(
        () => assemble(file.asm ?? ""),
        (error: unknown) => {
          assert.ok(error instanceof AssemblyError);
          // Where the file names the error, the reason is exactly that text.
          if (file.error !== undefined && file.error !== "") assert.equal(error.reason, file.error);
          return true;
        },
      );
    });
  }

  test("negative files with valid assembly still assemble", () => {
    for (const name of ["error.data", "incorrect_return_value_high_bits.data"]) {
      const file = parseConformanceFile(readConformanceFile("negative", name));
      assert.ok(assemble(file.asm!).length >= 2, name);
    }
  });
});

describe("ALU syntax", () => {
  test("64-bit by default, 32 with the suffix, and 64 accepted as a suffix", () => {
    assert.deepEqual(one("add %r1, 5"), insn(0x07, 1, 0, 0, 5));
    assert.deepEqual(one("add64 %r1, 5"), insn(0x07, 1, 0, 0, 5));
    assert.deepEqual(one("add32 %r1, %r2"), insn(0x0c, 1, 2));
    assert.deepEqual(one("sub %r3, %r4"), insn(0x1f, 3, 4));
    assert.deepEqual(one("mul32 %r0, -3"), insn(0x24, 0, 0, 0, -3));
    assert.deepEqual(one("or %r0, 0xff00"), insn(0x47, 0, 0, 0, 0xff00));
    assert.deepEqual(one("and32 %r0, %r9"), insn(0x5c, 0, 9));
    assert.deepEqual(one("lsh %r0, 63"), insn(0x67, 0, 0, 0, 63));
    assert.deepEqual(one("rsh32 %r0, %r1"), insn(0x7c, 0, 1));
    assert.deepEqual(one("xor %r5, %r5"), insn(0xaf, 5, 5));
    assert.deepEqual(one("mov %r0, %r10"), insn(0xbf, 0, 10));
    assert.deepEqual(one("mov32 %r0, 1"), insn(0xb4, 0, 0, 0, 1));
    assert.deepEqual(one("arsh32 %r2, 31"), insn(0xc4, 2, 0, 0, 31));
    assert.deepEqual(one("neg %r4"), insn(0x87, 4));
    assert.deepEqual(one("neg32 %r4"), insn(0x84, 4));
    assert.deepEqual(one("neg64 %r4"), insn(0x87, 4));
  });

  test("div/mod are unsigned (offset 0); sdiv/smod set offset 1", () => {
    assert.deepEqual(one("div %r1, %r2"), insn(0x3f, 1, 2));
    assert.deepEqual(one("mod32 %r1, 7"), insn(0x94, 1, 0, 0, 7));
    assert.deepEqual(one("sdiv %r1, %r2"), insn(0x3f, 1, 2, 1));
    assert.deepEqual(one("sdiv32 %r1, -2"), insn(0x34, 1, 0, 1, -2));
    assert.deepEqual(one("smod %r1, 3"), insn(0x97, 1, 0, 1, 3));
    assert.deepEqual(one("smod32 %r1, %r0"), insn(0x9c, 1, 0, 1));
    assert.deepEqual(one("sdiv64 %r1, %r2"), insn(0x3f, 1, 2, 1));
  });

  test("movsx puts the source width in the offset", () => {
    assert.deepEqual(one("movsx864 %r1, %r2"), insn(0xbf, 1, 2, 8));
    assert.deepEqual(one("movsx1664 %r1, %r2"), insn(0xbf, 1, 2, 16));
    assert.deepEqual(one("movsx3264 %r1, %r2"), insn(0xbf, 1, 2, 32));
    assert.deepEqual(one("movsx832 %r1, %r2"), insn(0xbc, 1, 2, 8));
    assert.deepEqual(one("movsx1632 %r1, %r2"), insn(0xbc, 1, 2, 16));
    rejects("movsx3232 %r1, %r2", 1, "Invalid mnemonic: movsx3232");
    rejects("movsx864 %r1, 5", 1, "movsx864 takes a register source, not 5");
  });

  test("byte swaps: le/be are ALU END, swap/bswap ALU64 END, width in imm", () => {
    assert.deepEqual(one("le16 %r1"), insn(0xd4, 1, 0, 0, 16));
    assert.deepEqual(one("le64 %r1"), insn(0xd4, 1, 0, 0, 64));
    assert.deepEqual(one("be32 %r1"), insn(0xdc, 1, 0, 0, 32));
    assert.deepEqual(one("swap16 %r2"), insn(0xd7, 2, 0, 0, 16));
    assert.deepEqual(one("bswap64 %r2"), insn(0xd7, 2, 0, 0, 64));
    rejects("le8 %r1", 1, "Invalid mnemonic: le8");
  });

  test("immediates: hex is a 32-bit pattern, decimal must fit i32", () => {
    assert.equal(one("mov32 %r0, 0xffffffff").imm, -1);
    assert.equal(one("mov32 %r0, 0x80000000").imm, -0x80000000);
    assert.equal(one("mov32 %r0, -2147483648").imm, -0x80000000);
    assert.equal(one("mov32 %r0, 2147483647").imm, 0x7fffffff);
    assert.equal(one("mov32 %r0, -0x10").imm, -16);
    rejects("mov32 %r0, 2147483648", 1, "Immediate out of 32-bit range: 2147483648");
    rejects("mov32 %r0, -2147483649", 1, "Immediate out of 32-bit range: -2147483649");
    rejects("mov32 %r0, 0x100000000", 1, "Immediate out of 32-bit range: 0x100000000");
    rejects("mov32 %r0, 12abc", 1, "Invalid immediate: 12abc");
  });
});

describe("memory syntax", () => {
  test("loads, sign-extending loads, stores", () => {
    assert.deepEqual(one("ldxb %r0, [%r1]"), insn(0x71, 0, 1));
    assert.deepEqual(one("ldxh %r0, [%r1+2]"), insn(0x69, 0, 1, 2));
    assert.deepEqual(one("ldxw %r0, [%r1-4]"), insn(0x61, 0, 1, -4));
    assert.deepEqual(one("ldxdw %r0, [%r10-8]"), insn(0x79, 0, 10, -8));
    assert.deepEqual(one("ldxsb %r0, [%r1+1]"), insn(0x91, 0, 1, 1));
    assert.deepEqual(one("ldxsh %r0, [%r1+1]"), insn(0x89, 0, 1, 1));
    assert.deepEqual(one("ldxsw %r0, [%r1+1]"), insn(0x81, 0, 1, 1));
    assert.deepEqual(one("stb [%r1+3], 0x11"), insn(0x72, 1, 0, 3, 0x11));
    assert.deepEqual(one("sth [%r10-2], -1"), insn(0x6a, 10, 0, -2, -1));
    assert.deepEqual(one("stw [%r1], 0x12345678"), insn(0x62, 1, 0, 0, 0x12345678));
    assert.deepEqual(one("stdw [%r1+8], 5"), insn(0x7a, 1, 0, 8, 5));
    assert.deepEqual(one("stxb [%r1+1], %r2"), insn(0x73, 1, 2, 1));
    assert.deepEqual(one("stxh [%r1+1], %r2"), insn(0x6b, 1, 2, 1));
    assert.deepEqual(one("stxw [%r1+1], %r2"), insn(0x63, 1, 2, 1));
    assert.deepEqual(one("stxdw [%r10-16], %r9"), insn(0x7b, 10, 9, -16));
  });

  test("blanks inside the brackets are allowed; offsets are 16-bit", () => {
    assert.deepEqual(one("ldxw %r0, [ %r1 + 4 ]"), insn(0x61, 0, 1, 4));
    assert.equal(one("ldxb %r0, [%r1+32767]").off, 32767);
    assert.equal(one("ldxb %r0, [%r1-32768]").off, -32768);
    assert.equal(one("ldxb %r0, [%r1+0xffff]").off, -1);
    rejects("ldxb %r0, [%r1+32768]", 1, "Offset out of 16-bit range: +32768");
    rejects("ldxb %r0, [%r1+0x10000]", 1, "Offset out of 16-bit range: +0x10000");
    rejects("ldxb %r0, %r1", 1, /^Invalid memory operand: %r1/);
    rejects("ldxb %r0, [%r1", 1, /^Invalid memory operand: \[%r1/);
    rejects("ldxb %r0, [%r1*2]", 1, "Invalid register");
  });

  test("lddw takes two slots and a 64-bit immediate", () => {
    assert.deepEqual(assemble("lddw %r0, 0x1122334455667788"), [
      insn(0x18, 0, 0, 0, 0x55667788),
      insn(0, 0, 0, 0, 0x11223344),
    ]);
    assert.deepEqual(assemble("lddw %r1, -1"), [insn(0x18, 1, 0, 0, -1), insn(0, 0, 0, 0, -1)]);
    assert.deepEqual(assemble("lddw %r1, 18446744073709551615"), [insn(0x18, 1, 0, 0, -1), insn(0, 0, 0, 0, -1)]);
    assert.deepEqual(assemble("lddw %r1, map_fd 3"), [insn(0x18, 1, 1, 0, 3), insn(0, 0, 0, 0, 0)]);
    assert.deepEqual(assemble("lddw %r1, map_value 0x800000005"), [insn(0x18, 1, 2, 0, 5), insn(0, 0, 0, 0, 8)]);
    rejects("lddw %r1, 0x10000000000000000", 1, "Immediate out of 64-bit range: 0x10000000000000000");
    rejects("lddw %r1, map 3", 1, /^Invalid lddw source: map/);
    rejects("lddw %r0", 1, "Invalid number of operands for lddw: expected 2, got 1");
  });

  test("atomics: lock [fetch] op[32]", () => {
    assert.deepEqual(one("lock add [%r10-8], %r1"), insn(0xdb, 10, 1, -8, 0x00));
    assert.deepEqual(one("lock add32 [%r10-8], %r1"), insn(0xc3, 10, 1, -8, 0x00));
    assert.deepEqual(one("lock or [%r1], %r2"), insn(0xdb, 1, 2, 0, 0x40));
    assert.deepEqual(one("lock and32 [%r1], %r2"), insn(0xc3, 1, 2, 0, 0x50));
    assert.deepEqual(one("lock xor [%r1], %r2"), insn(0xdb, 1, 2, 0, 0xa0));
    assert.deepEqual(one("lock fetch add [%r1+8], %r2"), insn(0xdb, 1, 2, 8, 0x01));
    assert.deepEqual(one("lock fetch or32 [%r1], %r2"), insn(0xc3, 1, 2, 0, 0x41));
    assert.deepEqual(one("lock fetch and [%r1], %r2"), insn(0xdb, 1, 2, 0, 0x51));
    assert.deepEqual(one("lock fetch xor32 [%r1], %r2"), insn(0xc3, 1, 2, 0, 0xa1));
    assert.deepEqual(one("lock xchg [%r1], %r2"), insn(0xdb, 1, 2, 0, 0xe1));
    assert.deepEqual(one("lock cmpxchg32 [%r1], %r2"), insn(0xc3, 1, 2, 0, 0xf1));
    rejects("lock", 1, "Invalid number of operands for lock");
    rejects("lock or [%r10-8]", 1, "Invalid number of operands for lock");
    rejects("lock fetch xchg [%r1], %r2", 1, "Invalid atomic operation: fetch xchg");
    rejects("lock sub [%r1], %r2", 1, "Invalid atomic operation: sub");
  });

  test("legacy packet loads in ubpf's spelling", () => {
    assert.deepEqual(one("ldabsw 12"), insn(0x20, 0, 0, 0, 12));
    assert.deepEqual(one("ldabsb 1"), insn(0x30, 0, 0, 0, 1));
    assert.deepEqual(one("ldindh %r3, 4"), insn(0x48, 0, 3, 0, 4));
  });
});

describe("jumps, calls and labels", () => {
  test("conditional jumps with register or immediate, 64 and 32 bit", () => {
    assert.deepEqual(one("jeq %r1, 0, +2"), insn(0x15, 1, 0, 2, 0));
    assert.deepEqual(one("jeq %r1, %r2, -1"), insn(0x1d, 1, 2, -1));
    assert.deepEqual(one("jset %r1, 0x80000000, +0"), insn(0x45, 1, 0, 0, -0x80000000));
    assert.deepEqual(one("jsle32 %r1, -5, +7"), insn(0xd6, 1, 0, 7, -5));
    assert.deepEqual(one("jlt32 %r1, %r2, +1"), insn(0xae, 1, 2, 1));
    const codes = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"].map(
      (name) => one(`${name} %r0, 1, +0`).code,
    );
    assert.deepEqual(codes, [0x15, 0x25, 0x35, 0x45, 0x55, 0x65, 0x75, 0xa5, 0xb5, 0xc5, 0xd5]);
  });

  test("labels resolve forward and backward, to the slot after the jump", () => {
    const program = assemble(["start:", "mov %r0, 0", "jeq %r0, 0, done", "lddw %r1, 5", "ja start", "done:", "exit"].join("\n"));
    assert.equal(program.length, 6);
    assert.equal(program[1]!.off, 3); // over lddw (2 slots) and ja
    assert.equal(program[4]!.off, -5);
  });

  test("the first exit is implicitly labelled exit, unless a label of that name exists", () => {
    const implicit = assemble("ja exit\nmov %r0, 1\nexit\nexit");
    assert.equal(implicit[0]!.off, 1);
    const explicit = assemble("ja exit\nexit\nexit:\nexit");
    assert.equal(explicit[0]!.off, 1);
  });

  test("ja, ja32 and relative targets", () => {
    assert.deepEqual(one("ja +3"), insn(0x05, 0, 0, 3));
    assert.deepEqual(one("ja -1"), insn(0x05, 0, 0, -1));
    assert.deepEqual(one("ja32 +70000"), insn(0x06, 0, 0, 0, 70000));
    const program = assemble("ja32 end\nmov %r0, 1\nend:\nexit");
    assert.deepEqual(program[0], insn(0x06, 0, 0, 0, 1));
    rejects("ja +32768", 1, "Jump offset out of 16-bit range: +32768");
  });

  test("calls: helper, local, register (callx), runtime", () => {
    assert.deepEqual(one("call 5"), insn(0x85, 0, 0, 0, 5));
    assert.deepEqual(one("call helper 5"), insn(0x85, 0, 0, 0, 5));
    assert.deepEqual(one("call %r2"), insn(0x8d, 2));
    assert.deepEqual(one("call helper %r2"), insn(0x8d, 2));
    assert.deepEqual(one("callx %r3"), insn(0x8d, 3));
    assert.deepEqual(one("call runtime 77"), insn(0x85, 0, 2, 0, 77));
    assert.deepEqual(one("call local +4"), insn(0x85, 0, 1, 0, 4));
    const program = assemble("call local f\nexit\nf:\nmov %r0, 1\nexit");
    assert.deepEqual(program[0], insn(0x85, 0, 1, 0, 1));
    rejects("call far 3", 1, "Invalid call mode: far (expected helper, local or runtime)");
    rejects("call", 1, /^Invalid number of operands for call/);
  });

  test("exit takes no operands", () => {
    assert.deepEqual(one("exit"), insn(0x95));
    rejects("exit %r0", 1, "Invalid number of operands for exit: expected 0, got 1");
  });

  test("label errors", () => {
    rejects("ja NOT_A_LABEL\nexit", 1, "Invalid label: NOT_A_LABEL");
    rejects("a:\nexit\na:\nexit", 3, "Duplicate label: a (already marks instruction 0)");
    rejects("1abc:\nexit", 1, "Invalid label name: 1abc");
    rejects("ja 5\nexit", 1, "Invalid jump target: 5 (expected a label, +N or -N)");
    const far = ["ja end", ...Array<string>(40000).fill("mov %r0, 0"), "end:", "exit"].join("\n");
    rejects(far, 1, "Jump to end is 40000 instructions away, beyond the 16-bit offset");
  });
});

describe("source text", () => {
  test("comments, blank lines, CRLF, labels before an instruction on the same line", () => {
    const program = assemble("# header\r\n\r\n  mov %r0, 1   # set r0\r\nl: add %r0, 1\r\n\tja l\r\nexit");
    assert.deepEqual(program, [insn(0xb7, 0, 0, 0, 1), insn(0x07, 0, 0, 0, 1), insn(0x05, 0, 0, -2), insn(0x95)]);
  });

  test("errors carry the 1-based source line", () => {
    rejects("mov %r0, 1\n\n# c\nadd %r0, %r11\nexit", 4, "Invalid register");
    rejects("mov r0, 1", 1, "Invalid register");
    rejects("ldxq %r0, %r1", 1, "Invalid mnemonic: ldxq");
    assert.throws(() => assemble("exit\nfoo"), { message: "line 2: Invalid mnemonic: foo" });
  });

  test("a source without instructions is rejected", () => {
    rejects("", 1, "The program has no instructions");
    rejects("# nothing\nlabel:\n", 3, "The program has no instructions");
  });

  test(".raw inserts one slot as a 64-bit word", () => {
    assert.deepEqual(one(".raw 0x0000000100001404"), insn(0x04, 4, 1, 0, 1));
    assert.deepEqual(one(".raw 0xffffffff8000ab8e"), insn(0x8e, 0xb, 0xa, -0x8000, -1));
  });
});
