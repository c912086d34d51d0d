// The one check that makes writing (or removing) a patch safe while the target's threads are stopped: no
// thread may be stopped strictly inside the bytes being replaced (at the patch address itself is fine: the
// thread then executes the new first instruction). Calls inside the patch were already refused by the
// planner, so no thread can return into it either.

import { hex } from "./errors.js";
import type { ProloguePlan } from "./relocator/plan.js";

/** Why the patch cannot be written now, given the stopped threads' instruction pointers; undefined if it can. */
export function threadsInsidePatch(plan: ProloguePlan, threadRips: Iterable<bigint>): string | undefined {
  const start = plan.patchAddress;
  const end = start + BigInt(plan.patchLength);
  for (const ripValue of threadRips) {
    if (ripValue > start && ripValue < end) {
      return `function ${plan.code.name}: a thread is stopped at ${hex(ripValue)}, inside the bytes to patch (${hex(start)}..${hex(end)}); resume and retry`;
    }
  }
  return undefined;
}
