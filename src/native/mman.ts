// mmap/munmap/mprotect of this process through koffi, for mappings Node cannot make (shared file
// mappings at fixed addresses, executable memory). Addresses are bigints.

import koffi from "koffi";
import { MapFlag, Prot } from "./x86-64-syscalls.js";

interface Mman {
  mmap: (addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number) => bigint;
  munmap: (addr: bigint, length: number) => number;
  mprotect: (addr: bigint, length: number, prot: number) => number;
}

let bound: Mman | undefined;

function mman(): Mman {
  bound ??= (() => {
    const lib = koffi.load("libc.so.6");
    return {
      mmap: lib.func("uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, long offset)"),
      munmap: lib.func("int munmap(uint64_t addr, size_t length)"),
      mprotect: lib.func("int mprotect(uint64_t addr, size_t length, int prot)"),
    } as Mman;
  })();
  return bound;
}

export const PAGE_SIZE = 4096;
const MAP_FAILED = 0xffffffffffffffffn;

export class MmapError extends Error {
  override name = "MmapError";
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super(message);
  }
}

/** mmap; throws MmapError (with errno) on failure. */
export function mmap(address: bigint, length: number, prot: number, flags: number, fd = -1, offset = 0): bigint {
  const result = BigInt(mman().mmap(address, length, prot, flags, fd, offset));
  if (result === MAP_FAILED) {
    const errno = koffi.errno();
    throw new MmapError(`mmap of ${length} bytes at 0x${address.toString(16)} failed (errno ${errno})`, errno);
  }
  return result;
}

/** Maps `length` bytes of file `fd` at exactly `address`, failing (EEXIST) rather than replacing a mapping. */
export function mmapFixedShared(address: bigint, length: number, prot: number, fd: number, offset = 0): bigint {
  const mapped = mmap(address, length, prot, MapFlag.SHARED | MapFlag.FIXED_NOREPLACE, fd, offset);
  if (mapped !== address) {
    munmap(mapped, length); // an old kernel treated FIXED_NOREPLACE as a hint
    throw new MmapError(`address 0x${address.toString(16)} is not available`, 17);
  }
  return mapped;
}

export function munmap(address: bigint, length: number): void {
  mman().munmap(address, length);
}

export function mprotect(address: bigint, length: number, prot: number): void {
  if (mman().mprotect(address, length, prot) !== 0) throw new MmapError(`mprotect of 0x${address.toString(16)} failed (errno ${koffi.errno()})`, koffi.errno());
}

/** A JS view of native memory (writes go to the mapping). */
export function nativeBytes(address: bigint, length: number): Uint8Array {
  return new Uint8Array(koffi.view(address, length));
}

export { MapFlag, Prot };
