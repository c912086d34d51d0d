// process_vm_readv/process_vm_writev: copy memory between this process and another without stopping it.
// Unlike /proc/PID/mem they honour page protections (EFAULT on read-only text), which makes them the right
// tool for data pages and the wrong one for patching code.

import koffi from "koffi";
import { lastErrno } from "./libc.js";
import { scratchSlices, type NativeSlice } from "./native-scratch.js";
import { SyscallError } from "./syscall-error.js";

type VmCall = (pid: number, local: bigint, localCount: bigint, remote: bigint, remoteCount: bigint, flags: bigint) => number | bigint;

let bound: { readv: VmCall; writev: VmCall } | undefined;

function bindings() {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  const params = ["int", "uintptr_t", "unsigned long", "uintptr_t", "unsigned long", "unsigned long"];
  bound = {
    readv: lib.func("process_vm_readv", "intptr_t", params) as VmCall,
    writev: lib.func("process_vm_writev", "intptr_t", params) as VmCall,
  };
  return bound;
}

const IOVEC_SIZE = 16;

function iovecs(remote: bigint, length: number): [NativeSlice, NativeSlice, NativeSlice] {
  const [local, remoteIov, data] = scratchSlices([IOVEC_SIZE, IOVEC_SIZE, length]) as [NativeSlice, NativeSlice, NativeSlice];
  local.view.setBigUint64(0, data.address, true);
  local.view.setBigUint64(8, BigInt(length), true);
  remoteIov.view.setBigUint64(0, remote, true);
  remoteIov.view.setBigUint64(8, BigInt(length), true);
  return [local, remoteIov, data];
}

/** Reads `length` bytes at `address` in process `pid`; a short read (the range ends in unmapped memory) is an error. */
export function processVmRead(pid: number, address: bigint, length: number): Uint8Array {
  const [local, remote, data] = iovecs(address, length);
  const got = Number(bindings().readv(pid, local.address, 1n, remote.address, 1n, 0n));
  if (got < 0) throw new SyscallError(`process_vm_readv(${pid}, 0x${address.toString(16)}, ${length})`, lastErrno());
  if (got !== length) throw new SyscallError(`process_vm_readv(${pid}, 0x${address.toString(16)}, ${length})`, 14, `only ${got} bytes readable`);
  return data.bytes.slice();
}

export function processVmWrite(pid: number, address: bigint, bytes: Uint8Array): void {
  const [local, remote, data] = iovecs(address, bytes.length);
  data.bytes.set(bytes);
  const got = Number(bindings().writev(pid, local.address, 1n, remote.address, 1n, 0n));
  if (got < 0) throw new SyscallError(`process_vm_writev(${pid}, 0x${address.toString(16)}, ${bytes.length})`, lastErrno());
  if (got !== bytes.length) {
    throw new SyscallError(`process_vm_writev(${pid}, 0x${address.toString(16)}, ${bytes.length})`, 14, `only ${got} bytes writable`);
  }
}
