// The handful of libc entry points the native layer needs, bound through koffi on first use (so that
// merely importing this module works on systems without glibc, where callers can then skip cleanly).
//
// Pointers are bigint addresses in koffi 3, so every binding below passes and returns addresses as
// bigint; nothing here keeps a JS object alive on the native side.

import koffi from "koffi";

interface Libc {
  /** `long syscall(long number, ...)`: each variadic argument is preceded by its C type name. */
  syscall: (number: number, ...typedArgs: unknown[]) => number | bigint;
  malloc: (size: number) => bigint | null;
  free: (ptr: bigint) => void;
  close: (fd: number) => number;
}

let bound: Libc | undefined;

function libc(): Libc {
  if (bound) return bound;
  const lib = koffi.load("libc.so.6");
  bound = {
    // Variadic, so every call states the C type of each argument and the x86-64 ABI is followed exactly.
    syscall: lib.func("long syscall(long number, ...)"),
    malloc: lib.func("void *malloc(size_t size)"),
    free: lib.func("void free(void *ptr)"),
    close: lib.func("int close(int fd)"),
  };
  return bound;
}

export function syscall(number: number, ...typedArgs: unknown[]): number | bigint {
  return libc().syscall(number, ...typedArgs);
}

export function malloc(size: number): bigint | null {
  return libc().malloc(size);
}

export function free(ptr: bigint): void {
  libc().free(ptr);
}

export function close(fd: number): number {
  return libc().close(fd);
}

/** errno as left by the last native call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/** A JS view of `length` bytes of native memory at `address` (no copy: writes go to native memory). */
export function viewNative(address: bigint, length: number): ArrayBuffer {
  return koffi.view(address, length);
}
