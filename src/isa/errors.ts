// Errors raised while turning text or bytes into instructions. Every one is a one-line message meant to be
// shown to a user as is.

/** Bytes that are not a whole number of instructions, or hex text that is not hex. */
export class DecodeError extends Error {
  override name = "DecodeError";
}

/** An encoding the instruction set does not allow, at a known slot index. */
export class ValidationError extends Error {
  override name = "ValidationError";
  constructor(
    readonly index: number,
    readonly reason: string,
    /** PROG_INVALID, or PROG_UNKNOWN_HELPER for a call to a helper the runtime does not provide. */
    readonly code: "PROG_INVALID" | "PROG_UNKNOWN_HELPER" = "PROG_INVALID",
    /** What the instruction belongs to, e.g. "program 'count_malloc'". */
    readonly where?: string,
  ) {
    super(`${where ? where + ": " : ""}instruction ${index}: ${reason}`);
  }

  /** The same error, saying which program it is in. */
  inProgram(name: string): ValidationError {
    return new ValidationError(this.index, this.reason, this.code, `program '${name}'`);
  }
}

/** Assembler input that cannot be assembled, at a 1-based source line. */
export class AssemblyError extends Error {
  override name = "AssemblyError";
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}
