// x86 condition codes, the low nibble of jcc/setcc/cmovcc opcodes.

export const Cond = {
  O: 0x0,
  NO: 0x1,
  /** Below (unsigned <), also "carry". */
  B: 0x2,
  /** Above or equal (unsigned >=). */
  AE: 0x3,
  E: 0x4,
  NE: 0x5,
  /** Below or equal (unsigned <=). */
  BE: 0x6,
  /** Above (unsigned >). */
  A: 0x7,
  S: 0x8,
  NS: 0x9,
  P: 0xa,
  NP: 0xb,
  /** Less (signed <). */
  L: 0xc,
  GE: 0xd,
  LE: 0xe,
  /** Greater (signed >). */
  G: 0xf,
} as const;

/** The condition that holds exactly when `cc` does not (the codes come in pairs differing in bit 0). */
export function invert(cc: number): number {
  return cc ^ 1;
}
