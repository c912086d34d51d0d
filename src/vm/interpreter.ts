// The reference interpreter: RFC 9669 semantics, exactly, for every engine to agree with.
//
// Registers are pairs of 32-bit halves (see int64.ts for why). The program is pre-decoded into two typed
// arrays so the dispatch loop reads one packed word and one immediate per instruction and allocates
// nothing; bigint appears only at the API boundary, in helper calls and in the rare slow arithmetic paths.

import type { Insn } from "../isa/instruction.js";
import * as isa from "../isa/opcodes.js";
import { validateProgram, type ValidateOptions } from "../isa/validator.js";
import { AddressSpace, CODE_TAG, describeBadAccess, FIRST_REGION_TAG, type Region } from "./address-space.js";
import { VmError } from "./errors.js";
import { HelperRegistry, type HelperContext } from "./helpers.js";
import {
  arsh64,
  bswap16,
  bswap32,
  lsh64,
  mul64,
  rsh64,
  sdivmod64,
  setBigInt,
  sgt,
  toBigInt,
  udivmod64,
  ugt,
} from "./int64.js";

export interface InterpreterOptions {
  helpers?: HelperRegistry;
  /** Memory shared with other programs (maps of one object); by default the interpreter has its own. */
  memory?: AddressSpace;
  /** Instructions one run may execute before it is stopped (default 10 million). */
  budget?: number;
  /** Passed to the validator; helper ids are checked against `helpers` unless overridden. */
  validate?: ValidateOptions;
}

export const DEFAULT_BUDGET = 10_000_000;

const STACK_SIZE = isa.STACK_FRAME_SIZE * isa.MAX_CALL_DEPTH;
const TWO_32 = 4294967296;

// Offset inside the region returned by the last `resolve` call. A module variable rather than a returned
// pair so that the hot memory path allocates nothing.
let resolvedOffset = 0;

export class Interpreter {
  readonly memory: AddressSpace;
  readonly helpers: HelperRegistry;
  budget: number;
  /** Instructions executed by the last run (including a failed one). */
  instructionsExecuted = 0;

  private readonly words: Int32Array;
  private readonly imms: Int32Array;
  private readonly stack = new Uint8Array(STACK_SIZE);
  private readonly stackAddress: bigint;
  /** Frames of the current run (including nested runs started by helpers through callFunction). */
  private depth = 0;
  /** Slot of the call instruction while a helper runs. */
  private helperPc = 0;
  /** Instructions the current run may still execute; shared by nested executions. */
  private left = 0;
  private readonly helperContext: HelperContext;

  constructor(
    readonly program: readonly Insn[],
    options: InterpreterOptions = {},
  ) {
    this.helpers = options.helpers ?? new HelperRegistry();
    this.memory = options.memory ?? new AddressSpace();
    this.budget = options.budget ?? DEFAULT_BUDGET;
    const helpers = this.helpers;
    validateProgram(program, { isHelperKnown: (id) => helpers.has(id), ...options.validate });
    this.words = new Int32Array(program.length);
    this.imms = new Int32Array(program.length);
    program.forEach((ins, i) => {
      this.words[i] = (ins.code & 0xff) | ((ins.dst & 0xf) << 8) | ((ins.src & 0xf) << 12) | (ins.off << 16);
      this.imms[i] = ins.imm;
    });
    this.stackAddress = this.memory.add("the stack", this.stack);
    const self = this;
    this.helperContext = {
      memory: this.memory,
      callFunction: (address, args) => this.callFunction(address, args),
      get pc() {
        return self.helperPc;
      },
    };
  }

  /** Runs with r1 = address of `memory` (registered for this run) and r2 = its length, like ubpf. */
  run(memory?: Uint8Array): bigint {
    if (!memory) return this.runWithArgs([]);
    const address = this.memory.add("input memory", memory);
    try {
      return this.runWithArgs([address, BigInt(memory.length)]);
    } finally {
      this.memory.remove(address);
    }
  }

  /** Runs from instruction 0 with r1..r5 set from `args` (the rest zero); returns r0 unsigned. */
  runWithArgs(args: readonly bigint[]): bigint {
    this.depth = 0;
    this.left = this.budget;
    this.stack.fill(0);
    try {
      return this.execute(0, args);
    } finally {
      this.instructionsExecuted = this.budget - this.left;
    }
  }

