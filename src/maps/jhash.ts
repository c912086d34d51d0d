// Bob Jenkins' lookup3 hash as the kernel's <linux/jhash.h> defines it (jhash over bytes; jhash2 over
// 32-bit words gives the same result on a little-endian machine, so one function serves both). Hash maps
// pick buckets with it and bloom filters pick bits with it; with a zero seed the results equal the
// kernel's bit for bit, which the differential tests rely on.
//
// All arithmetic stays in int32 (| 0) and the key is read in place, so hashing allocates nothing.

const JHASH_INITVAL = 0xdeadbeef;

function rol32(x: number, shift: number): number {
  return (x << shift) | (x >>> (32 - shift));
}

function word(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24);
}

/** jhash(key, length, initval) over `length` bytes at bytes[offset]; returns an unsigned 32-bit value. */
export function jhash(bytes: Uint8Array, offset: number, length: number, initval: number): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  let k = offset;
  let left = length;
  while (left > 12) {
    a = (a + word(bytes, k)) | 0;
    b = (b + word(bytes, k + 4)) | 0;
    c = (c + word(bytes, k + 8)) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
    left -= 12;
    k += 12;
  }
  if (left === 0) return c >>> 0;
  // The last 1..12 bytes, zero-padded: bytes 0-3 go to a, 4-7 to b, 8-11 to c, little-endian.
  for (let i = left - 1; i >= 0; i--) {
    const shifted = bytes[k + i]! << ((i & 3) * 8);
    if (i >= 8) c = (c + shifted) | 0;
    else if (i >= 4) b = (b + shifted) | 0;
    else a = (a + shifted) | 0;
  }
  // __jhash_final
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c >>> 0;
}
