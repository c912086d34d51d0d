// Operand shapes of the legacy opcode maps in 64-bit mode: for each opcode, whether a ModRM byte follows and
// how large the immediate is. That is all a length decoder needs; instruction names are not kept.
//
// Each table is written as 16 rows of 16 tokens (row = high nibble), so a row can be checked against the
// opcode charts of the Intel SDM volume 2, appendix A, at a glance:
//   .    no ModRM, no immediate          m    ModRM
//   b    imm8                            mb   ModRM + imm8
//   w    imm16                           mz   ModRM + imm16/32 (operand size)
//   z    imm16/32 (operand size)         v    imm16/32/64 (mov r, imm: REX.W makes it 64)
//   E    imm16 + imm8 (enter)            M    moffs: 8-byte address (4 with 67)
//   j8   rel8 branch                     j32  rel32 branch
//   g    ModRM, and an immediate only for /0 and /1 (test in groups F6/F7)
//   x    invalid in 64-bit mode          p    prefix or escape (handled before the table is consulted)

export type OperandShape =
  | "none"
  | "modrm"
  | "modrm-imm8"
  | "modrm-immz"
  | "imm8"
  | "imm16"
  | "immz"
  | "immv"
  | "enter"
  | "moffs"
  | "rel8"
  | "rel32"
  | "group-test"
  | "invalid"
  | "prefix";

const TOKENS: Readonly<Record<string, OperandShape>> = {
  ".": "none",
  m: "modrm",
  mb: "modrm-imm8",
  mz: "modrm-immz",
  b: "imm8",
  w: "imm16",
  z: "immz",
  v: "immv",
  E: "enter",
  M: "moffs",
  j8: "rel8",
  j32: "rel32",
  g: "group-test",
  x: "invalid",
  p: "prefix",
};

function parseTable(rows: readonly string[]): readonly OperandShape[] {
  const shapes: OperandShape[] = [];
  rows.forEach((row, high) => {
    const tokens = row.trim().split(/\s+/);
    if (tokens.length !== 16) throw new Error(`opcode table row ${high.toString(16)}x has ${tokens.length} entries`);
    for (const token of tokens) {
      const shape = TOKENS[token];
      if (shape === undefined) throw new Error(`unknown opcode table token "${token}"`);
      shapes.push(shape);
    }
  });
  if (shapes.length !== 256) throw new Error("an opcode table needs 16 rows");
  return shapes;
}

/** The one-byte map. 0F, C4, C5, 62 and 8F are escapes the decoder handles itself (marked p). */
export const ONE_BYTE_MAP = parseTable([
  /* 0x */ "m  m  m  m  b  z  x  x  m  m  m  m  b  z  x  p",
  /* 1x */ "m  m  m  m  b  z  x  x  m  m  m  m  b  z  x  x",
  /* 2x */ "m  m  m  m  b  z  p  x  m  m  m  m  b  z  p  x",
  /* 3x */ "m  m  m  m  b  z  p  x  m  m  m  m  b  z  p  x",
  /* 4x */ "p  p  p  p  p  p  p  p  p  p  p  p  p  p  p  p",
  /* 5x */ ".  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
  /* 6x */ "x  x  p  m  p  p  p  p  z  mz b  mb .  .  .  .",
  /* 7x */ "j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8 j8",
  /* 8x */ "mb mz x  mb m  m  m  m  m  m  m  m  m  m  m  p",
  /* 9x */ ".  .  .  .  .  .  .  .  .  .  x  .  .  .  .  .",
  /* Ax */ "M  M  M  M  .  .  .  .  b  z  .  .  .  .  .  .",
  /* Bx */ "b  b  b  b  b  b  b  b  v  v  v  v  v  v  v  v",
  /* Cx */ "mb mb w  .  p  p  mb mz E  .  w  .  .  b  x  .",
  /* Dx */ "m  m  m  m  x  x  x  .  m  m  m  m  m  m  m  m",
  /* Ex */ "j8 j8 j8 j8 b  b  b  b  j32 j32 x j8 .  .  .  .",
  /* Fx */ "p  .  p  p  .  .  g  g  .  .  .  .  .  .  m  m",
]);

/**
 * The 0F map. 0F 0F (3DNow!, ModRM then an opcode suffix byte), 0F 38 and 0F 3A are handled by the decoder.
 * 0F B8 exists only as F3 0F B8 (popcnt); the decoder checks the prefix. 0F A6/A7 are VIA PadLock
 * (xsha, xcrypt: a fixed ModRM byte), which OpenSSL builds into node.
 */
export const TWO_BYTE_MAP = parseTable([
  /* 0x */ "m  m  m  m  x  .  .  .  .  .  x  .  x  m  .  p",
  /* 1x */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* 2x */ "m  m  m  m  x  x  x  x  m  m  m  m  m  m  m  m",
  /* 3x */ ".  .  .  .  .  .  x  .  p  x  p  x  x  x  x  x",
  /* 4x */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* 5x */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* 6x */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* 7x */ "mb mb mb mb m  m  m  .  m  m  x  x  m  m  m  m",
  /* 8x */ "j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32 j32",
  /* 9x */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* Ax */ ".  .  .  m  mb m  m  m  .  .  .  m  mb m  m  m",
  /* Bx */ "m  m  m  m  m  m  m  m  m  m  mb m  m  m  m  m",
  /* Cx */ "m  m  mb m  mb mb mb m  .  .  .  .  .  .  .  .",
  /* Dx */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* Ex */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
  /* Fx */ "m  m  m  m  m  m  m  m  m  m  m  m  m  m  m  m",
]);

/**
 * Opcodes of the 0F map (legacy, VEX and EVEX alike) that carry an imm8 after ModRM: pshufd/psrl*-group,
 * cmpps, pinsrw, pextrw, shufps. The legacy table above already marks them; VEX/EVEX share the set.
 */
export const MAP_0F_IMM8_OPCODES: ReadonlySet<number> = new Set([0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]);
