// Native memory for generated code, mapped straight from the kernel with mmap: written while it is
// read-write, then switched to read+execute (never writable and executable at once, W^X), and called
// through koffi. Regions are page-granular and live until freed with munmap.

import koffi, { type TypeObject } from "koffi";
import { MapFlag, mmap, mprotect, munmap, Prot } from "../native/mman.js";

const PAGE_SIZE = 4096;

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
    return new NativeRegion(mmap(0n, length, Prot.READ | Prot.WRITE, MapFlag.PRIVATE | MapFlag.ANONYMOUS), length);
  }

  /** A view of the bytes; only valid while the region is writable (or readable, for reading). */
  bytes(offset = 0, length = this.size - offset): Uint8Array {
    this.requireLive();
    return new Uint8Array(koffi.view(this.address + BigInt(offset), length));
  }

  /** W^X: from now on the region can be executed and read, never written. */
  makeExecutable(): void {
    this.protect(Prot.READ | Prot.EXEC);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    munmap(this.address, this.size);
  }

  get isFreed(): boolean {
    return this.freed;
  }

  private protect(prot: number): void {
    this.requireLive();
    mprotect(this.address, this.size, prot);
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
