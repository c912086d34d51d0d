// The session arena: one shared-memory file (/dev/shm/bpftime-<session>, mode 0600) holding everything the
// data plane needs — maps, the trace ring, program tables and the generated code — mapped at the same
// address in the CLI and in every target process. One address everywhere means generated code can use
// absolute addresses for maps and helpers, with no relocation per process.
//
// Layout (offsets in the file, each area page-aligned):
//   [0, dataSize)            read-write data: the header page, then maps, rings and tables (bump-allocated)
//   [dataSize, size)         code: JIT'd programs and native helpers; read+execute in targets, written only
//                            by the CLI through its own read-write mapping of the same file
//
// Header page (little-endian):
//   0x00 u64 magic "BPFTIMEA"   0x08 u32 layout version   0x0c u32 header size
//   0x10 u64 base address       0x18 u64 total size       0x20 u64 data size
//   0x28 u32 owner pid (the `load` process)               0x2c u32 reserved
//   0x30 u64 data bump offset   0x38 u64 code bump offset
//   0x100.. NUL-terminated path of the session descriptor (JSON, for the control plane)

import { closeSync, fchmodSync, ftruncateSync, openSync, readSync, unlinkSync } from "node:fs";
import { MmapError, mmapFixedShared, munmap, nativeBytes, PAGE_SIZE, Prot } from "../native/mman.js";

export const ARENA_MAGIC = 0x4145_4d49_5446_5042n; // "BPFTIMEA" little-endian
export const ARENA_VERSION = 1;

const Field = { magic: 0x00, version: 0x08, headerSize: 0x0c, base: 0x10, size: 0x18, dataSize: 0x20, ownerPid: 0x28, dataBump: 0x30, codeBump: 0x38, descriptor: 0x100 } as const;

/** Where arenas are placed: 1 GiB-aligned addresses in a part of the address space mmap rarely uses. */
const BASE_LOW = 0x5000_0000_0000n;
const BASE_SLOTS = 4096n;
const BASE_STEP = 1n << 30n;

export interface ArenaSizes {
  /** Bytes for maps, rings and tables (the header page is added). */
  readonly data: number;
  /** Bytes for generated code. */
  readonly code: number;
}

export interface ArenaAllocation {
  readonly offset: number;
  readonly address: bigint;
  readonly bytes: Uint8Array;
}

const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

export class ArenaError extends Error {
  override name = "ArenaError";
  readonly code = "ARENA";
}

export class Arena {
  private constructor(
    readonly path: string,
    readonly fd: number,
    readonly base: bigint,
    readonly size: number,
    readonly dataSize: number,
    /** The CLI's read-write mapping of the whole file (code included). */
    readonly bytes: Uint8Array,
  ) {}

