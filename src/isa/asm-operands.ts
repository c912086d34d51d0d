// Operand syntax of the conformance assembler: registers, immediates, offsets, memory operands and jump
// targets. Each parser takes one operand token and either returns its value or throws an OperandError whose
// message is shown to the user as is (the assembler adds the line number).

import { MAX_REGISTER } from "./opcodes.js";

/** A malformed operand; the assembler turns it into an AssemblyError for the current line. */
export class OperandError extends Error {
  override name = "OperandError";
}

const INTEGER = /^([+-]?)(?:0x([0-9a-f]+)|([0-9]+))$/i;

interface Literal {
  negative: boolean;
  hex: boolean;
  magnitude: bigint;
}

function parseLiteral(text: string, what: string): Literal {
  const match = INTEGER.exec(text);
  if (!match) throw new OperandError(`Invalid ${what}: ${text}`);
  const [, sign, hexDigits, decimalDigits] = match;
  return {
    negative: sign === "-",
    hex: hexDigits !== undefined,
    magnitude: BigInt(hexDigits !== undefined ? `0x${hexDigits}` : (decimalDigits ?? "0")),
  };
}

/**
 * An integer literal checked against a field of `bits` bits. Hex literals are bit patterns, so they may span
 * the whole unsigned range of the field; decimal literals are signed values and must fit the signed range
 * (only 64-bit immediates also accept unsigned decimals, as the suite's lddw does).
 */
function parseFieldValue(text: string, bits: number, what: string, rangeMessage: string): bigint {
  const literal = parseLiteral(text, what);
  const value = literal.negative ? -literal.magnitude : literal.magnitude;
  const signedMin = -(1n << BigInt(bits - 1));
  const signedMax = (1n << BigInt(bits - 1)) - 1n;
  const unsignedMax = (1n << BigInt(bits)) - 1n;
  const max = literal.hex || bits === 64 ? unsignedMax : signedMax;
  if (value < signedMin || value > max) throw new OperandError(`${rangeMessage}: ${text}`);
  return BigInt.asIntN(bits, value);
}

/** A 32-bit immediate as the signed value stored in the instruction. */
export function parseImm32(text: string): number {
  return Number(parseFieldValue(text, 32, "immediate", "Immediate out of 32-bit range"));
}

/** The 64-bit immediate of lddw, as an unsigned bit pattern. */
export function parseImm64(text: string): bigint {
  return BigInt.asUintN(64, parseFieldValue(text, 64, "immediate", "Immediate out of 64-bit range"));
}

/** A 16-bit memory offset as the signed value stored in the instruction. */
export function parseOffset16(text: string): number {
  return Number(parseFieldValue(text, 16, "offset", "Offset out of 16-bit range"));
}

/** A register operand `%r0`..`%r10`. The message is the suite's expected text (negative/invalid_register). */
export function parseRegister(text: string): number {
  const match = /^%r(\d+)$/.exec(text);
  const number = match ? Number(match[1]) : NaN;
  if (!(number >= 0 && number <= MAX_REGISTER)) throw new OperandError("Invalid register");
  return number;
}

export function isRegisterToken(text: string): boolean {
  return text.startsWith("%");
}

/** `[%rN]`, `[%rN+off]` or `[%rN-off]` (the tokenizer has already removed blanks inside the brackets). */
export function parseMemory(text: string): { reg: number; off: number } {
  const match = /^\[([^+\-\]]+)(?:([+-])([^\]]*))?\]$/.exec(text);
  if (!match) throw new OperandError(`Invalid memory operand: ${text} (expected [%rN], [%rN+offset] or [%rN-offset])`);
  const [, register = "", sign, offset] = match;
  const reg = parseRegister(register);
  if (sign === undefined) return { reg, off: 0 };
  return { reg, off: parseOffset16(`${sign}${offset ?? ""}`) };
}

/** A jump target written as a relative slot count, `+N` or `-N`, rather than as a label. */
export function isRelativeTarget(text: string): boolean {
  return text.startsWith("+") || text.startsWith("-");
}

/** A relative target for a field of `bits` bits: the 16-bit offset of jumps or the 32-bit imm of ja32/calls. */
export function parseRelativeTarget(text: string, bits: 16 | 32): number {
  return Number(parseFieldValue(text, bits, "jump offset", `Jump offset out of ${bits}-bit range`));
}

/** Label names: an identifier, optionally with dots (compilers' local labels such as `.LBB0_2`). */
export function isLabelName(text: string): boolean {
  return /^[A-Za-z_.][A-Za-z0-9_.$]*$/.test(text);
}
