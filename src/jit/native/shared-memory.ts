// Native memory for data that generated code and the TypeScript control plane share: map regions (shared
// anonymous mappings today, so a forked child or a second mapping sees the same bytes; a memfd arena
// later), and the process-private block of the native helpers (wiped in a forked child, so the child
// recomputes what it cached about its process).

import koffi from "koffi";
import { MapFlag, mmap, munmap, nativeBytes, PAGE_SIZE, Prot } from "../../native/mman.js";

const MADV_WIPEONFORK = 18;

let madvise: ((address: bigint, length: number, advice: number) => number) | undefined;

function adviseWipeOnFork(address: bigint, length: number): boolean {
  madvise ??= koffi.load("libc.so.6").func("int madvise(uint64_t addr, size_t length, int advice)") as (address: bigint, length: number, advice: number) => number;
  return madvise(address, length, MADV_WIPEONFORK) === 0;
}

export { PAGE_SIZE };

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
    return SharedMemory.map(size, MapFlag.SHARED | MapFlag.ANONYMOUS);
  }

  /** Zeroed memory private to this process, and zeroed again in any child it forks (MADV_WIPEONFORK). */
  static processPrivate(size: number): SharedMemory {
    const memory = SharedMemory.map(size, MapFlag.PRIVATE | MapFlag.ANONYMOUS);
    if (!adviseWipeOnFork(memory.address, memory.size)) {
      memory.free();
      throw new Error(`madvise(MADV_WIPEONFORK) failed (errno ${koffi.errno()})`);
    }
    return memory;
  }

  private static map(size: number, flags: number): SharedMemory {
    const length = pageRound(size);
    return new SharedMemory(mmap(0n, length, Prot.READ | Prot.WRITE, flags), length);
  }

  /** A view of `length` bytes at `offset`, straight over the native memory. */
  bytes(offset = 0, length = this.size - offset): Uint8Array {
    if (this.freed) throw new Error("the native memory has been unmapped");
    if (offset < 0 || offset + length > this.size) throw new RangeError(`bytes ${offset}..${offset + length} are outside ${this.size}`);
    return nativeBytes(this.address + BigInt(offset), length);
  }

  get isFreed(): boolean {
    return this.freed;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    munmap(this.address, this.size);
  }
}
