// The bpf() system call: maps, program loading and BPF_PROG_TEST_RUN, as used by the kernel oracle
// tests and (later) the kernel backend. Every union bpf_attr variant is laid out by hand with explicit
// offsets from include/uapi/linux/bpf.h; the kernel zero-checks the bytes past the fields it is given.

import { encodeProgram, type Insn } from "../isa/instruction.js";
import { BPF_OBJ_NAME_LEN, BpfCommand, SYS_BPF_X86_64 } from "./bpf-constants.js";
import { close as libcClose, lastErrno, syscall } from "./libc.js";
import { scratchSlices, type NativeSlice } from "./native-scratch.js";
import { Errno, SyscallError } from "./syscall-error.js";

const commandNames = new Map<number, string>(Object.entries(BpfCommand).map(([name, value]) => [value, `BPF_${name}`]));

/** A failed bpf() command. `log` holds the verifier log when BPF_PROG_LOAD was rejected. */
export class BpfError extends SyscallError {
  override name = "BpfError";
  constructor(
    readonly command: number,
    errno: number,
    readonly log = "",
  ) {
    super(`bpf(${commandNames.get(command) ?? command})`, errno, log ? lastLogLine(log) : undefined);
  }
}

/** The line of a verifier log that says why: the last one before the closing statistics. */
function lastLogLine(log: string): string {
  const lines = log.trimEnd().split("\n").filter((line) => !/^(processed \d+ insns|verification time)/.test(line));
  return lines[lines.length - 1] ?? "";
}

/** Runs one bpf() command on an attr laid out in native memory; returns the non-negative result. */
function bpf(command: number, attr: NativeSlice): number {
  const result = Number(syscall(SYS_BPF_X86_64, "long", command, "void *", attr.address, "unsigned long", attr.bytes.length));
  if (result < 0) throw new BpfError(command, lastErrno());
  return result;
}

function writeName(view: DataView, offset: number, name: string | undefined, what: string): void {
  if (name === undefined) return;
  // The kernel accepts only these characters and needs room for the terminating NUL.
  if (name.length >= BPF_OBJ_NAME_LEN || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new RangeError(`${what} name '${name}' must be at most ${BPF_OBJ_NAME_LEN - 1} characters of [A-Za-z0-9_.]`);
  }
  for (let i = 0; i < name.length; i++) view.setUint8(offset + i, name.charCodeAt(i));
}

/** Closes a map or program fd. */
export function closeFd(fd: number): void {
  if (libcClose(fd) < 0) throw new SyscallError(`close(${fd})`, lastErrno());
}

// ---- maps -------------------------------------------------------------------------------------------

export interface MapCreateOptions {
  /** A BpfMapType value. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BpfMapFlag bits. */
  flags?: number;
  /** At most 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  /** For map-in-map types: a map whose shape the inner maps must have. */
  innerMapFd?: number;
  /** Per-type extra (bloom filter: number of hash functions). */
  mapExtra?: bigint;
}

const MAP_CREATE = {
  mapType: 0,
  keySize: 4,
  valueSize: 8,
  maxEntries: 12,
  mapFlags: 16,
  innerMapFd: 20,
  mapName: 28,
  mapExtra: 64,
  size: 72,
} as const;

/** Creates a map and returns its fd. */
export function createMap(options: MapCreateOptions): number {
  const [attr] = scratchSlices([MAP_CREATE.size]) as [NativeSlice];
  const v = attr.view;
  v.setUint32(MAP_CREATE.mapType, options.type, true);
  v.setUint32(MAP_CREATE.keySize, options.keySize, true);
  v.setUint32(MAP_CREATE.valueSize, options.valueSize, true);
  v.setUint32(MAP_CREATE.maxEntries, options.maxEntries, true);
  v.setUint32(MAP_CREATE.mapFlags, options.flags ?? 0, true);
  v.setUint32(MAP_CREATE.innerMapFd, options.innerMapFd ?? 0, true);
  writeName(v, MAP_CREATE.mapName, options.name, "map");
  v.setBigUint64(MAP_CREATE.mapExtra, options.mapExtra ?? 0n, true);
  return bpf(BpfCommand.MAP_CREATE, attr);
}

