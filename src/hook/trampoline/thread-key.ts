// Which instruction the stubs use to tell threads apart (see thread-stacks.ts): rdfsbase when the kernel has
// enabled FSGSBASE for user space, which it reports in the auxiliary vector as HWCAP2_FSGSBASE. Read the
// target's /proc/PID/auxv (or /proc/self/auxv: the kernel and CPU are the same for every process).

import type { ThreadKeySource } from "./thread-stacks.js";

const AT_NULL = 0n;
const AT_HWCAP2 = 26n;
const HWCAP2_FSGSBASE = 1n << 1n;

/** The value of an auxv entry (64-bit {type, value} pairs), if present. */
export function auxvValue(auxv: Uint8Array, type: bigint): bigint | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let at = 0; at + 16 <= auxv.length; at += 16) {
    const entryType = view.getBigUint64(at, true);
    if (entryType === AT_NULL) return undefined;
    if (entryType === type) return view.getBigUint64(at + 8, true);
  }
  return undefined;
}

export function fsgsbaseEnabled(auxv: Uint8Array): boolean {
  return ((auxvValue(auxv, AT_HWCAP2) ?? 0n) & HWCAP2_FSGSBASE) !== 0n;
}

export function threadKeySourceFor(auxv: Uint8Array): ThreadKeySource {
  return fsgsbaseEnabled(auxv) ? "fs-base" : "tcb-self";
}
