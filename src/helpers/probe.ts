// Helpers that read the probe a program runs in: the function's ip, arguments, return value, cookie,
// the thread's stack, and bpf_override_return.

import { StackTraceMap } from "../maps/stack-trace-map.js";
import { VmError } from "../vm/errors.js";
import type { HelperRegistry } from "../vm/helpers.js";
import type { MapResolver } from "./maps.js";
import type { HelperEnvironment } from "./environment.js";
import { EFAULT, EINVAL, EOPNOTSUPP } from "./errno.js";
import { HelperId } from "./ids.js";

/** Flags of bpf_get_stack: the low byte skips frames; BPF_F_USER_STACK asks for the user stack. */
const SKIP_MASK = 0xffn;
const BPF_F_USER_STACK = 1n << 8n;

export function registerProbeHelpers(registry: HelperRegistry, env: HelperEnvironment, resolveMap?: MapResolver): HelperRegistry {
  const writeU64 = (memory: { bytes(a: bigint, n: number, w: boolean): Uint8Array }, address: bigint, value: bigint): void => {
    const out = memory.bytes(address, 8, true);
    new DataView(out.buffer, out.byteOffset, 8).setBigUint64(0, BigInt.asUintN(64, value), true);
  };
  return registry
    .register(HelperId.getFuncIp, "bpf_get_func_ip", () => env.probe()?.funcIp ?? 0n)
    .register(HelperId.getAttachCookie, "bpf_get_attach_cookie", () => env.probe()?.cookie ?? 0n)
    .register(HelperId.getFuncArgCnt, "bpf_get_func_arg_cnt", () => env.probe()?.args.length ?? 0)
    .register(HelperId.getFuncArg, "bpf_get_func_arg", (_ctx, n, out, _r4, _r5, ctx) => {
      const arg = env.probe()?.args[Number(n)];
      if (arg === undefined) {
        writeU64(ctx.memory, out, 0n);
        return EINVAL;
      }
      writeU64(ctx.memory, out, arg);
      return 0;
    })
    .register(HelperId.getFuncRet, "bpf_get_func_ret", (_ctx, out, _r3, _r4, _r5, ctx) => {
      const ret = env.probe()?.ret;
      if (ret === undefined) return EOPNOTSUPP;
      writeU64(ctx.memory, out, ret);
      return 0;
    })
    .register(HelperId.overrideReturn, "bpf_override_return", (_ctx, value) => {
      const probe = env.probe();
      if (!probe?.override) return EINVAL;
      probe.override(value);
      return 0;
    })
    .register(HelperId.getStackid, "bpf_get_stackid", (_ctx, mapAddress, flags) => {
      const map = resolveMap?.(mapAddress)?.map;
      if (!(map instanceof StackTraceMap)) throw new VmError(`bpf_get_stackid: 0x${mapAddress.toString(16)} is not a stack trace map`);
      const skip = Number(flags & SKIP_MASK);
      return map.storeStack((env.probe()?.stack ?? []).slice(skip), Number(flags));
    })
    .register(HelperId.getStack, "bpf_get_stack", (_ctx, buf, size, flags, _r5, ctx) => {
      if ((flags & ~(SKIP_MASK | BPF_F_USER_STACK | (1n << 11n))) !== 0n) return EINVAL;
      const out = ctx.memory.bytes(buf, Number(size), true);
      const skip = Number(flags & SKIP_MASK);
      const frames = (env.probe()?.stack ?? []).slice(skip, skip + Math.floor(out.length / 8));
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      frames.forEach((ip, i) => view.setBigUint64(i * 8, ip, true));
      out.fill(0, frames.length * 8);
      return frames.length === 0 && out.length > 0 ? EFAULT : frames.length * 8;
    });
}
