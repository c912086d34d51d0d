// A compiled eBPF program in executable memory, callable from JS through koffi as
// `uint64_t prog(void *ctx_or_mem, uint64_t len)`.
//
// Unchecked programs (the default) access memory without bounds checks, exactly like the kernel's JIT:
// only a program a verifier has proven safe may run that way. Checked programs (`checked: true`) are safe
// for any program that passes the validator: every load and store outside the eBPF stack and the input
// memory, every endless loop (by an approximate budget counted at back edges) and every callx to a bad
// target stops the run with a VmError, the way the interpreter reports it.

import type { Insn } from "../isa/instruction.js";
import { validateProgram, type ValidateOptions } from "../isa/validator.js";
import { VmError } from "../vm/errors.js";
import { DEFAULT_BUDGET } from "../vm/interpreter.js";
import { driverLoop } from "./native-stubs.js";
import { loadCode, nativeFunction, NativeRegion } from "./executable-memory.js";
import { HELPER_TAIL_CALL } from "./x64/compiler/calls.js";
import { compileProgram, relocateHelperTable, type CompiledCode } from "./x64/compiler/compile.js";
import { FaultKind, STATUS_ADDRESS, STATUS_BUDGET, STATUS_KIND, STATUS_PC, STATUS_SIZE } from "./x64/compiler/register-map.js";

export interface JitOptions {
  /** Native helper functions by helper id (System V: r1..r5 are the arguments, r0 the result). */
  helpers?: ReadonlyMap<number, bigint>;
  /** Bounds-check memory and stop endless loops (see above); for programs no verifier has checked. */
  checked?: boolean;
  /** Checked mode: instructions one run may execute, approximately (default: the interpreter's). */
  budget?: number;
  /**
   * Inline bpf_tail_call (helper 12) as a jump through the prog-array table passed in r2 (see
   * ProgArrayTable); not in checked mode.
   */
  tailCalls?: boolean;
  /**
   * Passed to the validator (helper ids are checked against `helpers`); false skips validation for a
   * program its caller has already checked (or that uses may_goto, which the shared validator lacks).
   */
  validate?: ValidateOptions | false;
}

export class JitProgram {
  /** Address of `uint64_t prog(void *ctx_or_mem, uint64_t len)`. */
  readonly entryAddress: bigint;
  /** Where another program's tail call jumps in (the value to put in a prog-array table). */
  readonly tailCallEntryAddress: bigint;
  readonly codeSize: number;
  /** Passes the compiler's jump sizing took. */
  readonly passes: number;
  readonly checked: boolean;

  private readonly code: NativeRegion;
  private readonly status: NativeRegion | undefined;
  private readonly call: (ctx: bigint, len: bigint) => bigint;
  private input: NativeRegion | undefined;
  private loop: { region: NativeRegion; call: (ctx: bigint, len: bigint, n: bigint) => bigint } | undefined;

  private constructor(compiled: CompiledCode, code: NativeRegion, status: NativeRegion | undefined) {
    this.code = code;
    this.status = status;
    this.entryAddress = code.address + BigInt(compiled.entryOffset);
    this.tailCallEntryAddress = code.address + BigInt(compiled.tailCallEntryOffset);
    this.codeSize = compiled.code.length;
    this.passes = compiled.passes;
    this.checked = status !== undefined;
    this.call = nativeFunction(this.entryAddress, 2);
  }

  /** Validates, compiles and loads `program`. */
  static compile(program: readonly Insn[], options: JitOptions = {}): JitProgram {
    const helpers = options.helpers ?? new Map<number, bigint>();
    if (options.validate !== false) {
      const isHelperKnown = (id: number): boolean => helpers.has(id) || (options.tailCalls === true && id === HELPER_TAIL_CALL);
      validateProgram(program, { isHelperKnown, ...options.validate });
    }
    const status = options.checked ? NativeRegion.allocate(STATUS_SIZE) : undefined;
    try {
      if (status) {
        const view = statusView(status);
        view.setBigUint64(STATUS_BUDGET, BigInt(options.budget ?? DEFAULT_BUDGET), true);
      }
      const tailCalls = options.tailCalls ?? false;
      const compiled = compileProgram(program, status ? { helpers, tailCalls, statusAddress: status.address } : { helpers, tailCalls });
      const code = loadCode(compiled.code, (view, base) => relocateHelperTable(compiled, view, base));
      return new JitProgram(compiled, code, status);
    } catch (error) {
      status?.free();
      throw error;
    }
  }

