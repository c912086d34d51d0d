// Small pieces of generated code that live next to compiled programs: a helper that returns a constant
// (the conformance suite's helper 5), and the driver loop that calls a program n times natively so a
// benchmark measures the program, not the FFI call.

import { CodeBuffer } from "./x64/assembler/code-buffer.js";
import { AluOp, aluRI, testRR } from "./x64/assembler/arithmetic.js";
import { Cond } from "./x64/assembler/conditions.js";
import { callR, endbr64, pop, push, ret } from "./x64/assembler/control.js";
import { bind, jccLabel, Label } from "./x64/assembler/labels.js";
import { loadConstant, movabs, movRR } from "./x64/assembler/moves.js";
import { R12, R13, R14, RBX, RDI, RDX, RSI, RSP } from "./x64/assembler/registers.js";
import { loadCode, type NativeRegion } from "./executable-memory.js";

const halves = (value: bigint): [number, number] => [Number(BigInt.asIntN(32, value)), Number(BigInt.asIntN(32, value >> 32n))];

/** Native code for `uint64_t f(...) { return value; }`. Free the region when done. */
export function constantFunction(value: bigint): NativeRegion {
  const buf = new CodeBuffer(16);
  const [lo, hi] = halves(value);
  endbr64(buf);
  loadConstant(buf, 0, lo, hi);
  ret(buf);
  return loadCode(buf.toBytes());
}

/**
 * Native code for `uint64_t loop(void *ctx, uint64_t len, uint64_t n)`: calls the program at `entry`
 * with (ctx, len) n times and returns the last result (0 when n is 0).
 */
export function driverLoop(entry: bigint): NativeRegion {
  const buf = new CodeBuffer(64);
  const saved = [RBX, R12, R13, R14];
  endbr64(buf);
  for (const reg of saved) push(buf, reg);
  aluRI(buf, AluOp.Sub, 64, RSP, 8); // four pushes leave rsp 8 off the 16-byte alignment calls need
  movRR(buf, 64, RBX, RDI);
  movRR(buf, 64, R12, RSI);
  movRR(buf, 64, R13, RDX);
  const [lo, hi] = halves(entry);
  movabs(buf, R14, lo, hi);
  loadConstant(buf, 0, 0, 0);
  testRR(buf, 64, R13, R13);
  const done = new Label();
  jccLabel(buf, Cond.E, done, true);
  const top = new Label();
  bind(buf, top);
  movRR(buf, 64, RDI, RBX);
  movRR(buf, 64, RSI, R12);
  callR(buf, R14);
  aluRI(buf, AluOp.Sub, 64, R13, 1);
  jccLabel(buf, Cond.NE, top);
  bind(buf, done);
  aluRI(buf, AluOp.Add, 64, RSP, 8);
  for (let i = saved.length - 1; i >= 0; i--) pop(buf, saved[i]!);
  ret(buf);
  return loadCode(buf.toBytes());
}

/** Helper ids the JIT engine of `vm exec` provides until native helpers exist: the conformance suite's 5. */
export const STAND_IN_HELPER_IDS: readonly number[] = [5];

let standIns: Map<number, bigint> | undefined;

/**
 * Native stand-ins for the helpers in STAND_IN_HELPER_IDS, each returning 0, made once per process and
 * never freed (code that was compiled against them may still call them).
 */
export function standInHelpers(): ReadonlyMap<number, bigint> {
  standIns ??= new Map(STAND_IN_HELPER_IDS.map((id) => [id, constantFunction(0n).address]));
  return standIns;
}