const MAP_ELEM = { mapFd: 0, key: 8, valueOrNextKey: 16, flags: 24, size: 32 } as const;

/** Lays out a map element command: attr, key, and a value/next-key buffer. */
function elemCall(
  command: number,
  fd: number,
  key: Uint8Array | undefined,
  valueBytes: number,
  value?: Uint8Array,
  flags = 0n,
): Uint8Array | undefined {
  const [attr, keySlice, valueSlice] = scratchSlices([MAP_ELEM.size, key?.length ?? 0, valueBytes]) as [NativeSlice, NativeSlice, NativeSlice];
  attr.view.setUint32(MAP_ELEM.mapFd, fd, true);
  if (key) {
    keySlice.bytes.set(key);
    attr.view.setBigUint64(MAP_ELEM.key, keySlice.address, true);
  }
  if (valueBytes > 0) {
    if (value) valueSlice.bytes.set(value);
    attr.view.setBigUint64(MAP_ELEM.valueOrNextKey, valueSlice.address, true);
  }
  attr.view.setBigUint64(MAP_ELEM.flags, flags, true);
  bpf(command, attr);
  return valueBytes > 0 ? valueSlice.bytes.slice() : undefined;
}

/**
 * The value stored under `key`; throws BpfError ENOENT when there is none. For per-CPU maps
 * `valueSize` must be the whole per-CPU array: round_up(value size, 8) × possible CPUs.
 */
export function mapLookup(fd: number, key: Uint8Array, valueSize: number, flags = 0): Uint8Array {
  return elemCall(BpfCommand.MAP_LOOKUP_ELEM, fd, key, valueSize, undefined, BigInt(flags))!;
}

/** Like mapLookup, but undefined instead of ENOENT. */
export function mapLookupOptional(fd: number, key: Uint8Array, valueSize: number): Uint8Array | undefined {
  try {
    return mapLookup(fd, key, valueSize);
  } catch (error) {
    if (error instanceof BpfError && error.errno === Errno.ENOENT) return undefined;
    throw error;
  }
}

/**
 * Stores `value` under `key`; `flags` is a BpfUpdateFlag (ANY, NOEXIST → EEXIST, EXIST → ENOENT). The
 * kernel reads the map's whole value size, so `value` must be exactly that long.
 */
export function mapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): void {
  // The value is passed with its own length: the kernel reads exactly the map's value size from it.
  elemCall(BpfCommand.MAP_UPDATE_ELEM, fd, key, value.length, value, BigInt(flags));
}

/** Deletes `key`; throws ENOENT if absent (and EINVAL for array maps, whose elements cannot be deleted). */
export function mapDelete(fd: number, key: Uint8Array): void {
  elemCall(BpfCommand.MAP_DELETE_ELEM, fd, key, 0);
}

/**
 * The key after `key` in the map's iteration order, or the first key when `key` is undefined (or not
 * in the map, for hash maps). Throws ENOENT after the last key.
 */
export function mapGetNextKey(fd: number, key: Uint8Array | undefined, keySize: number): Uint8Array {
  return elemCall(BpfCommand.MAP_GET_NEXT_KEY, fd, key, keySize)!;
}

/** Every key of a map, in the kernel's iteration order. */
export function mapKeys(fd: number, keySize: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  let key: Uint8Array | undefined;
  for (;;) {
    try {
      key = mapGetNextKey(fd, key, keySize);
    } catch (error) {
      if (error instanceof BpfError && error.errno === Errno.ENOENT) return keys;
      throw error;
    }
    keys.push(key);
  }
}

// ---- programs ---------------------------------------------------------------------------------------

