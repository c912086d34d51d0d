// Small arithmetic and byte helpers shared by the map layouts. Everything works on (bytes, offset) pairs
// so that callers can pass a program's stack or a map region without making subarrays.

export function roundUp(value: number, multiple: number): number {
  return Math.ceil(value / multiple) * multiple;
}

export function isPowerOfTwo(value: number): boolean {
  return value > 0 && Number.isInteger(value) && (value & (value - 1)) === 0 && value <= 2 ** 31;
}

/** The smallest power of two >= value (value >= 1, result <= 2^31). */
export function roundUpPowerOfTwo(value: number): number {
  let result = 1;
  while (result < value) result *= 2;
  return result;
}

/** Whether `length` bytes at a[aOffset] equal those at b[bOffset]. */
export function bytesEqual(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

/** Below this many bytes a plain loop beats making a subarray for TypedArray.set (and allocates nothing). */
const LOOP_COPY_LIMIT = 64;

/**
 * Copies `length` bytes from source[sourceOffset] to target[targetOffset]: the program-side copies of keys
 * and values, which should not allocate. copyWithin when both are the same array (they may overlap).
 */
export function copyBytes(target: Uint8Array, targetOffset: number, source: Uint8Array, sourceOffset: number, length: number): void {
  if (target === source) target.copyWithin(targetOffset, sourceOffset, sourceOffset + length);
  else if (length <= LOOP_COPY_LIMIT) for (let i = 0; i < length; i++) target[targetOffset + i] = source[sourceOffset + i]!;
  else target.set(source.subarray(sourceOffset, sourceOffset + length), targetOffset);
}

/** Little-endian u32 at an unaligned offset, without a DataView (keys may sit anywhere). */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = (value >>> 24) & 0xff;
}
