// Measures how fast a switch-dispatched interpreter loop runs when 64-bit eBPF registers are held as
// (a) bigint values in a plain array, (b) a BigUint64Array, (c) pairs of 32-bit halves in Int32Arrays.
// The same five-instruction loop body (add, xor, shift, compare-and-branch) runs in each form.

const ITERATIONS = 5_000_000;
const OPS_PER_ITERATION = 5;

// Ops: 0 add r1 += r2, 1 xor r3 ^= r1, 2 lsh r2 <<= 1 (low 6 bits), 3 add r4 += 1, 4 jlt r4 < N -> 0.
const program = Int32Array.of(0, 1, 2, 3, 4);

function bigintArray(): bigint {
  const r: bigint[] = [0n, 1n, 3n, 5n, 0n];
  const n = BigInt(ITERATIONS);
  let pc = 0;
  for (;;) {
    switch (program[pc]) {
      case 0:
        r[1] = BigInt.asUintN(64, r[1]! + r[2]!);
        pc++;
        break;
      case 1:
        r[3] = r[3]! ^ r[1]!;
        pc++;
        break;
      case 2:
        r[2] = BigInt.asUintN(64, r[2]! << 1n);
        pc++;
        break;
      case 3:
        r[4] = BigInt.asUintN(64, r[4]! + 1n);
        pc++;
        break;
      case 4:
        if (r[4]! < n) pc = 0;
        else return r[3]!;
        break;
    }
  }
}

function bigUint64Array(): bigint {
  const r = new BigUint64Array([0n, 1n, 3n, 5n, 0n]);
  const n = BigInt(ITERATIONS);
  let pc = 0;
  for (;;) {
    switch (program[pc]) {
      case 0:
        r[1] = r[1]! + r[2]!;
        pc++;
        break;
      case 1:
        r[3] = r[3]! ^ r[1]!;
        pc++;
        break;
      case 2:
        r[2] = r[2]! << 1n;
        pc++;
        break;
      case 3:
        r[4] = r[4]! + 1n;
        pc++;
        break;
      case 4:
        if (r[4]! < n) pc = 0;
        else return r[3]!;
        break;
    }
  }
}

function int32Pairs(): bigint {
  const lo = Int32Array.of(0, 1, 3, 5, 0);
  const hi = new Int32Array(5);
  let pc = 0;
  for (;;) {
    switch (program[pc]) {
      case 0: {
        const a = lo[1]!;
        const sum = (a + lo[2]!) | 0;
        hi[1] = (hi[1]! + hi[2]! + ((sum >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
        lo[1] = sum;
        pc++;
        break;
      }
      case 1:
        lo[3]! ^= lo[1]!;
        hi[3]! ^= hi[1]!;
        pc++;
        break;
      case 2:
        hi[2] = (hi[2]! << 1) | (lo[2]! >>> 31);
        lo[2] = lo[2]! << 1;
        pc++;
        break;
      case 3: {
        const v = (lo[4]! + 1) | 0;
        if (v === 0) hi[4] = (hi[4]! + 1) | 0;
        lo[4] = v;
        pc++;
        break;
      }
      case 4:
        if (hi[4] === 0 && lo[4]! >>> 0 < ITERATIONS) pc = 0;
        else return (BigInt(hi[3]! >>> 0) << 32n) | BigInt(lo[3]! >>> 0);
        break;
    }
  }
}

export interface RepresentationResult {
  name: string;
  instructionsPerSecond: number;
}

export function measureRegisterRepresentations(): RepresentationResult[] {
  const candidates: Array<[string, () => bigint]> = [
    ["bigint[]", bigintArray],
    ["BigUint64Array", bigUint64Array],
    ["Int32Array lo/hi pairs", int32Pairs],
  ];
  const expected = int32Pairs();
  return candidates.map(([name, fn]) => {
    fn(); // warm up so the optimising compiler has run
    const start = process.hrtime.bigint();
    const result = fn();
    const ns = Number(process.hrtime.bigint() - start);
    if (result !== expected) throw new Error(`${name} computed ${result}, expected ${expected}`);
    return { name, instructionsPerSecond: (ITERATIONS * OPS_PER_ITERATION * 1e9) / ns };
  });
}
