// A growable byte buffer that machine code is written into. One buffer is reused across the compiler's
// passes, so emitting an instruction never allocates.

export class CodeBuffer {
  bytes: Uint8Array;
  /** Next write position, i.e. the size of the code so far. */
  length = 0;

  constructor(initialCapacity = 4096) {
    this.bytes = new Uint8Array(initialCapacity);
  }

  /** Forgets the contents and starts again at offset 0 (the capacity is kept). */
  reset(): void {
    this.length = 0;
  }

  byte(value: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = value;
  }

  /** A 16-bit little-endian value. */
  u16(value: number): void {
    this.byte(value & 0xff);
    this.byte((value >>> 8) & 0xff);
  }

  /** A 32-bit little-endian value (signed or unsigned bit pattern). */
  u32(value: number): void {
    if (this.length + 4 > this.bytes.length) this.grow(4);
    const b = this.bytes;
    const at = this.length;
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = (value >>> 24) & 0xff;
    this.length = at + 4;
  }

  /** A 64-bit little-endian value given as its two 32-bit halves. */
  u64(lo: number, hi: number): void {
    this.u32(lo);
    this.u32(hi);
  }

  /** Overwrites one byte already written. */
  patchByte(at: number, value: number): void {
    this.bytes[at] = value & 0xff;
  }

  /** Overwrites 4 bytes already written. */
  patchU32(at: number, value: number): void {
    const b = this.bytes;
    b[at] = value & 0xff;
    b[at + 1] = (value >>> 8) & 0xff;
    b[at + 2] = (value >>> 16) & 0xff;
    b[at + 3] = (value >>> 24) & 0xff;
  }

  /** A copy of the code written so far. */
  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  private grow(atLeast: number): void {
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.length + atLeast));
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }
}
