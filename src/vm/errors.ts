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

  /** The same error, now naming the instruction it happened at. */
  static at(pc: number, error: unknown): VmError {
    if (error instanceof VmError && error.pc !== undefined) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new VmError(message, pc);
  }
}
