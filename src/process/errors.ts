// Problems with a target process or the binaries it maps. One line ready to show a user, with a stable code.

export type ProcessErrorCode =
  | "PROC_NO_PROCESS"
  | "PROC_NO_PERMISSION"
  | "PROC_MODULE_NOT_FOUND"
  | "PROC_MODULE_AMBIGUOUS"
  | "PROC_SYMBOL_NOT_FOUND"
  | "PROC_SYMBOL_AMBIGUOUS"
  | "PROC_NOT_LOADED"
  | "PROC_MEMORY";

export class ProcessError extends Error {
  override name = "ProcessError";
  constructor(
    readonly code: ProcessErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Turns the errno of a failed /proc access into the error a user should see. */
export function procAccessError(pid: number, error: unknown, what: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ESRCH") return new ProcessError("PROC_NO_PROCESS", `no such process ${pid}`);
  if (code === "EACCES" || code === "EPERM") {
    return new ProcessError("PROC_NO_PERMISSION", `no permission to read ${what} of process ${pid} (run as its user or as root)`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
