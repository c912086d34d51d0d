// x86-64 instruction length decoder. It walks prefixes, the opcode (legacy maps, VEX, EVEX, XOP, 3DNow!),
// ModRM/SIB, displacement and immediate, and classifies control flow. It fails closed: anything it cannot
// measure with certainty (invalid opcodes, encodings whose length depends on the CPU vendor, unknown maps,
// truncated input) raises InstructionDecodeError rather than guessing a length.

import {
  type ControlFlow,
  type Encoding,
  type Field,
  type LegacyPrefixes,
  MAX_INSTRUCTION_LENGTH,
  type ModRm,
  type OpcodeMap,
  type X86Instruction,
} from "./instruction.js";
import { MAP_0F_IMM8_OPCODES, ONE_BYTE_MAP, type OperandShape, TWO_BYTE_MAP } from "./opcode-tables.js";

export class InstructionDecodeError extends Error {
  override name = "InstructionDecodeError";
  constructor(
    /** Offset of the instruction's first byte in the decoded buffer. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`cannot decode the instruction at offset 0x${offset.toString(16)}: ${reason}`);
  }
}

const SEGMENT_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);
const LEGACY_PREFIXES = new Set([0xf0, 0xf2, 0xf3, 0x66, 0x67, ...SEGMENT_PREFIXES]);

function isRex(byte: number): boolean {
  return (byte & 0xf0) === 0x40;
}

/** Reads bytes of one instruction, failing on truncation or on exceeding the 15-byte limit. */
class ByteCursor {
  position: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly start: number,
  ) {
    this.position = start;
  }

  get consumed(): number {
    return this.position - this.start;
  }

  peek(): number {
    return this.at(this.position);
  }

  peekAt(ahead: number): number | undefined {
    return this.bytes[this.position + ahead];
  }

  next(): number {
    const value = this.at(this.position);
    this.position++;
    return value;
  }

  skip(count: number): Field {
    const field = { offset: this.consumed, size: count };
    for (let i = 0; i < count; i++) this.next();
    return field;
  }

  fail(reason: string): never {
    throw new InstructionDecodeError(this.start, reason);
  }

  private at(index: number): number {
    if (index - this.start >= MAX_INSTRUCTION_LENGTH) this.fail("longer than 15 bytes");
    const value = this.bytes[index];
    if (value === undefined) this.fail("truncated");
    return value;
  }
}

interface PrefixState {
  lock: boolean;
  repeat: 0xf2 | 0xf3 | undefined;
  operandSize: boolean;
  addressSize: boolean;
  segment: number | undefined;
  rex: number | undefined;
}

function readPrefixes(cursor: ByteCursor): PrefixState {
  const state: PrefixState = {
    lock: false,
    repeat: undefined,
    operandSize: false,
    addressSize: false,
    segment: undefined,
    rex: undefined,
  };
  for (;;) {
    const byte = cursor.peek();
    // The CPU ignores a REX prefix that is not directly before the opcode; compilers never emit one, and
    // disassemblers disagree on how to show it, so such bytes are refused (they are data, not code).
    if (state.rex !== undefined && (isRex(byte) || LEGACY_PREFIXES.has(byte))) cursor.fail("a REX prefix followed by another prefix");
    if (isRex(byte)) {
      state.rex = byte;
      cursor.next();
      continue;
    }
    if (byte === 0xf0) state.lock = true;
    else if (byte === 0xf2 || byte === 0xf3) state.repeat = byte;
    else if (byte === 0x66) state.operandSize = true;
    else if (byte === 0x67) state.addressSize = true;
    else if (SEGMENT_PREFIXES.has(byte)) state.segment = byte;
    else return state;
    cursor.next();
  }
}

interface OpcodeResult {
  encoding: Encoding;
  map: OpcodeMap;
  opcode: number;
  opcodeOffset: number;
  shape: OperandShape;
  /** Extra bytes after the ModRM operand (3DNow! suffix, XOP map 0A imm32, SSE4a extrq/insertq imm8 pairs). */
  immediateOverride?: number;
}

function vexLikeShape(map: "0f" | "0f38" | "0f3a", opcode: number): OperandShape {
  if (map === "0f3a") return "modrm-imm8";
  if (map === "0f" && MAP_0F_IMM8_OPCODES.has(opcode)) return "modrm-imm8";
  return "modrm";
}

const VEX_MAPS: Readonly<Record<number, "0f" | "0f38" | "0f3a">> = { 1: "0f", 2: "0f38", 3: "0f3a" };

function rejectPrefixesBeforeVex(cursor: ByteCursor, prefixes: PrefixState, what: string): void {
  if (prefixes.rex !== undefined || prefixes.operandSize || prefixes.repeat !== undefined || prefixes.lock) {
    cursor.fail(`${what} after a REX, 66, F2, F3 or F0 prefix is undefined (#UD)`);
  }
}

function readVex(cursor: ByteCursor, prefixes: PrefixState): OpcodeResult {
  rejectPrefixesBeforeVex(cursor, prefixes, "VEX");
  const escape = cursor.next();
  let mapName: "0f" | "0f38" | "0f3a";
  if (escape === 0xc5) {
    cursor.next();
    mapName = "0f";
  } else {
    const mapNumber = cursor.next() & 0x1f;
    const known = VEX_MAPS[mapNumber];
    if (known === undefined) cursor.fail(`VEX opcode map ${mapNumber} is not supported`);
    mapName = known;
    cursor.next();
  }
  const opcodeOffset = cursor.consumed;
  const opcode = cursor.next();
  // vzeroupper / vzeroall are the only VEX instructions without ModRM.
  const shape = mapName === "0f" && opcode === 0x77 ? "none" : vexLikeShape(mapName, opcode);
  return { encoding: "vex", map: "vex-map", opcode, opcodeOffset, shape };
}

function readEvex(cursor: ByteCursor, prefixes: PrefixState): OpcodeResult {
  rejectPrefixesBeforeVex(cursor, prefixes, "EVEX");
  cursor.next(); // 62
  const p0 = cursor.next();
  cursor.skip(2); // P1, P2: vector length, masking, registers; nothing that changes the length
  const mapNumber = p0 & 0x07;
  const opcodeOffset = cursor.consumed;
  const opcode = cursor.next();
  let shape: OperandShape;
  const known = VEX_MAPS[mapNumber];
  if (known !== undefined) shape = vexLikeShape(known, opcode);
  else if (mapNumber === 5 || mapNumber === 6) shape = "modrm"; // AVX512-FP16 maps: no immediates
  else cursor.fail(`EVEX opcode map ${mapNumber} is not supported`);
  return { encoding: "evex", map: "evex-map", opcode, opcodeOffset, shape };
}

function readXop(cursor: ByteCursor, prefixes: PrefixState): OpcodeResult {
  rejectPrefixesBeforeVex(cursor, prefixes, "XOP");
  cursor.next();
  const mapNumber = cursor.next() & 0x1f;
  cursor.next();
  const opcodeOffset = cursor.consumed;
  const opcode = cursor.next();
  if (mapNumber === 8) return { encoding: "xop", map: "xop-map", opcode, opcodeOffset, shape: "modrm-imm8" };
  if (mapNumber === 9) return { encoding: "xop", map: "xop-map", opcode, opcodeOffset, shape: "modrm" };
  if (mapNumber === 0x0a) {
    return { encoding: "xop", map: "xop-map", opcode, opcodeOffset, shape: "modrm", immediateOverride: 4 };
  }
  return cursor.fail(`XOP opcode map ${mapNumber} is not supported`);
}

function readTwoByteOpcode(cursor: ByteCursor, prefixes: PrefixState): OpcodeResult {
  cursor.next(); // 0F
  const second = cursor.next();
  if (second === 0x38 || second === 0x3a) {
    const opcodeOffset = cursor.consumed;
    const opcode = cursor.next();
    return second === 0x38
      ? { encoding: "legacy", map: "0f38", opcode, opcodeOffset, shape: "modrm" }
      : { encoding: "legacy", map: "0f3a", opcode, opcodeOffset, shape: "modrm-imm8" };
  }
  const opcodeOffset = cursor.consumed - 1;
  if (second === 0x0f) {
    // 3DNow!: 0F 0F ModRM [SIB] [disp] suffix-opcode.
    return { encoding: "3dnow", map: "0f", opcode: second, opcodeOffset, shape: "modrm", immediateOverride: 1 };
  }
  if (second === 0xb8 && prefixes.repeat !== 0xf3) cursor.fail("0F B8 is only defined as F3 0F B8 (popcnt)");
  const result: OpcodeResult = { encoding: "legacy", map: "0f", opcode: second, opcodeOffset, shape: TWO_BYTE_MAP[second]! };
  // SSE4a extrq/insertq with immediates: 66 0F 78 /0 ib ib and F2 0F 78 /r ib ib.
  if (second === 0x78 && (prefixes.operandSize || prefixes.repeat === 0xf2)) result.immediateOverride = 2;
  return result;
}

function readOpcode(cursor: ByteCursor, prefixes: PrefixState): OpcodeResult {
  const first = cursor.peek();
  if (first === 0x0f) return readTwoByteOpcode(cursor, prefixes);
  // In 64-bit mode C4/C5 (LES/LDS) and 62 (BOUND) do not exist, so these bytes always start VEX/EVEX.
  if (first === 0xc4 || first === 0xc5) return readVex(cursor, prefixes);
  if (first === 0x62) return readEvex(cursor, prefixes);
  if (first === 0x8f) {
    // 8F /0 is pop r/m; a "ModRM" with a non-zero reg field (map number >= 8) starts an XOP instruction.
    const next = cursor.peekAt(1);
    if (next !== undefined && (next & 0x38) !== 0) return readXop(cursor, prefixes);
    const opcodeOffset = cursor.consumed;
    cursor.next();
    return { encoding: "legacy", map: "one-byte", opcode: first, opcodeOffset, shape: "modrm" };
  }
  const opcodeOffset = cursor.consumed;
  cursor.next();
  return { encoding: "legacy", map: "one-byte", opcode: first, opcodeOffset, shape: ONE_BYTE_MAP[first]! };
}

interface MemoryOperand {
  modrm: ModRm;
  displacement: Field | undefined;
  ripRelative: boolean;
}

function readModRm(cursor: ByteCursor, rex: number | undefined, registerOnly: boolean): MemoryOperand {
  const offset = cursor.consumed;
  const byte = cursor.next();
  // mov to/from control and debug registers ignore the mod bits and always name a register.
  const mod = registerOnly ? 3 : byte >> 6;
  const reg = (byte >> 3) & 7;
  const rm = byte & 7;
  const rexB = rex !== undefined && (rex & 1) !== 0 ? 8 : 0;
  if (mod === 3) {
    return { modrm: { offset, mod, reg, rm, sib: undefined, base: undefined }, displacement: undefined, ripRelative: false };
  }
  let sib: number | undefined;
  let base: number | "rip" | undefined;
  let displacementSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
  let ripRelative = false;
  if (rm === 4) {
    sib = cursor.next();
    const sibBase = sib & 7;
    if (mod === 0 && sibBase === 5) {
      displacementSize = 4;
      base = undefined;
    } else {
      base = sibBase | rexB;
    }
  } else if (mod === 0 && rm === 5) {
    displacementSize = 4;
    base = "rip";
    ripRelative = true;
  } else {
    base = rm | rexB;
  }
  const displacement = displacementSize > 0 ? cursor.skip(displacementSize) : undefined;
  return { modrm: { offset, mod, reg, rm, sib, base }, displacement, ripRelative };
}

/** Size of an imm16/32 operand: 2 with 66 unless REX.W (which wins and keeps 32). */
function operandSizeImmediate(prefixes: PrefixState): number {
  const rexW = prefixes.rex !== undefined && (prefixes.rex & 8) !== 0;
  return prefixes.operandSize && !rexW ? 2 : 4;
}

function immediateSize(shape: OperandShape, prefixes: PrefixState, opcode: number, modrm: ModRm | undefined): number {
  switch (shape) {
    case "modrm-imm8":
    case "imm8":
    case "rel8":
      return 1;
    case "imm16":
      return 2;
    case "enter":
      return 3;
    case "modrm-immz":
    case "immz":
    case "rel32":
      return operandSizeImmediate(prefixes);
    case "immv": {
      const rexW = prefixes.rex !== undefined && (prefixes.rex & 8) !== 0;
      return rexW ? 8 : prefixes.operandSize ? 2 : 4;
    }
    case "moffs":
      return prefixes.addressSize ? 4 : 8;
    case "group-test": {
      if (modrm === undefined || modrm.reg > 1) return 0;
      return opcode === 0xf6 ? 1 : operandSizeImmediate(prefixes);
    }
    default:
      return 0;
  }
}

function hasModRm(shape: OperandShape): boolean {
  return shape === "modrm" || shape === "modrm-imm8" || shape === "modrm-immz" || shape === "group-test";
}

function legacyOneByteFlow(opcode: number, modrm: ModRm | undefined): ControlFlow {
  if (opcode >= 0x70 && opcode <= 0x7f) return "conditional-relative";
  switch (opcode) {
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3:
      return "counter-relative";
    case 0xe8:
      return "call-relative";
    case 0xe9:
    case 0xeb:
      return "jump-relative";
    case 0xc2:
    case 0xc3:
      return "return";
    case 0xca:
    case 0xcb:
    case 0xcf:
      return "far";
    case 0xcd:
      return "system";
    case 0xf4:
      return "trap";
    case 0xc7:
      return modrm !== undefined && modrm.mod === 3 && modrm.reg === 7 ? "transaction" : "sequential";
    case 0xff: {
      const reg = modrm?.reg;
      if (reg === 2) return "call-indirect";
      if (reg === 4) return "jump-indirect";
      if (reg === 3 || reg === 5) return "far";
      return "sequential";
    }
    default:
      return "sequential";
  }
}

function twoByteFlow(opcode: number): ControlFlow {
  if (opcode >= 0x80 && opcode <= 0x8f) return "conditional-relative";
  if (opcode === 0x05 || opcode === 0x34) return "system";
  if (opcode === 0x07 || opcode === 0x35) return "far"; // sysret / sysexit
  if (opcode === 0x0b) return "trap";
  return "sequential";
}

function classify(op: OpcodeResult, modrm: ModRm | undefined): ControlFlow {
  if (op.encoding !== "legacy") return "sequential";
  if (op.map === "one-byte") return legacyOneByteFlow(op.opcode, modrm);
  if (op.map === "0f") return twoByteFlow(op.opcode);
  return "sequential";
}

const RELATIVE_FLOWS: ReadonlySet<ControlFlow> = new Set([
  "jump-relative",
  "conditional-relative",
  "counter-relative",
  "call-relative",
  "transaction",
]);

/** Decodes the instruction starting at `offset` in `bytes`. */
export function decodeInstruction(bytes: Uint8Array, offset = 0): X86Instruction {
  const cursor = new ByteCursor(bytes, offset);
  const prefixes = readPrefixes(cursor);
  const op = readOpcode(cursor, prefixes);
  if (op.shape === "invalid") cursor.fail(`opcode ${describeOpcode(op)} is invalid in 64-bit mode`);
  if (op.shape === "prefix") cursor.fail(`opcode ${describeOpcode(op)} is not supported`);

  let memory: MemoryOperand | undefined;
  const registerOnly = op.encoding === "legacy" && op.map === "0f" && op.opcode >= 0x20 && op.opcode <= 0x23;
  if (hasModRm(op.shape)) memory = readModRm(cursor, prefixes.rex, registerOnly);
  const modrm = memory?.modrm;
  const flow = classify(op, modrm);

  if (prefixes.operandSize && (flow === "jump-relative" || flow === "conditional-relative" || flow === "call-relative" || flow === "counter-relative")) {
    // With 66 Intel CPUs ignore the prefix and AMD CPUs truncate to 16 bits: the meaning (and, for rel32
    // forms, the length) depends on the vendor, so refuse rather than guess.
    cursor.fail("operand-size prefix on a relative branch (behaviour differs between Intel and AMD)");
  }

  const size = op.immediateOverride ?? immediateSize(op.shape, prefixes, op.opcode, modrm);
  const immediate = size > 0 ? cursor.skip(size) : undefined;
  const relative = RELATIVE_FLOWS.has(flow);
  const finalPrefixes: LegacyPrefixes = { ...prefixes };
  return {
    offset,
    length: cursor.consumed,
    encoding: op.encoding,
    map: op.map,
    opcode: op.opcode,
    opcodeOffset: op.opcodeOffset,
    prefixes: finalPrefixes,
    modrm,
    displacement: memory?.displacement,
    immediate: relative ? undefined : immediate,
    ripRelative: memory?.ripRelative ?? false,
    flow,
    branchDisplacement: relative ? immediate : undefined,
    condition: flow === "conditional-relative" ? op.opcode & 0x0f : undefined,
    isEndbr64: op.map === "0f" && op.opcode === 0x1e && prefixes.repeat === 0xf3 && modrm?.mod === 3 && modrm.reg === 7 && modrm.rm === 2,
    isInt3: op.map === "one-byte" && op.opcode === 0xcc,
  };
}

function describeOpcode(op: OpcodeResult): string {
  const hex = op.opcode.toString(16).padStart(2, "0");
  return op.map === "one-byte" ? hex : `0F ${hex}`;
}

/** Decodes consecutive instructions until `length` bytes from `offset` are consumed (or the buffer ends). */
export function decodeSequence(bytes: Uint8Array, offset = 0, length = bytes.length - offset): X86Instruction[] {
  const end = offset + length;
  const instructions: X86Instruction[] = [];
  let position = offset;
  while (position < end) {
    const instruction = decodeInstruction(bytes, position);
    instructions.push(instruction);
    position += instruction.length;
  }
  return instructions;
}

/** True when the bytes at `offset` are `endbr64` (F3 0F 1E FA). */
export function startsWithEndbr64(bytes: Uint8Array, offset = 0): boolean {
  return bytes[offset] === 0xf3 && bytes[offset + 1] === 0x0f && bytes[offset + 2] === 0x1e && bytes[offset + 3] === 0xfa;
}