export interface ProgramLoadOptions {
  /** A kernel program type id (BPF_PROG_TYPE_*, the ProgType enum of object/section-names). */
  type: number;
  insns: readonly Insn[] | Uint8Array;
  license: string;
  /** Verifier log level: 0 (default: no log unless the load fails), 1, 2 (every state), 4 (stats). */
  logLevel?: number;
  /** Log buffer bytes when a log is asked for; defaults to 1 MiB (16 MiB for level 2). */
  logSize?: number;
  /** At most 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  /** BpfProgFlag bits. */
  flags?: number;
  expectedAttachType?: number;
}

const PROG_LOAD = {
  progType: 0,
  insnCnt: 4,
  insns: 8,
  license: 16,
  logLevel: 24,
  logSize: 28,
  logBuf: 32,
  progFlags: 44,
  progName: 48,
  expectedAttachType: 68,
  size: 144,
} as const;

/** Fallback log level for explaining a failed load that was attempted without a log. */
const EXPLAIN_LOG_LEVEL = 1;

function loadOnce(options: ProgramLoadOptions, code: Uint8Array, logLevel: number): { fd: number; log: string; errno: number } {
  const logSize = logLevel === 0 ? 0 : (options.logSize ?? (logLevel & 2 ? 16 << 20 : 1 << 20));
  const license = new TextEncoder().encode(options.license + "\0");
  const [attr, insns, licenseSlice, logSlice] = scratchSlices([PROG_LOAD.size, code.length, license.length, logSize]) as [
    NativeSlice,
    NativeSlice,
    NativeSlice,
    NativeSlice,
  ];
  insns.bytes.set(code);
  licenseSlice.bytes.set(license);
  const v = attr.view;
  v.setUint32(PROG_LOAD.progType, options.type, true);
  v.setUint32(PROG_LOAD.insnCnt, code.length / 8, true);
  v.setBigUint64(PROG_LOAD.insns, insns.address, true);
  v.setBigUint64(PROG_LOAD.license, licenseSlice.address, true);
  if (logSize > 0) {
    v.setUint32(PROG_LOAD.logLevel, logLevel, true);
    v.setUint32(PROG_LOAD.logSize, logSize, true);
    v.setBigUint64(PROG_LOAD.logBuf, logSlice.address, true);
  }
  v.setUint32(PROG_LOAD.progFlags, options.flags ?? 0, true);
  writeName(v, PROG_LOAD.progName, options.name, "program");
  v.setUint32(PROG_LOAD.expectedAttachType, options.expectedAttachType ?? 0, true);
  const result = Number(syscall(SYS_BPF_X86_64, "long", BpfCommand.PROG_LOAD, "void *", attr.address, "unsigned long", PROG_LOAD.size));
  const errno = result < 0 ? lastErrno() : 0;
  return { fd: result, log: logSize > 0 ? readCString(logSlice.bytes) : "", errno };
}

function readCString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/**
 * Loads a program and returns its fd and the verifier log (empty at log level 0). On rejection throws
 * a BpfError whose `log` explains why: a load without a log is retried once with log level 1, since the
 * fast path (no log) is what batch callers want and only failures need explaining.
 */
export function loadProgramWithLog(options: ProgramLoadOptions): { fd: number; log: string } {
  const code = options.insns instanceof Uint8Array ? options.insns : encodeProgram(options.insns);
  if (code.length === 0 || code.length % 8 !== 0) throw new RangeError(`program of ${code.length} bytes is not a whole number of instructions`);
  const level = options.logLevel ?? 0;
  const first = loadOnce(options, code, level);
  if (first.fd >= 0) return { fd: first.fd, log: first.log };
  if (level !== 0) throw new BpfError(BpfCommand.PROG_LOAD, first.errno, first.log);
  const explained = loadOnce(options, code, EXPLAIN_LOG_LEVEL);
  // Should the load with a log succeed where the one without failed, the first failure still stands.
  if (explained.fd >= 0) closeFd(explained.fd);
  throw new BpfError(BpfCommand.PROG_LOAD, first.errno, explained.log);
}

/** Loads a program and returns its fd; throws BpfError (with the verifier log) on rejection. */
export function loadProgram(options: ProgramLoadOptions): number {
  return loadProgramWithLog(options).fd;
}

