// Native memory for data that generated code and the TypeScript control plane share: map regions (shared
// anonymous mappings today, so a forked child or a second mapping sees the same bytes; a memfd arena
// later), and the process-private block of the native helpers (wiped in a forked child, so the child
// recomputes what it cached about its process).

import koffi from "koffi";

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MADV_WIPEONFORK = 18;
const MAP_FAILED = 0xffffffffffffffffn;
export const PAGE_SIZE = 4096;

interface Mman {
  mmap: (addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number) => bigint;
  munmap: (addr: bigint, length: number) => number;
  madvise: (addr: bigint, length: number, advice: number) => number;
}

let bound: Mman | undefined;

function mman(): Mman {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    mmap: lib.func("uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, long offset)"),
    munmap: lib.func("int munmap(uint64_t addr, size_t length)"),
    madvise: lib.func("int madvise(uint64_t addr, size_t length, int advice)"),
  };
  return bound;
}

export const pageRound = (size: number): number => Math.max(PAGE_SIZE, Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);

/** A page-aligned read-write mapping; `bytes` views it without copying. */
export class SharedMemory {
  private freed = false;

  private constructor(
    readonly address: bigint,
    readonly size: number,
  ) {}

  /** Zeroed memory shared with forked children (MAP_SHARED | MAP_ANONYMOUS). */
  static shared(size: number): SharedMemory {
    return SharedMemory.map(size, MAP_SHARED | MAP_ANONYMOUS);
  }

  /** Zeroed memory private to this process, and zeroed again in any child it forks (MADV_WIPEONFORK). */
  static processPrivate(size: number): SharedMemory {
    const memory = SharedMemory.map(size, MAP_PRIVATE | MAP_ANONYMOUS);
    if (mman().madvise(memory.address, memory.size, MADV_WIPEONFORK) !== 0) {
      memory.free();
      throw new Error(`madvise(MADV_WIPEONFORK) failed (errno ${koffi.errno()})`);
    }
    return memory;
  }

  private static map(size: number, flags: number): SharedMemory {
    const length = pageRound(size);
    const address = BigInt(mman().mmap(0n, length, PROT_READ | PROT_WRITE, flags, -1, 0));
    if (address === MAP_FAILED || address === 0n) throw new Error(`mmap of ${length} bytes failed (errno ${koffi.errno()})`);
    return new SharedMemory(address, length);
  }

  /** A view of `length` bytes at `offset`, straight over the native memory. */
  bytes(offset = 0, length = this.size - offset): Uint8Array {
    if (this.freed) throw new Error("the native memory has been unmapped");
    if (offset < 0 || offset + length > this.size) throw new RangeError(`bytes ${offset}..${offset + length} are outside ${this.size}`);
    return new Uint8Array(koffi.view(this.address + BigInt(offset), length));
  }

  get isFreed(): boolean {
    return this.freed;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    mman().munmap(this.address, this.size);
  }
}
