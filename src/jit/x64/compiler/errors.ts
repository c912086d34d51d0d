/** A program the JIT cannot translate (e.g. recursion, or a construct only a loader can resolve). */
export class JitCompileError extends Error {
  override name = "JitCompileError";
  readonly code = "JIT_UNSUPPORTED";
  constructor(
    message: string,
    /** Slot index of the instruction concerned, when there is one. */
    readonly pc?: number,
  ) {
    super(pc === undefined ? message : `instruction ${pc}: ${message}`);
  }
}
