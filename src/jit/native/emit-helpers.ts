// The helper half of the native library: every helper routine, and which one serves each kernel helper
// id. Map operations live in emit-map-helpers.ts and the type modules; this module wires them all in.

import { HelperId } from "../../helpers/ids.js";
import type { EmitContext } from "./emit-context.js";
import { emitMemoryHelpers } from "./emit-memory.js";
import { emitPerfEventOutput } from "./emit-perf.js";
import { emitProgramHelpers } from "./emit-program-helpers.js";
import { emitRingbuf } from "./emit-ringbuf.js";
import { emitTaskAndTime } from "./emit-task-time.js";
import { emitTracePrintk } from "./emit-trace.js";

/** Kernel helper id -> native routine. bpf_tail_call (12) is not here: the JIT inlines it as a jump. */
export const HELPER_ROUTINES: ReadonlyMap<number, string> = new Map([
  [HelperId.mapLookupElem, "map_lookup_elem"],
  [HelperId.mapUpdateElem, "map_update_elem"],
  [HelperId.mapDeleteElem, "map_delete_elem"],
  [HelperId.mapPushElem, "map_push_elem"],
  [HelperId.mapPopElem, "map_pop_elem"],
  [HelperId.mapPeekElem, "map_peek_elem"],
  [HelperId.probeRead, "probe_read"],
  [HelperId.probeReadUser, "probe_read"],
  [HelperId.probeReadKernel, "probe_read"],
  [HelperId.probeReadStr, "probe_read_str"],
  [HelperId.probeReadUserStr, "probe_read_str"],
  [HelperId.probeReadKernelStr, "probe_read_str"],
  [HelperId.probeWriteUser, "probe_write_user"],
  [HelperId.strncmp, "strncmp"],
  [HelperId.ktimeGetNs, "ktime_get_ns"],
  [HelperId.ktimeGetBootNs, "ktime_get_boot_ns"],
  [HelperId.ktimeGetCoarseNs, "ktime_get_coarse_ns"],
  [HelperId.jiffies64, "jiffies64"],
  [HelperId.getPrandomU32, "get_prandom_u32"],
  [HelperId.getSmpProcessorId, "get_smp_processor_id"],
  [HelperId.getCurrentPidTgid, "get_current_pid_tgid"],
  [HelperId.getCurrentUidGid, "get_current_uid_gid"],
  [HelperId.getCurrentComm, "get_current_comm"],
  [HelperId.tracePrintk, "trace_printk"],
  [HelperId.ringbufReserve, "ringbuf_reserve"],
  [HelperId.ringbufSubmit, "ringbuf_submit"],
  [HelperId.ringbufDiscard, "ringbuf_discard"],
  [HelperId.ringbufOutput, "ringbuf_output"],
  [HelperId.ringbufQuery, "ringbuf_query"],
  [HelperId.perfEventOutput, "perf_event_output"],
  [HelperId.loop, "loop"],
  [HelperId.getStack, "get_stack"],
  // Outside a probe (test runs); a hooked process gets probe-aware versions from its trampolines.
  [HelperId.getFuncIp, "no_probe_zero"],
  [HelperId.getAttachCookie, "no_probe_zero"],
  [HelperId.getFuncArgCnt, "no_probe_zero"],
  [HelperId.getFuncArg, "no_probe_get_func_arg"],
  [HelperId.getFuncRet, "no_probe_get_func_ret"],
  [HelperId.overrideReturn, "no_probe_override_return"],
]);

export function emitHelpers(ctx: EmitContext): void {
  emitTaskAndTime(ctx);
  emitMemoryHelpers(ctx);
  emitRingbuf(ctx.a);
  emitPerfEventOutput(ctx);
  emitTracePrintk(ctx);
  emitProgramHelpers(ctx);
}
