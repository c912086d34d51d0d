// The auxiliary vector the kernel handed a process at exec (/proc/PID/auxv): pairs of u64 type and value.

import { readFileSync } from "node:fs";
import { procAccessError } from "./errors.js";
import { taskFile } from "./tasks.js";

export const AuxType = {
  AT_PHDR: 3,
  AT_PHENT: 4,
  AT_PHNUM: 5,
  AT_PAGESZ: 6,
  /** Where the dynamic loader is mapped (0 for a static executable). */
  AT_BASE: 7,
  /** The executable's entry point: _start, run after ld.so has mapped and relocated every library. */
  AT_ENTRY: 9,
  AT_SYSINFO_EHDR: 33,
} as const;

export function parseAuxv(bytes: Uint8Array): Map<number, bigint> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = new Map<number, bigint>();
  for (let at = 0; at + 16 <= bytes.length; at += 16) {
    const type = Number(view.getBigUint64(at, true));
    if (type === 0) break; // AT_NULL
    entries.set(type, view.getBigUint64(at + 8, true));
  }
  return entries;
}

/** The auxiliary vector, read through thread `tid` (see taskFile). */
export function readAuxv(pid: number, tid?: number): Map<number, bigint> {
  try {
    return parseAuxv(readFileSync(taskFile(pid, tid, "auxv")));
  } catch (error) {
    throw procAccessError(pid, error, "the auxiliary vector");
  }
}
