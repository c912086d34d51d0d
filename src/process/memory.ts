// Another process's memory through /proc/PID/mem. Writes there ignore page protections (the kernel forces
// them for a ptrace tracer or root), so this is how code is patched; process_vm_writev would get EFAULT on
// read-only text.

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { ProcessError, procAccessError } from "./errors.js";
import { taskFile } from "./tasks.js";

/**
 * A file position for `address`. It must be a number: Node's writeSync silently ignores a bigint position
 * and writes at the current offset instead. User-space addresses (< 2^47) are exact as numbers.
 */
function position(address: bigint, done: number): number {
  const at = address + BigInt(done);
  if (at < 0n || at > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`address 0x${at.toString(16)} is outside user space`);
  return Number(at);
}

export class ProcessMemory {
  private fd: number | undefined;

  /**
   * Opens the process's memory through thread `tid` (see taskFile). The file keeps the address space it was
   * opened on: after an exec in the target, open a new ProcessMemory.
   */
  constructor(
    readonly pid: number,
    tid?: number,
  ) {
    try {
      this.fd = openSync(taskFile(pid, tid, "mem"), "r+");
    } catch (error) {
      throw procAccessError(pid, error, "the memory");
    }
  }

  read(address: bigint, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const got = this.transfer("read", address, done, () => readSync(this.handle(), bytes, done, length - done, position(address, done)));
      // /proc/PID/mem reads nothing once the address space is gone: the process is exiting.
      if (got === 0) throw this.gone();
      done += got;
    }
    return bytes;
  }

  write(address: bigint, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const put = this.transfer("write", address, done, () => writeSync(this.handle(), bytes, done, bytes.length - done, position(address, done)));
      if (put === 0) throw this.gone();
      done += put;
    }
  }

  readU64(address: bigint): bigint {
    const bytes = this.read(address, 8);
    return new DataView(bytes.buffer).getBigUint64(0, true);
  }

  writeU64(address: bigint, value: bigint): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.write(address, bytes);
  }

  /** A NUL-terminated string of at most `limit` bytes. */
  readCString(address: bigint, limit = 4096): string {
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (total < limit) {
      // Read page by page so a string ending just before unmapped memory is still readable.
      const pageLeft = 4096 - Number((address + BigInt(total)) % 4096n);
      const chunk = this.read(address + BigInt(total), Math.min(pageLeft, limit - total));
      const nul = chunk.indexOf(0);
      if (nul >= 0) {
        chunks.push(chunk.subarray(0, nul));
        break;
      }
      chunks.push(chunk);
      total += chunk.length;
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private handle(): number {
    if (this.fd === undefined) throw new Error(`the memory of process ${this.pid} is closed`);
    return this.fd;
  }

  private transfer(what: "read" | "write", address: bigint, done: number, io: () => number): number {
    try {
      return io();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EIO" || code === "EFAULT") throw this.failure(what, address + BigInt(done), 1, "unmapped");
      if (code === "ESRCH") throw this.gone();
      throw error;
    }
  }

  private gone(): ProcessError {
    return new ProcessError("PROC_NO_PROCESS", `process ${this.pid} has exited`);
  }

  private failure(what: string, address: bigint, length: number, why: string): ProcessError {
    return new ProcessError("PROC_MEMORY", `cannot ${what} ${length} bytes at 0x${address.toString(16)} in process ${this.pid} (${why})`);
  }
}
