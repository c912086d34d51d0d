// Helpers about the current task: ids, credentials, name, CPU, signals, random numbers.

import type { HelperRegistry } from "../vm/helpers.js";
import type { HelperEnvironment } from "./environment.js";
import { EINVAL } from "./errno.js";
import { HelperId } from "./ids.js";

/** Largest signal number bpf_send_signal accepts (the kernel's _NSIG). */
const MAX_SIGNAL = 64;

export function registerTaskHelpers(registry: HelperRegistry, env: HelperEnvironment): HelperRegistry {
  const sendSignal = (signal: bigint): number => {
    if (signal <= 0n || signal > BigInt(MAX_SIGNAL)) return EINVAL;
    env.sendSignal(Number(signal));
    return 0;
  };
  return registry
    .register(HelperId.getCurrentPidTgid, "bpf_get_current_pid_tgid", () => {
      const task = env.task();
      return (BigInt(task.tgid) << 32n) | BigInt(task.pid);
    })
    .register(HelperId.getCurrentUidGid, "bpf_get_current_uid_gid", () => {
      const task = env.task();
      return (BigInt(task.gid) << 32n) | BigInt(task.uid);
    })
    .register(HelperId.getCurrentComm, "bpf_get_current_comm", (buf, size, _r3, _r4, _r5, ctx) => {
      const out = ctx.memory.bytes(buf, Number(size), true);
      if (out.length === 0) return EINVAL;
      out.fill(0);
      const name = new TextEncoder().encode(env.task().comm).subarray(0, Math.min(15, out.length - 1));
      out.set(name);
      return 0;
    })
    .register(HelperId.getSmpProcessorId, "bpf_get_smp_processor_id", () => env.cpu())
    .register(HelperId.getPrandomU32, "bpf_get_prandom_u32", () => (Math.random() * 0x100000000) >>> 0)
    .register(HelperId.sendSignal, "bpf_send_signal", (signal) => sendSignal(signal))
    .register(HelperId.sendSignalThread, "bpf_send_signal_thread", (signal) => sendSignal(signal));
}
