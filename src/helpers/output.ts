// Formatted output helpers: bpf_trace_printk (to the trace sink) and bpf_snprintf (into program memory).

import type { AddressSpace } from "../vm/address-space.js";
import { VmError } from "../vm/errors.js";
import type { HelperRegistry } from "../vm/helpers.js";
import type { HelperEnvironment } from "./environment.js";
import { E2BIG, EINVAL } from "./errno.js";
import { HelperId } from "./ids.js";
import { formatBpfPrintf, PrintfFormatError, type StringReader } from "./printf.js";
import { monotonicNs } from "./time.js";

/** MAX_BPRINTF_VARARGS: bpf_snprintf takes at most 12 arguments. */
const MAX_SNPRINTF_ARGS = 12;
const MAX_TRACE_PRINTK_ARGS = 3;

/** The format string: `size` bytes that must hold a NUL (the verifier's ARG_PTR_TO_CONST_STR rule). */
function readFormat(memory: AddressSpace, address: bigint, size: number): string | undefined {
  const bytes = memory.bytes(address, size);
  const end = bytes.indexOf(0);
  if (end < 0) return undefined;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function stringReader(memory: AddressSpace): StringReader {
  return (address) => {
    try {
      return memory.cString(address, 4096);
    } catch (error) {
      if (error instanceof VmError) return undefined;
      throw error;
    }
  };
}

function format(fmt: string, args: readonly bigint[], memory: AddressSpace, maxArgs: number): string | undefined {
  try {
    return formatBpfPrintf(fmt, args, stringReader(memory), maxArgs);
  } catch (error) {
    if (error instanceof PrintfFormatError) return undefined;
    throw error;
  }
}

export function registerOutputHelpers(registry: HelperRegistry, env: HelperEnvironment): HelperRegistry {
  return registry
    .register(HelperId.tracePrintk, "bpf_trace_printk", (fmtPtr, fmtSize, a1, a2, a3, ctx) => {
      const fmt = readFormat(ctx.memory, fmtPtr, Number(fmtSize));
      const text = fmt === undefined ? undefined : format(fmt, [a1, a2, a3], ctx.memory, MAX_TRACE_PRINTK_ARGS);
      if (text === undefined) return EINVAL;
      const task = env.task();
      env.trace({ timestampNs: monotonicNs(), pid: task.tgid, tid: task.pid, cpu: env.cpu(), comm: task.comm, text });
      return new TextEncoder().encode(text).length;
    })
    .register(HelperId.snprintf, "bpf_snprintf", (out, outSize, fmtPtr, data, dataLength, ctx) => {
      const length = Number(dataLength);
      if (length % 8 !== 0 || length > MAX_SNPRINTF_ARGS * 8) return length % 8 !== 0 ? EINVAL : E2BIG;
      const argBytes = length === 0 ? new Uint8Array(0) : ctx.memory.bytes(data, length);
      const view = new DataView(argBytes.buffer, argBytes.byteOffset, argBytes.byteLength);
      const args = Array.from({ length: length / 8 }, (_, i) => view.getBigUint64(i * 8, true));
      const fmt = ctx.memory.cString(fmtPtr, 1 << 16);
      const text = format(fmt, args, ctx.memory, args.length);
      if (text === undefined) return EINVAL;
      const encoded = new TextEncoder().encode(text);
      const size = Number(outSize);
      if (size > 0) {
        const target = ctx.memory.bytes(out, size, true);
        const copied = Math.min(encoded.length, size - 1);
        target.set(encoded.subarray(0, copied));
        target[copied] = 0;
      }
      return encoded.length + 1; // the length it needed, with the NUL
    });
}