  private callFunction(address: bigint, args: readonly bigint[]): bigint {
    const a = BigInt.asUintN(64, address);
    if (Number(a >> 32n) !== CODE_TAG || Number(a & 0xffffffffn) >= this.program.length) {
      throw new VmError(`0x${a.toString(16)} is not the address of a function in this program`);
    }
    return this.execute(Number(a & 0xffffffffn), args);
  }

  /**
   * The dispatch loop. `entry` is the first slot; frames nest inside this call for local calls, and helpers
   * may re-enter through callFunction, which continues on the same stack below the caller's frames.
   */
  private execute(entry: number, args: readonly bigint[]): bigint {
    const words = this.words;
    const imms = this.imms;
    const regions = this.memory.regions;
    const lo = new Int32Array(11);
    const hi = new Int32Array(11);
    for (let r = 0; r < 5 && r < args.length; r++) setBigInt(lo, hi, r + 1, args[r]!);
    if (this.depth >= isa.MAX_CALL_DEPTH) throw new VmError(`call depth exceeds ${isa.MAX_CALL_DEPTH} frames`);
    const baseDepth = this.depth;
    this.depth++;
    const stackTag = Number(this.stackAddress >> 32n);
    lo[10] = STACK_SIZE - baseDepth * isa.STACK_FRAME_SIZE;
    hi[10] = stackTag;
    // Saved r6..r9 (lo, hi) and r10, and the return slot, of each active local call.
    const savedRegs = new Int32Array(isa.MAX_CALL_DEPTH * 10);
    const returnPc = new Int32Array(isa.MAX_CALL_DEPTH);
    let frames = 0;
    let pc = entry;
    let left = this.left;
    const space = this.memory;

    try {

    for (;;) {
      const w = words[pc]!;
      const imm = imms[pc]!;
      pc++;
      if (--left < 0) {
        left = 0;
        throw new VmError(`the instruction budget of ${this.budget} is exhausted (endless loop?)`);
      }
      const d = (w >> 8) & 0xf;
      const s = (w >> 12) & 0xf;
      switch (w & 0xff) {
        // ---- ALU64, immediate (sign-extended) and register operands ----
        case 0x07: {
          const a = lo[d]!;
          const r = (a + imm) | 0;
          hi[d] = (hi[d]! + (imm >> 31) + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          lo[d] = r;
          break;
        }
        case 0x0f: {
          const a = lo[d]!;
          const r = (a + lo[s]!) | 0;
          hi[d] = (hi[d]! + hi[s]! + (r >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          lo[d] = r;
          break;
        }
        case 0x17: {
          const a = lo[d]!;
          hi[d] = (hi[d]! - (imm >> 31) - (a >>> 0 < imm >>> 0 ? 1 : 0)) | 0;
          lo[d] = (a - imm) | 0;
          break;
        }
        case 0x1f: {
          const a = lo[d]!;
          const b = lo[s]!;
          hi[d] = (hi[d]! - hi[s]! - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          lo[d] = (a - b) | 0;
          break;
        }
        case 0x27:
          mul64(lo, hi, d, imm, imm >> 31);
          break;
        case 0x2f:
          mul64(lo, hi, d, lo[s]!, hi[s]!);
          break;
        case 0x37:
          if (w >> 16 === 0) udivmod64(lo, hi, d, imm, imm >> 31, false);
          else sdivmod64(lo, hi, d, imm, imm >> 31, false);
          break;
        case 0x3f:
          if (w >> 16 === 0) udivmod64(lo, hi, d, lo[s]!, hi[s]!, false);
          else sdivmod64(lo, hi, d, lo[s]!, hi[s]!, false);
          break;
        case 0x47:
          lo[d] = lo[d]! | imm;
          hi[d] = hi[d]! | (imm >> 31);
          break;
        case 0x4f:
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = hi[d]! | hi[s]!;
          break;
        case 0x57:
          lo[d] = lo[d]! & imm;
          hi[d] = hi[d]! & (imm >> 31);
          break;
        case 0x5f:
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = hi[d]! & hi[s]!;
          break;
        case 0x67:
          lsh64(lo, hi, d, imm);
          break;
        case 0x6f:
          lsh64(lo, hi, d, lo[s]!);
          break;
        case 0x77:
          rsh64(lo, hi, d, imm);
          break;
        case 0x7f:
          rsh64(lo, hi, d, lo[s]!);
          break;
        case 0x87: {
          const a = lo[d]!;
          lo[d] = -a | 0;
          hi[d] = (~hi[d]! + (a === 0 ? 1 : 0)) | 0;
          break;
        }
        case 0x97:
          if (w >> 16 === 0) udivmod64(lo, hi, d, imm, imm >> 31, true);
          else sdivmod64(lo, hi, d, imm, imm >> 31, true);
          break;
        case 0x9f:
          if (w >> 16 === 0) udivmod64(lo, hi, d, lo[s]!, hi[s]!, true);
          else sdivmod64(lo, hi, d, lo[s]!, hi[s]!, true);
          break;
        case 0xa7:
          lo[d] = lo[d]! ^ imm;
          hi[d] = hi[d]! ^ (imm >> 31);
          break;
        case 0xaf:
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = hi[d]! ^ hi[s]!;
          break;
        case 0xb7:
          lo[d] = imm;
          hi[d] = imm >> 31;
          break;
        case 0xbf:
          switch (w >> 16) {
            case 0:
              lo[d] = lo[s]!;
              hi[d] = hi[s]!;
              break;
            case 8:
              lo[d] = (lo[s]! << 24) >> 24;
              hi[d] = lo[d]! >> 31;
              break;
            case 16:
              lo[d] = (lo[s]! << 16) >> 16;
              hi[d] = lo[d]! >> 31;
              break;
            default:
              lo[d] = lo[s]!;
              hi[d] = lo[s]! >> 31;
          }
          break;
        case 0xc7:
          arsh64(lo, hi, d, imm);
          break;
        case 0xcf:
          arsh64(lo, hi, d, lo[s]!);
          break;
        case 0xd7: // bswap16/32/64 (ALU64 END): unconditional byte swap
        case 0xdc: // be16/32/64 on a little-endian machine
          if (imm === 16) {
            lo[d] = bswap16(lo[d]!);
            hi[d] = 0;
          } else if (imm === 32) {
            lo[d] = bswap32(lo[d]!);
            hi[d] = 0;
          } else {
            const l = lo[d]!;
            lo[d] = bswap32(hi[d]!);
            hi[d] = bswap32(l);
          }
          break;
        case 0xd4: // le16/32/64 on a little-endian machine: truncation only
          if (imm === 16) {
            lo[d] = lo[d]! & 0xffff;
            hi[d] = 0;
          } else if (imm === 32) {
            hi[d] = 0;
          }
          break;

        // ---- ALU32: the result is zero-extended into the upper half ----
        case 0x04:
          lo[d] = (lo[d]! + imm) | 0;
          hi[d] = 0;
          break;
        case 0x0c:
          lo[d] = (lo[d]! + lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 0x14:
          lo[d] = (lo[d]! - imm) | 0;
          hi[d] = 0;
          break;
        case 0x1c:
          lo[d] = (lo[d]! - lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 0x24:
          lo[d] = Math.imul(lo[d]!, imm);
          hi[d] = 0;
          break;
        case 0x2c:
          lo[d] = Math.imul(lo[d]!, lo[s]!);
          hi[d] = 0;
          break;
        case 0x34:
          lo[d] = div32(lo[d]!, imm, w >> 16);
          hi[d] = 0;
          break;
        case 0x3c:
          lo[d] = div32(lo[d]!, lo[s]!, w >> 16);
          hi[d] = 0;
          break;
        case 0x44:
          lo[d] = lo[d]! | imm;
          hi[d] = 0;
          break;
        case 0x4c:
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = 0;
          break;
        case 0x54:
          lo[d] = lo[d]! & imm;
          hi[d] = 0;
          break;
        case 0x5c:
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = 0;
          break;
        case 0x64:
          lo[d] = lo[d]! << imm; // JS masks the count with 31, as eBPF does for ALU32
          hi[d] = 0;
          break;
        case 0x6c:
          lo[d] = lo[d]! << lo[s]!;
          hi[d] = 0;
          break;
        case 0x74:
          lo[d] = lo[d]! >>> imm;
          hi[d] = 0;
          break;
        case 0x7c:
          lo[d] = lo[d]! >>> lo[s]!;
          hi[d] = 0;
          break;
        case 0x84:
          lo[d] = -lo[d]! | 0;
          hi[d] = 0;
          break;
        case 0x94:
          lo[d] = mod32(lo[d]!, imm, w >> 16);
          hi[d] = 0;
          break;
        case 0x9c:
          lo[d] = mod32(lo[d]!, lo[s]!, w >> 16);
          hi[d] = 0;
          break;
        case 0xa4:
          lo[d] = lo[d]! ^ imm;
          hi[d] = 0;
          break;
        case 0xac:
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = 0;
          break;
        case 0xb4:
          lo[d] = imm;
          hi[d] = 0;
          break;
        case 0xbc:
          switch (w >> 16) {
            case 8:
              lo[d] = (lo[s]! << 24) >> 24;
              break;
            case 16:
              lo[d] = (lo[s]! << 16) >> 16;
              break;
            default:
              lo[d] = lo[s]!;
          }
          hi[d] = 0;
          break;
        case 0xc4:
          lo[d] = lo[d]! >> imm;
          hi[d] = 0;
          break;
        case 0xcc:
          lo[d] = lo[d]! >> lo[s]!;
          hi[d] = 0;
          break;

        // ---- 64-bit constant ----
        case 0x18:
          lo[d] = imm;
          hi[d] = imms[pc]!;
          pc++;
          break;

        // ---- loads ----
        case 0x61: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 4, false);
          lo[d] = v.getInt32(resolvedOffset, true);
          hi[d] = 0;
          break;
        }
        case 0x69: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 2, false);
          lo[d] = v.getUint16(resolvedOffset, true);
          hi[d] = 0;
          break;
        }
        case 0x71: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 1, false);
          lo[d] = v.getUint8(resolvedOffset);
          hi[d] = 0;
          break;
        }
        case 0x79: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 8, false);
          lo[d] = v.getInt32(resolvedOffset, true);
          hi[d] = v.getInt32(resolvedOffset + 4, true);
          break;
        }
        case 0x81: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 4, false);
          lo[d] = v.getInt32(resolvedOffset, true);
          hi[d] = lo[d]! >> 31;
          break;
        }
        case 0x89: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 2, false);
          lo[d] = v.getInt16(resolvedOffset, true);
          hi[d] = lo[d]! >> 31;
          break;
        }
        case 0x91: {
          const v = resolve(space, lo[s]!, hi[s]!, w >> 16, 1, false);
          lo[d] = v.getInt8(resolvedOffset);
          hi[d] = lo[d]! >> 31;
          break;
        }

        // ---- stores of an immediate ----
        case 0x62:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 4, true).setInt32(resolvedOffset, imm, true);
          break;
        case 0x6a:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 2, true).setInt16(resolvedOffset, imm, true);
          break;
        case 0x72:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 1, true).setInt8(resolvedOffset, imm);
          break;
        case 0x7a: {
          const v = resolve(space, lo[d]!, hi[d]!, w >> 16, 8, true);
          v.setInt32(resolvedOffset, imm, true);
          v.setInt32(resolvedOffset + 4, imm >> 31, true);
          break;
        }

        // ---- stores of a register ----
        case 0x63:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 4, true).setInt32(resolvedOffset, lo[s]!, true);
          break;
        case 0x6b:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 2, true).setInt16(resolvedOffset, lo[s]!, true);
          break;
        case 0x73:
          resolve(space, lo[d]!, hi[d]!, w >> 16, 1, true).setInt8(resolvedOffset, lo[s]!);
          break;
        case 0x7b: {
          const v = resolve(space, lo[d]!, hi[d]!, w >> 16, 8, true);
          v.setInt32(resolvedOffset, lo[s]!, true);
          v.setInt32(resolvedOffset + 4, hi[s]!, true);
          break;
        }

        // ---- atomics (one thread runs the interpreter, so read-modify-write is atomic) ----
        case 0xc3: {
          const v = resolve(space, lo[d]!, hi[d]!, w >> 16, 4, true);
          const at = resolvedOffset;
          const old = v.getInt32(at, true);
          atomic32(v, at, old, imm, lo, hi, s);
          break;
        }
        case 0xdb: {
          const v = resolve(space, lo[d]!, hi[d]!, w >> 16, 8, true);
          atomic64(v, resolvedOffset, imm, lo, hi, s);
          break;
        }

        // ---- 64-bit jumps (immediates are sign-extended to 64 bits) ----
        case 0x05:
          pc += w >> 16;
          break;
        case 0x15:
          if (lo[d] === imm && hi[d] === imm >> 31) pc += w >> 16;
          break;
        case 0x1d:
          if (lo[d] === lo[s] && hi[d] === hi[s]) pc += w >> 16;
          break;
        case 0x25:
          if (ugt(lo[d]!, hi[d]!, imm, imm >> 31)) pc += w >> 16;
          break;
        case 0x2d:
          if (ugt(lo[d]!, hi[d]!, lo[s]!, hi[s]!)) pc += w >> 16;
          break;
        case 0x35:
          if (!ugt(imm, imm >> 31, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0x3d:
          if (!ugt(lo[s]!, hi[s]!, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0x45:
          if ((lo[d]! & imm) !== 0 || (hi[d]! & (imm >> 31)) !== 0) pc += w >> 16;
          break;
        case 0x4d:
          if ((lo[d]! & lo[s]!) !== 0 || (hi[d]! & hi[s]!) !== 0) pc += w >> 16;
          break;
        case 0x55:
          if (lo[d] !== imm || hi[d] !== imm >> 31) pc += w >> 16;
          break;
        case 0x5d:
          if (lo[d] !== lo[s] || hi[d] !== hi[s]) pc += w >> 16;
          break;
        case 0x65:
          if (sgt(lo[d]!, hi[d]!, imm, imm >> 31)) pc += w >> 16;
          break;
        case 0x6d:
          if (sgt(lo[d]!, hi[d]!, lo[s]!, hi[s]!)) pc += w >> 16;
          break;
        case 0x75:
          if (!sgt(imm, imm >> 31, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0x7d:
          if (!sgt(lo[s]!, hi[s]!, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0xa5:
          if (ugt(imm, imm >> 31, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0xad:
          if (ugt(lo[s]!, hi[s]!, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0xb5:
          if (!ugt(lo[d]!, hi[d]!, imm, imm >> 31)) pc += w >> 16;
          break;
        case 0xbd:
          if (!ugt(lo[d]!, hi[d]!, lo[s]!, hi[s]!)) pc += w >> 16;
          break;
        case 0xc5:
          if (sgt(imm, imm >> 31, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0xcd:
          if (sgt(lo[s]!, hi[s]!, lo[d]!, hi[d]!)) pc += w >> 16;
          break;
        case 0xd5:
          if (!sgt(lo[d]!, hi[d]!, imm, imm >> 31)) pc += w >> 16;
          break;
        case 0xdd:
          if (!sgt(lo[d]!, hi[d]!, lo[s]!, hi[s]!)) pc += w >> 16;
          break;

        // ---- 32-bit jumps: only the low halves are compared ----
        case 0x06:
          pc += imm;
          break;
        case 0x16:
          if (lo[d] === imm) pc += w >> 16;
          break;
        case 0x1e:
          if (lo[d] === lo[s]) pc += w >> 16;
          break;
        case 0x26:
          if (lo[d]! >>> 0 > imm >>> 0) pc += w >> 16;
          break;
        case 0x2e:
          if (lo[d]! >>> 0 > lo[s]! >>> 0) pc += w >> 16;
          break;
        case 0x36:
          if (lo[d]! >>> 0 >= imm >>> 0) pc += w >> 16;
          break;
        case 0x3e:
          if (lo[d]! >>> 0 >= lo[s]! >>> 0) pc += w >> 16;
          break;
        case 0x46:
          if ((lo[d]! & imm) !== 0) pc += w >> 16;
          break;
        case 0x4e:
          if ((lo[d]! & lo[s]!) !== 0) pc += w >> 16;
          break;
        case 0x56:
          if (lo[d] !== imm) pc += w >> 16;
          break;
        case 0x5e:
          if (lo[d] !== lo[s]) pc += w >> 16;
          break;
        case 0x66:
          if (lo[d]! > imm) pc += w >> 16;
          break;
        case 0x6e:
          if (lo[d]! > lo[s]!) pc += w >> 16;
          break;
        case 0x76:
          if (lo[d]! >= imm) pc += w >> 16;
          break;
        case 0x7e:
          if (lo[d]! >= lo[s]!) pc += w >> 16;
          break;
        case 0xa6:
          if (lo[d]! >>> 0 < imm >>> 0) pc += w >> 16;
          break;
        case 0xae:
          if (lo[d]! >>> 0 < lo[s]! >>> 0) pc += w >> 16;
          break;
        case 0xb6:
          if (lo[d]! >>> 0 <= imm >>> 0) pc += w >> 16;
          break;
        case 0xbe:
          if (lo[d]! >>> 0 <= lo[s]! >>> 0) pc += w >> 16;
          break;
        case 0xc6:
          if (lo[d]! < imm) pc += w >> 16;
          break;
        case 0xce:
          if (lo[d]! < lo[s]!) pc += w >> 16;
          break;
        case 0xd6:
          if (lo[d]! <= imm) pc += w >> 16;
          break;
        case 0xde:
          if (lo[d]! <= lo[s]!) pc += w >> 16;
          break;

        // ---- calls and exit ----
        case 0x85:
        case 0x8d: {
          let target: number;
          if ((w & 0xff) === 0x85) {
            if (s !== isa.BPF_PSEUDO_CALL) {
              this.left = left;
              this.depth = baseDepth + frames + 1;
              this.callHelper(imm, lo, hi, pc - 1);
              left = this.left;
              break;
            }
            target = pc + imm;
          } else {
            // callx: a code address (lddw src=4) calls that function; a small number calls that helper id.
            target = lo[d]! >>> 0;
            if (hi[d] === 0) {
              this.left = left;
              this.depth = baseDepth + frames + 1;
              this.callHelper(target, lo, hi, pc - 1);
              left = this.left;
              break;
            }
            if (hi[d] !== CODE_TAG || target >= words.length) {
              throw new VmError(`callx to 0x${toBigInt(lo[d]!, hi[d]!).toString(16)}, which is neither a function nor a helper id`);
            }
          }
          if (baseDepth + frames + 1 >= isa.MAX_CALL_DEPTH) throw new VmError(`call depth exceeds ${isa.MAX_CALL_DEPTH} frames`);
          saveFrame(savedRegs, frames, lo, hi);
          returnPc[frames] = pc;
          frames++;
          lo[10] = lo[10]! - isa.STACK_FRAME_SIZE;
          pc = target;
          break;
        }
        case 0x95:
          if (frames === 0) {
            this.depth = baseDepth;
            this.left = left;
            return toBigInt(lo[0]!, hi[0]!);
          }
          frames--;
          {
            const at = frames * 10;
            for (let r = 6; r <= 9; r++) {
              lo[r] = savedRegs[at + (r - 6) * 2]!;
              hi[r] = savedRegs[at + (r - 6) * 2 + 1]!;
            }
            lo[10] = savedRegs[at + 8]!;
            hi[10] = stackTag;
            pc = returnPc[frames]!;
          }
          break;
        default:
          throw new VmError(`unknown opcode 0x${(w & 0xff).toString(16).padStart(2, "0")}`);
      }
    }
    } catch (error) {
      this.depth = baseDepth;
      this.left = left;
      throw VmError.at(pc - 1, error);
    }
  }

  /** Calls helper `id` with r1..r5 and puts its result in r0; the helper's own callbacks spend `this.left`. */
  private callHelper(id: number, lo: Int32Array, hi: Int32Array, pc: number): void {
    this.helperPc = pc;
    const helper = this.helpers.get(id);
    if (!helper) throw new VmError(`call to unknown helper ${id}`);
    const result = helper.fn(
      toBigInt(lo[1]!, hi[1]!),
      toBigInt(lo[2]!, hi[2]!),
      toBigInt(lo[3]!, hi[3]!),
      toBigInt(lo[4]!, hi[4]!),
      toBigInt(lo[5]!, hi[5]!),
      this.helperContext,
    );
    setBigInt(lo, hi, 0, typeof result === "number" ? BigInt(result) : result);
  }
}

function saveFrame(saved: Int32Array, frame: number, lo: Int32Array, hi: Int32Array): void {
  const at = frame * 10;
  for (let r = 6; r <= 9; r++) {
    saved[at + (r - 6) * 2] = lo[r]!;
    saved[at + (r - 6) * 2 + 1] = hi[r]!;
  }
  saved[at + 8] = lo[10]!;
}

/**
 * The DataView of the region holding [base + off, base + off + size), with the offset inside it left in
 * `resolvedOffset`; throws a VmError describing the access when no region holds all of it.
 */
function resolve(space: AddressSpace, baseLo: number, baseHi: number, off: number, size: number, write: boolean): DataView {
  let offset = (baseLo >>> 0) + off;
  let tag = baseHi;
  if (offset < 0) {
    offset += TWO_32;
    tag = (tag - 1) | 0;
  } else if (offset >= TWO_32) {
    offset -= TWO_32;
    tag = (tag + 1) | 0;
  }
  const region: Region | undefined = space.regions[tag - FIRST_REGION_TAG];
  if (region === undefined || offset + size > region.bytes.length || (write && !region.writable)) {
    throw new VmError(describeBadAccess(space, tag, offset, size, write));
  }
  resolvedOffset = offset;
  return region.view;
}

/** 32-bit unsigned (off 0) or signed (off 1) division; by zero gives 0. */
function div32(a: number, b: number, signed: number): number {
  if (b === 0) return 0;
  if (signed === 0) return ((a >>> 0) / (b >>> 0)) >>> 0;
  return Math.trunc(a / b) | 0; // INT32_MIN / -1 = 2^31, which `| 0` wraps back to INT32_MIN
}

/** 32-bit unsigned or signed remainder; by zero leaves the dividend. */
function mod32(a: number, b: number, signed: number): number {
  if (b === 0) return a;
  if (signed === 0) return ((a >>> 0) % (b >>> 0)) | 0;
  return a % b | 0;
}

function atomic32(v: DataView, at: number, old: number, op: number, lo: Int32Array, hi: Int32Array, s: number): void {
  const operand = lo[s]!;
  switch (op & ~isa.BPF_FETCH) {
    case isa.BPF_ADD:
      v.setInt32(at, (old + operand) | 0, true);
      break;
    case isa.BPF_OR:
      v.setInt32(at, old | operand, true);
      break;
    case isa.BPF_AND:
      v.setInt32(at, old & operand, true);
      break;
    case isa.BPF_XOR:
      v.setInt32(at, old ^ operand, true);
      break;
    case isa.BPF_XCHG & ~isa.BPF_FETCH:
      v.setInt32(at, operand, true);
      break;
    case isa.BPF_CMPXCHG & ~isa.BPF_FETCH:
      if (old === lo[0]) v.setInt32(at, operand, true);
      lo[0] = old;
      hi[0] = 0;
      return;
  }
  if (op & isa.BPF_FETCH) {
    lo[s] = old;
    hi[s] = 0;
  }
}

function atomic64(v: DataView, at: number, op: number, lo: Int32Array, hi: Int32Array, s: number): void {
  const oldLo = v.getInt32(at, true);
  const oldHi = v.getInt32(at + 4, true);
  const bl = lo[s]!;
  const bh = hi[s]!;
  let nl: number;
  let nh: number;
  switch (op & ~isa.BPF_FETCH) {
    case isa.BPF_ADD:
      nl = (oldLo + bl) | 0;
      nh = (oldHi + bh + (nl >>> 0 < oldLo >>> 0 ? 1 : 0)) | 0;
      break;
    case isa.BPF_OR:
      nl = oldLo | bl;
      nh = oldHi | bh;
      break;
    case isa.BPF_AND:
      nl = oldLo & bl;
      nh = oldHi & bh;
      break;
    case isa.BPF_XOR:
      nl = oldLo ^ bl;
      nh = oldHi ^ bh;
      break;
    case isa.BPF_XCHG & ~isa.BPF_FETCH:
      nl = bl;
      nh = bh;
      break;
    default: // cmpxchg
      if (oldLo === lo[0] && oldHi === hi[0]) {
        v.setInt32(at, bl, true);
        v.setInt32(at + 4, bh, true);
      }
      lo[0] = oldLo;
      hi[0] = oldHi;
      return;
  }
  v.setInt32(at, nl, true);
  v.setInt32(at + 4, nh, true);
  if (op & isa.BPF_FETCH) {
    lo[s] = oldLo;
    hi[s] = oldHi;
  }
}

/** Validates and runs `program` once with ubpf's calling convention (r1 = memory, r2 = its length). */
export function runProgram(program: readonly Insn[], memory?: Uint8Array, options: InterpreterOptions = {}): bigint {
  return new Interpreter(program, options).run(memory);
}