  private get view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, 0x200);
  }

  get codeSize(): number {
    return this.size - this.dataSize;
  }

  /** Creates the file, sizes it and maps it read-write at a free fixed address in this process. */
  static create(name: string, sizes: ArenaSizes): Arena {
    const path = `/dev/shm/bpftime-${name}`;
    const dataSize = pageAlign(PAGE_SIZE + sizes.data);
    const size = dataSize + pageAlign(Math.max(sizes.code, PAGE_SIZE));
    let fd: number;
    try {
      fd = openSync(path, "wx+", 0o600);
    } catch (error) {
      throw new ArenaError(`cannot create the session arena ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      fchmodSync(fd, 0o600);
      ftruncateSync(fd, size);
      const base = mapAtFreeBase(fd, size);
      const arena = new Arena(path, fd, base, size, dataSize, nativeBytes(base, size));
      const v = arena.view;
      v.setBigUint64(Field.magic, ARENA_MAGIC, true);
      v.setUint32(Field.version, ARENA_VERSION, true);
      v.setUint32(Field.headerSize, PAGE_SIZE, true);
      v.setBigUint64(Field.base, base, true);
      v.setBigUint64(Field.size, BigInt(size), true);
      v.setBigUint64(Field.dataSize, BigInt(dataSize), true);
      v.setUint32(Field.ownerPid, process.pid, true);
      v.setBigUint64(Field.dataBump, BigInt(PAGE_SIZE), true);
      v.setBigUint64(Field.codeBump, BigInt(dataSize), true);
      return arena;
    } catch (error) {
      closeSync(fd);
      unlinkSync(path);
      throw error;
    }
  }

  /** Maps an existing arena (created by another `bpftime` process) at its recorded base address. */
  static open(path: string): Arena {
    const fd = openSync(path, "r+");
    try {
      const header = new Uint8Array(0x200);
      const probe = readHeader(fd, header);
      const bytes = nativeBytes(mapAt(fd, probe.base, probe.size), probe.size);
      return new Arena(path, fd, probe.base, probe.size, probe.dataSize, bytes);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Reserves page-aligned data bytes (maps want their regions page-aligned for the kernel layouts). */
  allocateData(size: number, align = 8): ArenaAllocation {
    return this.allocate(Field.dataBump, this.dataSize, size, align);
  }

  allocateCode(size: number, align = 16): ArenaAllocation {
    return this.allocate(Field.codeBump, this.size, size, align);
  }

  private allocate(field: number, limit: number, size: number, align: number): ArenaAllocation {
    const v = this.view;
    const offset = Math.ceil(Number(v.getBigUint64(field, true)) / align) * align;
    if (offset + size > limit) {
      const area = field === Field.dataBump ? "data" : "code";
      throw new ArenaError(`the session arena's ${area} area is full (${size} more bytes needed at ${offset} of ${limit})`);
    }
    v.setBigUint64(field, BigInt(offset + size), true);
    return { offset, address: this.base + BigInt(offset), bytes: this.bytes.subarray(offset, offset + size) };
  }

  setDescriptorPath(path: string): void {
    const encoded = new TextEncoder().encode(path + "\0");
    this.bytes.set(encoded.subarray(0, PAGE_SIZE - Field.descriptor), Field.descriptor);
  }

  /** Unmaps it here; with `remove`, deletes the file (targets keep their mappings until they exit). */
  close(remove: boolean): void {
    munmap(this.base, this.size);
    closeSync(this.fd);
    if (remove) unlinkSync(this.path);
  }
}

function readHeader(fd: number, header: Uint8Array): { base: bigint; size: number; dataSize: number } {
  readSync(fd, header, 0, header.length, 0);
  const v = new DataView(header.buffer);
  if (v.getBigUint64(Field.magic, true) !== ARENA_MAGIC) throw new ArenaError("not a bpftime session arena (bad magic)");
  if (v.getUint32(Field.version, true) !== ARENA_VERSION) throw new ArenaError(`session arena layout version ${v.getUint32(Field.version, true)} is not ${ARENA_VERSION}`);
  return { base: v.getBigUint64(Field.base, true), size: Number(v.getBigUint64(Field.size, true)), dataSize: Number(v.getBigUint64(Field.dataSize, true)) };
}

function mapAt(fd: number, base: bigint, size: number): bigint {
  try {
    return mmapFixedShared(base, size, Prot.READ | Prot.WRITE, fd);
  } catch (error) {
    if (error instanceof MmapError) throw new ArenaError(`cannot map the session arena at 0x${base.toString(16)}: the address is in use (errno ${error.errno})`);
    throw error;
  }
}

function mapAtFreeBase(fd: number, size: number): bigint {
  const start = BigInt(Math.floor(Math.random() * Number(BASE_SLOTS)));
  for (let i = 0n; i < 64n; i++) {
    const base = BASE_LOW + ((start + i * 97n) % BASE_SLOTS) * BASE_STEP;
    try {
      return mmapFixedShared(base, size, Prot.READ | Prot.WRITE, fd);
    } catch (error) {
      if (!(error instanceof MmapError)) throw error;
    }
  }
  throw new ArenaError("no free address for the session arena");
}
