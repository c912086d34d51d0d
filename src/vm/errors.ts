/** A run that ended abnormally: a memory fault, an exhausted budget, a bad call. One line, for users. */
export class VmError extends Error {
  override name = "VmError";
  readonly code = "VM_FAULT";
  /** Slot index of the instruction that failed, when known. */
  pc: number | undefined;
  constructor(message: string, pc?: number) {
    super(pc === undefined ? message : `instruction ${pc}: ${message}`);
    this.pc = pc;
  }

  /** The same error, now naming the instruction it happened at; control-flow signals pass through. */
  static at(pc: number, error: unknown): VmError | ExecutionSignal {
    if (error instanceof ExecutionSignal) return error;
    if (error instanceof VmError && error.pc !== undefined) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new VmError(message, pc);
  }
}

/**
 * Not an error: a helper's request to leave the running program (bpf_tail_call replacing it with another).
 * The interpreter lets it through unchanged so the caller that started the run can act on it.
 */
export class ExecutionSignal {
  constructor(readonly reason: string) {}
}
