// How map operations fail.
//
// One convention everywhere in src/maps: an element operation returns a number, >= 0 on success and
// -errno on failure, exactly as the kernel's helpers and map ops do (the errno values are Linux's). This
// keeps the hot paths free of allocation and exceptions, lets the interpreter hand the number straight
// back to a program as r0, and is the contract generated native code follows too. Creating or opening a
// map, which has no number to return, throws a MapError carrying the same errno, as bpf(BPF_MAP_CREATE)
// would have failed; `mapErrorFrom` turns a negative result into one for callers that prefer exceptions
// (the CLI).

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  /** The kernel-internal "operation not supported" that bpf() leaks to userspace for unsupported map ops. */
  ENOTSUPP: 524,
} as const;

const names = new Map<number, string>(Object.entries(Errno).map(([name, value]) => [value, name]));

export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

export class MapError extends Error {
  override name = "MapError";
  constructor(
    /** A positive errno. */
    readonly errno: number,
    message: string,
  ) {
    super(`${message}: ${errnoName(errno)}`);
  }

  get code(): string {
    return errnoName(this.errno);
  }
}

/** A MapError for a negative operation result (`what` says which operation, e.g. "update of map 'counts'"). */
export function mapErrorFrom(result: number, what: string): MapError {
  return new MapError(-result, what);
}
