// Native memory for generated code, mapped straight from the kernel with mmap: written while it is
// read-write, then switched to read+execute (never writable and executable at once, W^X), and called
// through koffi. Regions are page-granular and live until freed with munmap.

import koffi, { type TypeObject } from "koffi";

const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_FAILED = 0xffffffffffffffffn;
const PAGE_SIZE = 4096;

interface Mman {
  mmap: (addr: bigint, length: number, prot: number, flags: number, fd: number, offset: number) => number | bigint;
  mprotect: (addr: bigint, length: number, prot: number) => number;
  munmap: (addr: bigint, length: number) => number;
}

let bound: Mman | undefined;

function mman(): Mman {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    mmap: lib.func("uint64_t mmap(uint64_t addr, size_t length, int prot, int flags, int fd, long offset)"),
    mprotect: lib.func("int mprotect(uint64_t addr, size_t length, int prot)"),
    munmap: lib.func("int munmap(uint64_t addr, size_t length)"),
  };
  return bound;
}

const roundToPages = (size: number): number => Math.max(PAGE_SIZE, Math.ceil(size / PAGE_SIZE) * PAGE_SIZE);

/** A page-aligned anonymous mapping. */
export class NativeRegion {
  private freed = false;

  private constructor(
    readonly address: bigint,
    readonly size: number,
  ) {}

  /** A zeroed read-write mapping of at least `size` bytes. */
  static allocate(size: number): NativeRegion {
    const length = roundToPages(size);
    const address = BigInt(mman().mmap(0n, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (address === MAP_FAILED || address === 0n) throw new Error(`mmap of ${length} bytes failed (errno ${koffi.errno()})`);
    return new NativeRegion(address, length);
  }

  /** A view of the bytes; only valid while the region is writable (or readable, for reading). */
  bytes(offset = 0, length = this.size - offset): Uint8Array {
    this.requireLive();
    return new Uint8Array(koffi.view(this.address + BigInt(offset), length));
  }

  /** W^X: from now on the region can be executed and read, never written. */
  makeExecutable(): void {
    this.protect(PROT_READ | PROT_EXEC);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    mman().munmap(this.address, this.size);
  }

  get isFreed(): boolean {
    return this.freed;
  }

  private protect(prot: number): void {
    this.requireLive();
    if (mman().mprotect(this.address, this.size, prot) !== 0) throw new Error(`mprotect failed (errno ${koffi.errno()})`);
  }

  private requireLive(): void {
    if (this.freed) throw new Error("the native region has been freed");
  }
}

/**
 * Maps `code` read-write, lets `relocate` patch it knowing its final address (a DataView over the mapped
 * bytes), then makes it read+execute.
 */
export function loadCode(code: Uint8Array, relocate?: (view: DataView, base: bigint) => void): NativeRegion {
  const region = NativeRegion.allocate(code.length);
  try {
    const bytes = region.bytes(0, code.length);
    bytes.set(code);
    relocate?.(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), region.address);
    region.makeExecutable();
    return region;
  } catch (error) {
    region.free();
    throw error;
  }
}

const functionTypes = new Map<string, TypeObject>();

/**
 * A JS function calling native code at `address` with the C signature `returns name(params...)`, every
 * type a 64-bit integer (uint64_t). Results come back as bigint.
 */
export function nativeFunction(address: bigint, parameterCount: number): (...args: bigint[]) => bigint {
  const key = `jit_fn_u64_${parameterCount}`;
  let type = functionTypes.get(key);
  if (!type) {
    type = koffi.proto(`uint64_t ${key}(${Array.from({ length: parameterCount }, () => "uint64_t").join(", ")})`);
    functionTypes.set(key, type);
  }
  const fn = koffi.decode(address, type) as (...args: bigint[]) => number | bigint;
  return (...args: bigint[]): bigint => {
    const result = fn(...args);
    return typeof result === "bigint" ? result : BigInt(result);
  };
}
