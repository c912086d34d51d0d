// The instruction model shared by the loader, validator, assembler, interpreter and JIT.
//
// A program is an array of 8-byte slots, exactly as the kernel counts them: jump offsets, call targets
// and error messages all use slot indices. LDDW occupies two slots; its second slot is kept as an
// instruction with opcode 0 whose `imm` holds the upper 32 bits of the constant.

import { DecodeError } from "./errors.js";
import { OP_LDDW } from "./opcodes.js";

export interface Insn {
  /** The opcode byte. */
  code: number;
  /** Destination register, 0..15 as encoded (the validator rejects > 10). */
  dst: number;
  /** Source register, 0..15 as encoded. */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
}

export const INSN_SIZE = 8;

export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  return { code, dst, src, off: (off << 16) >> 16, imm: imm | 0 };
}

/** The two slots of `lddw dst, value`, with an optional pseudo source (map fd, map value, ...). */
export function lddw(dst: number, value: bigint, src = 0): [Insn, Insn] {
  const bits = BigInt.asUintN(64, value);
  return [
    insn(OP_LDDW, dst, src, 0, Number(bits & 0xffffffffn)),
    insn(0, 0, 0, 0, Number(bits >> 32n)),
  ];
}

/** The 64-bit constant of an LDDW whose first slot is at `index`. */
export function lddwValue(program: readonly Insn[], index: number): bigint {
  const lo = program[index]?.imm ?? 0;
  const hi = program[index + 1]?.imm ?? 0;
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Decodes little-endian instruction bytes; the length must be a multiple of 8. */
export function decodeProgram(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new DecodeError(
      `program is ${bytes.length} bytes, not a multiple of ${INSN_SIZE} (the last instruction is truncated)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: Insn[] = new Array<Insn>(bytes.length / INSN_SIZE);
  for (let i = 0; i < program.length; i++) {
    const at = i * INSN_SIZE;
    const regs = view.getUint8(at + 1);
    program[i] = {
      code: view.getUint8(at),
      dst: regs & 0x0f,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    };
  }
  return program;
}

/** Encodes instructions as little-endian bytes, the layout of ELF sections and the bpf() syscall. */
export function encodeProgram(program: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(program.length * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((ins, i) => {
    const at = i * INSN_SIZE;
    view.setUint8(at, ins.code & 0xff);
    view.setUint8(at + 1, ((ins.src & 0x0f) << 4) | (ins.dst & 0x0f));
    view.setInt16(at + 2, ins.off, true);
    view.setInt32(at + 4, ins.imm, true);
  });
  return bytes;
}

/** Parses hex text (whitespace and optional 0x prefixes between bytes are ignored) into bytes. */
export function parseHexBytes(text: string): Uint8Array {
  const digits = text.replace(/0x/gi, "").replace(/\s+/g, "");
  if (digits.length % 2 !== 0) throw new DecodeError(`hex text has an odd number of digits (${digits.length})`);
  const bad = /[^0-9a-fA-F]/.exec(digits);
  if (bad) throw new DecodeError(`hex text has a non-hex character '${bad[0]}' at digit ${bad.index}`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.substr(i * 2, 2), 16);
  return bytes;
}

export function formatHexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
