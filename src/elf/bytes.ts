// Small helpers shared by the ELF readers: a DataView over exactly a Uint8Array's bytes, 64-bit fields read as
// safe JS numbers, and hex formatting for error messages.

import { ElfError } from "./errors.js";

/** A DataView over exactly the bytes of `bytes` (which may be a window into a larger buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * Reads a little-endian u64 as a number. File offsets, sizes and user-space addresses all stay far below
 * 2^53; a larger value can only be a corrupt field (or a kernel address, which this reader does not need), so
 * it is rejected instead of silently losing precision.
 */
export function readU64(view: DataView, at: number, describe: () => string): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi > 0x1fffff) {
    const value = (BigInt(hi) << 32n) | BigInt(lo);
    throw new ElfError("ELF_TOO_LARGE", `${describe()} is ${hex(value)}, larger than this reader supports (2^53)`);
  }
  return hi * 0x1_0000_0000 + lo;
}

/** Reads a little-endian s64 as a number, rejecting magnitudes beyond 2^53 like readU64. */
export function readI64(view: DataView, at: number, describe: () => string): number {
  const value = view.getBigInt64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ElfError("ELF_TOO_LARGE", `${describe()} is ${value}, larger than this reader supports (2^53)`);
  }
  return Number(value);
}

/** Throws unless [offset, offset+size) lies inside a file of `fileSize` bytes. */
export function checkInFile(offset: number, size: number, fileSize: number, describe: () => string): void {
  if (offset > fileSize || size > fileSize - offset) {
    throw new ElfError(
      "ELF_OUT_OF_BOUNDS",
      `${describe()} at ${hex(offset)}+${hex(size)} extends past the end of the file (${hex(fileSize)} bytes)`,
    );
  }
}
