// Malformed ELF input. The message is one line naming what is wrong and where, ready to show a user; the code
// is stable so that callers (the CLI, tests) can tell failures apart without parsing the message.

export type ElfErrorCode =
  | "ELF_TRUNCATED"
  | "ELF_BAD_MAGIC"
  | "ELF_UNSUPPORTED"
  | "ELF_OUT_OF_BOUNDS"
  | "ELF_BAD_ENTRY_SIZE"
  | "ELF_BAD_INDEX"
  | "ELF_BAD_STRING"
  | "ELF_TOO_LARGE";

export class ElfError extends Error {
  override name = "ElfError";
  constructor(
    readonly code: ElfErrorCode,
    message: string,
  ) {
    super(message);
  }
}
