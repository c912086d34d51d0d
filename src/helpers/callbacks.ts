// bpf_loop: calls a program function repeatedly (the map iteration helper lives with the maps).

import type { HelperRegistry } from "../vm/helpers.js";
import { E2BIG, EINVAL } from "./errno.js";
import { HelperId } from "./ids.js";

/** BPF_MAX_LOOPS: the kernel refuses more iterations than this. */
const MAX_LOOPS = 1n << 23n;

export function registerCallbackHelpers(registry: HelperRegistry): HelperRegistry {
  return registry.register(HelperId.loop, "bpf_loop", (count, callback, callbackCtx, flags, _r5, ctx) => {
    if (flags !== 0n) return EINVAL;
    if (count > MAX_LOOPS) return E2BIG;
    for (let i = 0n; i < count; i++) {
      // The callback returns 0 to continue and 1 to stop; the verifier allows nothing else.
      if (ctx.callFunction(callback, [i, callbackCtx]) !== 0n) return i + 1n;
    }
    return count;
  });
}
