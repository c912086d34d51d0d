// Compares the decoder's instruction lengths with an oracle's (objdump's, or a fixture extracted from it).

import { decodeInstruction, InstructionDecodeError } from "../../../src/hook/x86-decoder/decode.js";

export interface LengthSample {
  readonly name: string;
  readonly bytes: readonly number[];
  readonly lengths: readonly number[];
}

export interface LengthMismatch {
  readonly name: string;
  /** Offset of the instruction within the sample. */
  readonly offset: number;
  readonly hex: string;
  readonly expected: number;
  /** The decoder's length, or its error message. */
  readonly got: number | string;
}

export interface AgreementReport {
  readonly samples: number;
  readonly instructions: number;
  readonly agreed: number;
  /** Samples in which every instruction agreed. */
  readonly samplesAgreed: number;
  readonly mismatches: LengthMismatch[];
}

function hexOf(bytes: Uint8Array, offset: number, length: number): string {
  return [...bytes.subarray(offset, offset + length)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

export function compareLengths(samples: Iterable<LengthSample>): AgreementReport {
  let count = 0;
  let instructions = 0;
  let agreed = 0;
  let samplesAgreed = 0;
  const mismatches: LengthMismatch[] = [];
  for (const sample of samples) {
    count++;
    // Pad with nops so the last instruction is measured by its own bytes only, as the oracle did.
    const bytes = new Uint8Array(sample.bytes.length + 16).fill(0x90);
    bytes.set(sample.bytes);
    let offset = 0;
    let allAgreed = true;
    for (const expected of sample.lengths) {
      instructions++;
      let got: number | string;
      try {
        got = decodeInstruction(bytes, offset).length;
      } catch (error) {
        if (!(error instanceof InstructionDecodeError)) throw error;
        got = error.reason;
      }
      if (got === expected) agreed++;
      else {
        allAgreed = false;
        mismatches.push({ name: sample.name, offset, hex: hexOf(bytes, offset, Math.max(expected, 1)), expected, got });
      }
      offset += expected;
    }
    if (allAgreed) samplesAgreed++;
  }
  return { samples: count, instructions, agreed, samplesAgreed, mismatches };
}