// ---- BPF_PROG_TEST_RUN ------------------------------------------------------------------------------

export interface TestRunOptions {
  progFd: number;
  dataIn?: Uint8Array;
  /** Room for the output packet; defaults to the input size plus 512 bytes of headroom growth. */
  dataSizeOut?: number;
  ctxIn?: Uint8Array;
  /** Room for the output context; defaults to the input context size. */
  ctxSizeOut?: number;
  /** Runs to average `durationNs` over; 0 and 1 both mean one run. */
  repeat?: number;
  flags?: number;
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value, truncated to 32 bits by the kernel ABI. */
  retval: number;
  /** Mean nanoseconds per run, as measured by the kernel. */
  durationNs: number;
  dataOut: Uint8Array;
  ctxOut: Uint8Array;
}

const TEST_RUN = {
  progFd: 0,
  retval: 4,
  dataSizeIn: 8,
  dataSizeOut: 12,
  dataIn: 16,
  dataOut: 24,
  repeat: 32,
  duration: 36,
  ctxSizeIn: 40,
  ctxSizeOut: 44,
  ctxIn: 48,
  ctxOut: 56,
  flags: 64,
  cpu: 68,
  size: 80,
} as const;

const DEFAULT_DATA_OUT_GROWTH = 512;

/** Runs a loaded program once (or `repeat` times) on the given packet and/or context. */
export function testRun(options: TestRunOptions): TestRunResult {
  const dataIn = options.dataIn ?? new Uint8Array(0);
  const ctxIn = options.ctxIn ?? new Uint8Array(0);
  const dataOutSize = options.dataSizeOut ?? (dataIn.length > 0 ? dataIn.length + DEFAULT_DATA_OUT_GROWTH : 0);
  const ctxOutSize = options.ctxSizeOut ?? ctxIn.length;
  const [attr, dataInSlice, dataOutSlice, ctxInSlice, ctxOutSlice] = scratchSlices([
    TEST_RUN.size,
    dataIn.length,
    dataOutSize,
    ctxIn.length,
    ctxOutSize,
  ]) as [NativeSlice, NativeSlice, NativeSlice, NativeSlice, NativeSlice];
  const v = attr.view;
  v.setUint32(TEST_RUN.progFd, options.progFd, true);
  /** Points a size/address field pair at a slice; an empty buffer stays NULL with size 0. */
  const attach = (sizeAt: number, addressAt: number, slice: NativeSlice, size: number, input?: Uint8Array): void => {
    if (size === 0) return;
    if (input) slice.bytes.set(input);
    v.setUint32(sizeAt, size, true);
    v.setBigUint64(addressAt, slice.address, true);
  };
  attach(TEST_RUN.dataSizeIn, TEST_RUN.dataIn, dataInSlice, dataIn.length, dataIn);
  attach(TEST_RUN.dataSizeOut, TEST_RUN.dataOut, dataOutSlice, dataOutSize);
  attach(TEST_RUN.ctxSizeIn, TEST_RUN.ctxIn, ctxInSlice, ctxIn.length, ctxIn);
  attach(TEST_RUN.ctxSizeOut, TEST_RUN.ctxOut, ctxOutSlice, ctxOutSize);
  v.setUint32(TEST_RUN.repeat, options.repeat ?? 0, true);
  v.setUint32(TEST_RUN.flags, options.flags ?? 0, true);
  v.setUint32(TEST_RUN.cpu, options.cpu ?? 0, true);
  bpf(BpfCommand.PROG_TEST_RUN, attr);
  const dataOutLength = Math.min(v.getUint32(TEST_RUN.dataSizeOut, true), dataOutSize);
  const ctxOutLength = Math.min(v.getUint32(TEST_RUN.ctxSizeOut, true), ctxOutSize);
  return {
    retval: v.getUint32(TEST_RUN.retval, true),
    durationNs: v.getUint32(TEST_RUN.duration, true),
    dataOut: dataOutSlice.bytes.slice(0, dataOutLength),
    ctxOut: ctxOutSlice.bytes.slice(0, ctxOutLength),
  };
}
