// eBPF -> x86-64: validates the program's shape, then emits the wrapper, every slot and the helper table
// in passes until jump sizes settle (see emitter.ts). The result is position-independent: code refers to
// itself RIP-relatively and to the outside world only through the helper table's absolute addresses.

import type { Insn } from "../../../isa/instruction.js";
import * as op from "../../../isa/opcodes.js";
import { emitAlu } from "./alu.js";
import { emitCall, emitExit, HELPER_TAIL_CALL } from "./calls.js";
import { analyseProgram } from "./call-graph.js";
import { Emitter } from "./emitter.js";
import { JitCompileError } from "./errors.js";
import { emitJump } from "./jumps.js";
import { emitAtomic, emitLoad, emitStore } from "./memory.js";
import { emitWrapper } from "./prologue.js";
import { BPF_TO_X64 } from "./register-map.js";
import { endbr64 } from "../assembler/control.js";
import { lea, loadConstant } from "../assembler/moves.js";
import { NO_INDEX, RIP } from "../assembler/registers.js";

export interface CompileOptions {
  /** Native addresses of helpers by id; a `call` to an id without one is a compile error. */
  helpers?: ReadonlyMap<number, bigint>;
  /**
   * Checked mode: bounds-check every load and store against the eBPF stack and the input memory
   * (r1, r2 on entry), charge back edges against a budget, and report faults in the status block at
   * this address (see register-map.ts) instead of touching memory it should not.
   */
  statusAddress?: bigint;
  /**
   * Inline bpf_tail_call (helper 12, when `helpers` has no function for it) as a jump through the
   * prog-array table in r2 (see calls.ts). Not with statusAddress: checked code cannot vouch for r2.
   */
  tailCalls?: boolean;
}

export interface CompiledCode {
  /** Machine code followed by the helper table; position-independent. */
  code: Uint8Array;
  /** `uint64_t prog(void *ctx_or_mem, uint64_t len)` starts here. */
  entryOffset: number;
  /** Where tail calls from other programs jump to (with rsp at their frame base, see prologue.ts). */
  tailCallEntryOffset: number;
  /** Code offset of each slot (-1 for second lddw slots), e.g. for function addresses. */
  slotOffsets: Int32Array;
  helperTableOffset: number;
  helperTableLength: number;
  /** A `return 0` stub; relocateHelperTable points empty helper-table entries at it. */
  missingHelperStubOffset: number;
  /** Passes the jump sizing took. */
  passes: number;
}

const MAX_PASSES = 50;

export function compileProgram(program: readonly Insn[], options: CompileOptions = {}): CompiledCode {
  const helpers = options.helpers ?? new Map<number, bigint>();
  const tailCalls = options.tailCalls === true && !helpers.has(HELPER_TAIL_CALL);
  if (tailCalls && options.statusAddress !== undefined) throw new JitCompileError("checked code cannot inline tail calls (the prog array in r2 is unchecked)");
  const shape = analyseProgram(program);
  const e = new Emitter(program, shape, { helpers, statusAddress: options.statusAddress, tailCalls });
  e.helperTableLength = helperTableLength(program, helpers, tailCalls);
  let previousLength = -1;
  let tailEntry = 0;
  for (;;) {
    e.startPass();
    // Helper calls in this pass address the table where the previous pass (or relax) put it, so the code
    // is final only when the table lands there again.
    const tableUsed = e.helperTable;
    const wrapper = emitWrapper(e);
    tailEntry = wrapper.tailEntry;
    e.buf.patchU32(wrapper.bodyCallAt, e.buf.length - (wrapper.bodyCallAt + 4));
    emitBody(e);
    // Compared before the padding, which could hide a change in size.
    const bodyEnd = e.buf.length;
    while (e.buf.length % 8 !== 0) e.buf.byte(0xcc);
    const table = e.buf.length;
    if (bodyEnd === previousLength && e.pass > 1 && table === tableUsed) break;
    if (e.pass >= MAX_PASSES) throw new JitCompileError(`jump sizes did not settle after ${MAX_PASSES} passes`);
    previousLength = e.pass === 1 ? e.relax(bodyEnd) : bodyEnd;
    e.helperTable = e.pass === 1 ? Math.ceil(previousLength / 8) * 8 : table;
  }
  writeHelperTable(e, helpers);
  const slotOffsets = e.offsets.slice();
  shape.secondSlot.forEach((second, i) => {
    if (second) slotOffsets[i] = -1;
  });
  return {
    code: e.buf.toBytes(),
    entryOffset: 0,
    tailCallEntryOffset: tailEntry,
    slotOffsets,
    helperTableOffset: e.helperTable,
    helperTableLength: e.helperTableLength,
    missingHelperStubOffset: e.missingHelperStub,
    passes: e.pass,
  };
}

