// Labels for hand-written code sequences (stubs, driver loops): a jump to a label bound earlier uses the
// shortest encoding; a jump to a label bound later is recorded and patched when the label is bound.
// Forward jumps are rel32 unless the caller asks for rel8 (and then binding checks it fits).
// (The eBPF compiler sizes its jumps with passes over the whole program instead; see compiler/.)

import type { CodeBuffer } from "./code-buffer.js";

interface Fixup {
  /** Offset of the displacement field. */
  at: number;
  /** 1 or 4 bytes. */
  size: 1 | 4;
}

export class Label {
  /** Code offset once bound, else -1. */
  offset = -1;
  readonly fixups: Fixup[] = [];
}

export function bind(buf: CodeBuffer, label: Label): void {
  if (label.offset >= 0) throw new Error("label bound twice");
  label.offset = buf.length;
  for (const { at, size } of label.fixups) {
    const displacement = label.offset - (at + size);
    if (size === 1) {
      if (displacement > 127) throw new RangeError(`short jump to a label ${displacement} bytes away`);
      buf.patchByte(at, displacement);
    } else {
      buf.patchU32(at, displacement);
    }
  }
  label.fixups.length = 0;
}

const fitsRel8 = (displacement: number): boolean => displacement >= -128 && displacement <= 127;

/** `jcc label`. */
export function jccLabel(buf: CodeBuffer, cc: number, label: Label, short = false): void {
  if (label.offset >= 0 && fitsRel8(label.offset - (buf.length + 2))) short = true;
  if (short) {
    buf.byte(0x70 + cc);
    referTo(buf, label, 1);
  } else {
    buf.byte(0x0f);
    buf.byte(0x80 + cc);
    referTo(buf, label, 4);
  }
}

/** `jmp label`. */
export function jmpLabel(buf: CodeBuffer, label: Label, short = false): void {
  if (label.offset >= 0 && fitsRel8(label.offset - (buf.length + 2))) short = true;
  buf.byte(short ? 0xeb : 0xe9);
  referTo(buf, label, short ? 1 : 4);
}

/** `call label`. */
export function callLabel(buf: CodeBuffer, label: Label): void {
  buf.byte(0xe8);
  referTo(buf, label, 4);
}

function referTo(buf: CodeBuffer, label: Label, size: 1 | 4): void {
  const at = buf.length;
  if (label.offset >= 0) {
    const displacement = label.offset - (at + size);
    if (size === 1) buf.byte(displacement & 0xff);
    else buf.u32(displacement);
    return;
  }
  label.fixups.push({ at, size });
  if (size === 1) buf.byte(0);
  else buf.u32(0);
}

/**
 * A short forward jump inside a fixed-size sequence, without a Label object: returns where its
 * displacement byte is, for `bindShort` once the target is reached. `cc` < 0 means an unconditional jmp.
 */
export function jumpShortForward(buf: CodeBuffer, cc: number): number {
  buf.byte(cc < 0 ? 0xeb : 0x70 + cc);
  buf.byte(0);
  return buf.length - 1;
}

/** Points the short jump whose displacement byte is at `at` to the current position. */
export function bindShort(buf: CodeBuffer, at: number): void {
  const displacement = buf.length - (at + 1);
  if (displacement > 127) throw new RangeError(`short jump over ${displacement} bytes`);
  buf.patchByte(at, displacement);
}
