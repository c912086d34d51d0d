// mmap of a bpf map fd (ring buffers), so a test can read the kernel's own bytes.

import koffi from "koffi";

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

interface Mman {
  mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => bigint;
  munmap: (addr: bigint, length: number) => number;
}

let bound: Mman | undefined;

function mman(): Mman {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    mmap: lib.func("uintptr_t mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)"),
    munmap: lib.func("int munmap(uintptr_t addr, size_t length)"),
  };
  return bound;
}

export interface Mapping {
  bytes: Uint8Array;
  unmap(): void;
}

export function mapFd(fd: number, offset: number, length: number, writable: boolean): Mapping {
  const address = BigInt(mman().mmap(null, length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, offset));
  if (address === 0xffffffffffffffffn) throw new Error(`mmap of fd ${fd} failed`);
  const bytes = new Uint8Array(koffi.view(address, length));
  return { bytes, unmap: () => void mman().munmap(address, length) };
}