/** Room for every helper id called directly or registered (callx may name any registered one). */
function helperTableLength(program: readonly Insn[], helpers: ReadonlyMap<number, bigint>, tailCalls: boolean): number {
  let highest = -1;
  for (const id of helpers.keys()) highest = Math.max(highest, id);
  for (let i = 0; i < program.length; i++) {
    const ins = program[i]!;
    if (ins.code === op.OP_CALL && ins.src === op.BPF_PSEUDO_CALL_HELPER) {
      if (!helpers.has(ins.imm) && !(tailCalls && ins.imm === HELPER_TAIL_CALL)) throw new JitCompileError(`call to unknown helper ${ins.imm}`, i);
      highest = Math.max(highest, ins.imm);
    } else if (ins.code === op.OP_LDDW) {
      i++;
    }
  }
  return highest + 1;
}

function writeHelperTable(e: Emitter, helpers: ReadonlyMap<number, bigint>): void {
  const buf = e.buf;
  for (let id = 0; id < e.helperTableLength; id++) {
    const address = helpers.get(id);
    if (address === undefined) {
      // Position-independent code cannot hold its own absolute address yet: the loader relocates these
      // entries (see relocateHelperTable) when it knows where the code lives.
      buf.u64(0, 0);
    } else {
      buf.u64(Number(BigInt.asIntN(32, address)), Number(BigInt.asIntN(32, address >> 32n)));
    }
  }
}

/** Fills the empty helper-table entries of code placed at `base` (bytes in `view`) with its return-0 stub. */
export function relocateHelperTable(compiled: CompiledCode, view: DataView, base: bigint): void {
  for (let id = 0; id < compiled.helperTableLength; id++) {
    const at = compiled.helperTableOffset + 8 * id;
    if (view.getBigUint64(at, true) === 0n) view.setBigUint64(at, base + BigInt(compiled.missingHelperStubOffset), true);
  }
}

function emitBody(e: Emitter): void {
  const program = e.program;
  const buf = e.buf;
  const addressTaken = e.shape.addressTaken;
  let nextTaken = 0;
  for (let pc = 0; pc < program.length; pc++) {
    e.offsets[pc] = buf.length;
    if (addressTaken[nextTaken] === pc) {
      endbr64(buf); // a callx target
      nextTaken++;
    }
    const ins = program[pc]!;
    switch (op.insnClass(ins.code)) {
      case op.BPF_ALU:
      case op.BPF_ALU64:
        emitAlu(e, ins);
        break;
      case op.BPF_LDX:
        emitLoad(e, ins, pc);
        break;
      case op.BPF_ST:
        emitStore(e, ins, pc);
        break;
      case op.BPF_STX:
        if (op.memMode(ins.code) === op.BPF_ATOMIC) emitAtomic(e, ins, pc);
        else emitStore(e, ins, pc);
        break;
      case op.BPF_JMP:
      case op.BPF_JMP32:
        if (ins.code === op.OP_CALL || ins.code === op.OP_CALLX) emitCall(e, ins, pc);
        else if (ins.code === op.OP_EXIT) emitExit(e);
        else emitJump(e, ins, pc);
        break;
      case op.BPF_LD:
        if (ins.code !== op.OP_LDDW) throw new JitCompileError(`unsupported instruction 0x${ins.code.toString(16)}`, pc);
        emitLddw(e, ins, program[pc + 1]!, pc);
        pc++;
        e.offsets[pc] = buf.length;
        break;
      default:
        throw new JitCompileError(`unsupported instruction 0x${ins.code.toString(16)}`, pc);
    }
  }
}

function emitLddw(e: Emitter, ins: Insn, second: Insn, pc: number): void {
  const dst = BPF_TO_X64[ins.dst]!;
  if (ins.src === op.BPF_PSEUDO_IMM64) {
    loadConstant(e.buf, dst, ins.imm, second.imm);
  } else if (ins.src === op.BPF_PSEUDO_FUNC) {
    const m = e.m;
    m.base = RIP;
    m.index = NO_INDEX;
    m.disp = e.slotOffset(pc + 1 + ins.imm, pc);
    lea(e.buf, 64, dst, m);
  } else {
    throw new JitCompileError(`lddw with pseudo source ${ins.src} needs a loader to resolve it to a constant`, pc);
  }
}