  /**
   * Runs with r1 = a native copy of `memory` and r2 = its length (r1 = r2 = 0 without memory), copies
   * the bytes back into `memory` afterwards (the program may write them), and returns r0.
   */
  run(memory?: Uint8Array): bigint {
    if (!memory) return this.runWithArgs(0n, 0n);
    const native = this.inputRegion(memory.length);
    const bytes = native.bytes(0, memory.length);
    bytes.set(memory);
    try {
      return this.runWithArgs(native.address, BigInt(memory.length));
    } finally {
      memory.set(bytes);
    }
  }

  /** Calls the program with r1 and r2 as given (native addresses or scalars); returns r0. */
  runWithArgs(r1: bigint, r2: bigint): bigint {
    this.requireLive();
    const status = this.status ? statusView(this.status) : undefined;
    status?.setUint32(STATUS_KIND, FaultKind.None, true);
    const r0 = BigInt.asUintN(64, this.call(r1, r2));
    if (status) throwFault(status, r1, r2);
    return r0;
  }

  /**
   * Runs the program `n` times on one native copy of `memory` in a generated loop (one FFI call in all);
   * returns the last r0. The memory is not reset between runs.
   */
  runLoop(n: number, memory?: Uint8Array): bigint {
    this.requireLive();
    this.loop ??= (() => {
      const region = driverLoop(this.entryAddress);
      return { region, call: nativeFunction(region.address, 3) };
    })();
    let address = 0n;
    if (memory) {
      const native = this.inputRegion(memory.length);
      native.bytes(0, memory.length).set(memory);
      address = native.address;
    }
    const r0 = BigInt.asUintN(64, this.loop.call(address, BigInt(memory?.length ?? 0), BigInt(n)));
    if (this.status) throwFault(statusView(this.status), address, BigInt(memory?.length ?? 0));
    return r0;
  }

  /** Unmaps the code and everything else this program allocated. */
  dispose(): void {
    this.code.free();
    this.status?.free();
    this.input?.free();
    this.loop?.region.free();
    this.input = undefined;
    this.loop = undefined;
  }

  private inputRegion(length: number): NativeRegion {
    if (!this.input || this.input.size < length) {
      this.input?.free();
      this.input = NativeRegion.allocate(length);
    }
    return this.input;
  }

  private requireLive(): void {
    if (this.code.isFreed) throw new Error("this JitProgram has been disposed");
  }
}

function statusView(status: NativeRegion): DataView {
  const bytes = status.bytes(0, STATUS_SIZE);
  return new DataView(bytes.buffer, bytes.byteOffset, STATUS_SIZE);
}

/** Turns a fault recorded by checked code into the VmError the interpreter would raise. */
function throwFault(status: DataView, r1: bigint, r2: bigint): void {
  const word = status.getUint32(STATUS_KIND, true);
  const kind = word & 0xff;
  if (kind === FaultKind.None) return;
  const pc = status.getUint32(STATUS_PC, true);
  const address = status.getBigUint64(STATUS_ADDRESS, true);
  const hex = `0x${address.toString(16)}`;
  switch (kind) {
    case FaultKind.Read:
    case FaultKind.Write: {
      const what = kind === FaultKind.Read ? "read" : "write";
      const input = r2 > 0n ? ` (input memory is ${r2} bytes at 0x${r1.toString(16)})` : " (no input memory)";
      throw new VmError(`${what} of ${word >> 8} bytes at ${hex}: outside the stack and the input memory${input}`, pc);
    }
    case FaultKind.Budget:
      throw new VmError(`the instruction budget of ${status.getBigUint64(STATUS_BUDGET, true)} is exhausted (endless loop?)`, pc);
    case FaultKind.BadCallTarget:
      throw new VmError(`callx to ${hex}, which is neither a function nor a helper id`, pc);
    case FaultKind.UnknownHelper:
      throw new VmError(`call to unknown helper ${address}`, pc);
    default:
      throw new VmError(`fault of unknown kind ${kind}`, pc);
  }
}
