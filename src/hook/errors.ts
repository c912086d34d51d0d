// Why a hook cannot be placed. Each message is one line that names the function and the reason, ready to
// show a user; the code is stable so callers (the injector, the CLI, tests) can tell refusals apart.

export type HookErrorCode =
  /** The function (or what is left of it after endbr64 / the probe offset) is shorter than the patch. */
  | "HOOK_TOO_SHORT"
  /** An instruction in the bytes to displace, or in the scanned function body, could not be decoded. */
  | "HOOK_UNDECODABLE"
  /** An instruction that cannot run from another address (far transfers, xbegin, a breakpoint already there). */
  | "HOOK_UNRELOCATABLE"
  /** A branch elsewhere in the function lands strictly inside the bytes the patch replaces. */
  | "HOOK_BRANCH_INTO_PATCH"
  /** A call that is not the last displaced instruction: its callee would return into the patched bytes. */
  | "HOOK_CALL_IN_PATCH"
  /** An address the relocated code or the patch must reach is beyond ±2 GB. */
  | "HOOK_OUT_OF_RANGE"
  /** The probe offset is not the start of an instruction. */
  | "HOOK_BAD_OFFSET";

export class HookError extends Error {
  override name = "HookError";
  constructor(
    readonly code: HookErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}
