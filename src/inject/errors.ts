// Injection failures: one line for a user, with a stable code for callers and tests.

export type InjectErrorCode =
  /** The pid does not exist. */
  | "INJECT_NO_PROCESS"
  /** We may not trace it (another user, already traced, or ourselves). */
  | "INJECT_PERMISSION"
  /** The target exited (or was killed) while we held it. */
  | "INJECT_EXITED"
  /** A command could not be started, or ended before reaching its entry point. */
  | "INJECT_SPAWN"
  /** Changing code under a thread that executes it, or stepping a thread that cannot be stepped safely. */
  | "INJECT_UNSAFE"
  /** The session is detached, or no thread is in a state that allows running code. */
  | "INJECT_STATE"
  /** Injected code stopped somewhere unexpected. */
  | "INJECT_REMOTE";

export class InjectError extends Error {
  override name = "InjectError";
  constructor(
    readonly code: InjectErrorCode,
    message: string,
  ) {
    super(message);
  }
}
