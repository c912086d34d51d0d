// This process's own memory and dynamic loader, through koffi: enough to map code near a library, make its
// text writable for a moment, and find its symbols. The hook tests patch functions of a library loaded into
// the test process itself, which runs exactly the bytes that would be written into another process.

import koffi from "koffi";

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
const MAP_PRIVATE = 0x02;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const RTLD_NOW = 2;
const PAGE = 0x1000n;

interface Bindings {
  mmap: (address: bigint, length: number, prot: number, flags: number, fd: number, offset: number) => number | bigint;
  mprotect: (address: bigint, length: number, prot: number) => number;
  dlopen: (path: string, flags: number) => unknown;
  dlsym: (handle: unknown, name: string) => unknown;
}

let bound: Bindings | undefined;

function bindings(): Bindings {
  if (bound) return bound;
  const libc = koffi.load("libc.so.6");
  bound = {
    mmap: libc.func("uintptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, intptr_t off)"),
    mprotect: libc.func("int mprotect(uintptr_t addr, size_t len, int prot)"),
    dlopen: libc.func("void *dlopen(const char *path, int flags)"),
    dlsym: libc.func("void *dlsym(void *handle, const char *name)"),
  };
  return bound;
}

/** Maps `length` bytes RWX exactly at `address` (fails rather than replacing an existing mapping). */
export function mapExecutableAt(address: bigint, length: number): bigint {
  const result = BigInt(bindings().mmap(address, length, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  if (result !== address) throw new Error(`mmap at 0x${address.toString(16)} failed (got 0x${result.toString(16)}, errno ${koffi.errno()})`);
  return result;
}

export function protect(address: bigint, length: number, prot: number): void {
  const start = (address / PAGE) * PAGE;
  const end = ((address + BigInt(length) + PAGE - 1n) / PAGE) * PAGE;
  if (bindings().mprotect(start, Number(end - start), prot) !== 0) throw new Error(`mprotect failed, errno ${koffi.errno()}`);
}

/** A live view of native memory (writes go straight to it). */
export function nativeBytes(address: bigint, length: number): Uint8Array {
  return new Uint8Array(koffi.view(address, length));
}

/** Writes into code pages: make them writable, copy, restore r-x (x86 needs no cache flush). */
export function writeCode(address: bigint, bytes: Uint8Array): void {
  protect(address, bytes.length, PROT_READ | PROT_WRITE | PROT_EXEC);
  nativeBytes(address, bytes.length).set(bytes);
  protect(address, bytes.length, PROT_READ | PROT_EXEC);
}

/** The address of a symbol of an already loaded library (dlopen of a loaded path returns its handle). */
export function symbolAddress(libraryPath: string, name: string): bigint {
  const { dlopen, dlsym } = bindings();
  const handle = dlopen(libraryPath, RTLD_NOW);
  if (handle === null) throw new Error(`dlopen(${libraryPath}) failed`);
  const pointer = dlsym(handle, name);
  if (pointer === null) throw new Error(`symbol ${name} not found in ${libraryPath}`);
  return BigInt(koffi.address(pointer));
}
