// Memory helpers: probe reads and writes that report a bad address as -EFAULT instead of faulting the
// program, string copies, and bpf_strncmp.

import type { AddressSpace } from "../vm/address-space.js";
import { VmError } from "../vm/errors.js";
import type { HelperRegistry } from "../vm/helpers.js";
import { EFAULT } from "./errno.js";
import { HelperId } from "./ids.js";

/** The source bytes, or undefined where the kernel's probe read would fail. */
function tryRead(memory: AddressSpace, address: bigint, length: number): Uint8Array | undefined {
  try {
    return memory.bytes(address, length);
  } catch (error) {
    if (error instanceof VmError) return undefined;
    throw error;
  }
}

function probeRead(dst: bigint, size: bigint, src: bigint, memory: AddressSpace): number {
  const out = memory.bytes(dst, Number(size), true); // the destination is the program's own memory
  const source = tryRead(memory, src, Number(size));
  if (!source) {
    out.fill(0); // the kernel zeroes the destination on failure
    return EFAULT;
  }
  out.set(source);
  return 0;
}

/** Copies a NUL-terminated string of at most size - 1 bytes plus a NUL; returns the length with the NUL. */
function probeReadString(dst: bigint, size: bigint, src: bigint, memory: AddressSpace): number {
  const limit = Number(size);
  if (limit === 0) return 0;
  const out = memory.bytes(dst, limit, true);
  for (let i = 0; i < limit - 1; i++) {
    const byte = tryRead(memory, src + BigInt(i), 1);
    if (!byte) {
      out.fill(0);
      return EFAULT;
    }
    out[i] = byte[0]!;
    if (byte[0] === 0) return i + 1;
  }
  out[limit - 1] = 0;
  return limit;
}

function probeWrite(dst: bigint, src: bigint, len: bigint, memory: AddressSpace): number {
  const source = memory.bytes(src, Number(len));
  let target: Uint8Array;
  try {
    target = memory.bytes(dst, Number(len), true);
  } catch (error) {
    if (error instanceof VmError) return EFAULT;
    throw error;
  }
  target.set(source);
  return 0;
}

/** The kernel's strncmp: -1, 0 or 1, comparing at most `size` bytes of s1 with the NUL-terminated s2. */
function strncmp(s1: bigint, size: bigint, s2: bigint, memory: AddressSpace): number {
  const a = memory.bytes(s1, Number(size));
  for (let i = 0; i < a.length; i++) {
    const c1 = a[i]!;
    const c2 = memory.bytes(s2 + BigInt(i), 1)[0]!;
    if (c1 !== c2) return c1 < c2 ? -1 : 1;
    if (c1 === 0) return 0;
  }
  return 0;
}

export function registerMemoryHelpers(registry: HelperRegistry): HelperRegistry {
  const read = (dst: bigint, size: bigint, src: bigint, _r4: bigint, _r5: bigint, ctx: { memory: AddressSpace }): number => probeRead(dst, size, src, ctx.memory);
  const readString = (dst: bigint, size: bigint, src: bigint, _r4: bigint, _r5: bigint, ctx: { memory: AddressSpace }): number =>
    probeReadString(dst, size, src, ctx.memory);
  return registry
    .register(HelperId.probeRead, "bpf_probe_read", read)
    .register(HelperId.probeReadUser, "bpf_probe_read_user", read)
    .register(HelperId.probeReadKernel, "bpf_probe_read_kernel", read)
    .register(HelperId.probeReadStr, "bpf_probe_read_str", readString)
    .register(HelperId.probeReadUserStr, "bpf_probe_read_user_str", readString)
    .register(HelperId.probeReadKernelStr, "bpf_probe_read_kernel_str", readString)
    .register(HelperId.probeWriteUser, "bpf_probe_write_user", (dst, src, len, _r4, _r5, ctx) => probeWrite(dst, src, len, ctx.memory))
    .register(HelperId.strncmp, "bpf_strncmp", (s1, size, s2, _r4, _r5, ctx) => strncmp(s1, size, s2, ctx.memory));
}
