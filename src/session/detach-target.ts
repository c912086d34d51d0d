// Taking a session out of a process: with every thread stopped, each hook's dispatch word is pointed at
// "no programs" and the function's original bytes go back (once no thread would resume inside them). The
// hook slices and the arena stay mapped: a thread may still be inside a slice, or return through a
// uretprobe's return stub later, and both must keep working.

import { parseHexBytes } from "../isa/instruction.js";
import { HookControl } from "../hook/trampoline/hook-slice.js";
import { InjectionSession } from "../inject/session.js";
import type { TargetRecord } from "./descriptor.js";

export function restoreHooks(injection: InjectionSession, record: TargetRecord): void {
  for (const hook of record.hooks) {
    injection.writeU64(BigInt(hook.controlAddress) + BigInt(HookControl.dispatch), BigInt(hook.noProgramsDispatch));
    const patch = BigInt(hook.patchAddress);
    const original = parseHexBytes(hook.originalBytes);
    const end = patch + BigInt(original.length);
    for (const position of injection.threadsExecutingIn(patch, end)) injection.stepOutOf(position.tid, patch, end);
    injection.writeCode(patch, original);
  }
}

/** Attaches to the process, restores its functions and lets it go. Returns the pause in ms. */
export function detachTarget(record: TargetRecord): number {
  const injection = InjectionSession.attach(record.pid);
  try {
    restoreHooks(injection, record);
  } finally {
    injection.detach();
  }
  return injection.pauseReport().pauseMs ?? 0;
}
