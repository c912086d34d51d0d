// 64-bit arithmetic on registers held as two signed 32-bit halves (lo, hi) in Int32Arrays.
//
// bench/register-representation.ts measured why: on this machine a dispatch loop over lo/hi pairs ran
// about 1.6x faster than over a BigUint64Array and 5x faster than over plain bigints. The rare operations
// that are awkward in halves (64-bit division with large operands) fall back to bigint here.

const TWO_32 = 4294967296;

export function toBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function setBigInt(los: Int32Array, his: Int32Array, r: number, value: bigint): void {
  los[r] = Number(BigInt.asIntN(32, value));
  his[r] = Number(BigInt.asIntN(32, value >> 32n));
}

/** Stores a JS integer of magnitude below 2^53 as a 64-bit two's complement value. */
export function setSafeInteger(los: Int32Array, his: Int32Array, r: number, value: number): void {
  los[r] = value | 0;
  his[r] = Math.floor(value / TWO_32) | 0;
}

/** dst = dst * (bl, bh), the low 64 bits of the product. */
export function mul64(los: Int32Array, his: Int32Array, d: number, bl: number, bh: number): void {
  const al = los[d]!;
  const ah = his[d]!;
  // The 64-bit product of the low halves, from 16-bit limbs so every partial product is exact.
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  los[d] = (mid << 16) | (p00 & 0xffff);
  his[d] = (carry + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
}

/** True when (lo, hi) is a value whose 64-bit pattern is the sign extension of lo. */
const fitsInt32 = (lo: number, hi: number): boolean => hi === lo >> 31;

/** Unsigned division; by zero gives 0. With `modulo`, the remainder; by zero leaves dst unchanged. */
export function udivmod64(los: Int32Array, his: Int32Array, d: number, bl: number, bh: number, modulo: boolean): void {
  const al = los[d]!;
  const ah = his[d]!;
  if (bl === 0 && bh === 0) {
    if (!modulo) los[d] = his[d] = 0;
    return;
  }
  if (ah === 0 && bh === 0) {
    // Both below 2^32: a double quotient of two 32-bit integers truncates to the exact integer quotient.
    const a = al >>> 0;
    const b = bl >>> 0;
    los[d] = modulo ? a % b : (a / b) >>> 0;
    return;
  }
  const a = toBigInt(al, ah);
  const b = toBigInt(bl, bh);
  setBigInt(los, his, d, modulo ? a % b : a / b);
}

/** Signed division truncating toward zero; INT64_MIN / -1 wraps, INT64_MIN % -1 is 0. By zero as udivmod64. */
export function sdivmod64(los: Int32Array, his: Int32Array, d: number, bl: number, bh: number, modulo: boolean): void {
  const al = los[d]!;
  const ah = his[d]!;
  if (bl === 0 && bh === 0) {
    if (!modulo) los[d] = his[d] = 0;
    return;
  }
  if (fitsInt32(al, ah) && fitsInt32(bl, bh)) {
    // Exact in doubles; INT32_MIN / -1 = 2^31 is representable in 64 bits, so no wrap is needed.
    const result = modulo ? al % bl : Math.trunc(al / bl);
    setSafeInteger(los, his, d, result + 0); // + 0 turns -0 into 0
    return;
  }
  const a = BigInt.asIntN(64, toBigInt(al, ah));
  const b = BigInt.asIntN(64, toBigInt(bl, bh));
  setBigInt(los, his, d, modulo ? a % b : a / b); // bigint division truncates toward zero, as eBPF's does
}

export function lsh64(los: Int32Array, his: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const l = los[d]!;
  if (n < 32) {
    his[d] = (his[d]! << n) | (l >>> (32 - n));
    los[d] = l << n;
  } else {
    his[d] = l << (n - 32);
    los[d] = 0;
  }
}

export function rsh64(los: Int32Array, his: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const h = his[d]!;
  if (n < 32) {
    los[d] = (los[d]! >>> n) | (h << (32 - n));
    his[d] = h >>> n;
  } else {
    los[d] = h >>> (n - 32);
    his[d] = 0;
  }
}

export function arsh64(los: Int32Array, his: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const h = his[d]!;
  if (n < 32) {
    los[d] = (los[d]! >>> n) | (h << (32 - n));
    his[d] = h >> n;
  } else {
    los[d] = h >> (n - 32);
    his[d] = h >> 31;
  }
}

export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

export function bswap16(x: number): number {
  return ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
}

/** Unsigned a > b for 64-bit (al, ah) and (bl, bh). */
export function ugt(al: number, ah: number, bl: number, bh: number): boolean {
  return ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0;
}

/** Signed a > b for 64-bit (al, ah) and (bl, bh). */
export function sgt(al: number, ah: number, bl: number, bh: number): boolean {
  return ah !== bh ? ah > bh : al >>> 0 > bl >>> 0;
}
