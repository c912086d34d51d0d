// The interpreter's memory: a set of registered regions in a virtual 64-bit address space.
//
// Each region owns one value of the upper 32 address bits (its tag), so an address is (tag, offset) and
// translating it costs an array index and one bounds check. Regions never overlap and a region can be
// up to 4 GiB. Pointer arithmetic that leaves a region changes the tag or overflows the offset, and the
// next access through that pointer faults instead of touching a neighbour.

import { VmError } from "./errors.js";

export interface Region {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly writable: boolean;
  /** Upper 32 bits of every address inside the region. */
  readonly tag: number;
}

/** The first tag handed out; low tags stay unused so small integers are never valid pointers. */
export const FIRST_REGION_TAG = 0x100;
/** Tag of code addresses (BPF_PSEUDO_FUNC constants): the offset is a slot index, not a byte. */
export const CODE_TAG = 0xc0de;

export function codeAddress(slot: number): bigint {
  return (BigInt(CODE_TAG) << 32n) | BigInt(slot);
}

export class AddressSpace {
  /** Indexed by tag - FIRST_REGION_TAG; holes are undefined. */
  readonly regions: Array<Region | undefined> = [];

  /** Registers memory the program may access and returns the address of its first byte. */
  add(name: string, bytes: Uint8Array, writable = true): bigint {
    let slot = this.regions.indexOf(undefined);
    if (slot < 0) slot = this.regions.length;
    const tag = FIRST_REGION_TAG + slot;
    if (tag === CODE_TAG) throw new Error("too many memory regions");
    this.regions[slot] = {
      name,
      bytes,
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      writable,
      tag,
    };
    return BigInt(tag) << 32n;
  }

  remove(address: bigint): void {
    const slot = Number(address >> 32n) - FIRST_REGION_TAG;
    if (slot >= 0 && slot < this.regions.length) this.regions[slot] = undefined;
  }

  regionOf(tag: number): Region | undefined {
    return this.regions[tag - FIRST_REGION_TAG];
  }

  /**
   * A view of `length` bytes at `address`, for helpers. Throws a VmError when the range is not inside one
   * region, or when writing to a read-only one.
   */
  bytes(address: bigint, length: number, write = false): Uint8Array {
    const a = BigInt.asUintN(64, address);
    const tag = Number(a >> 32n);
    const offset = Number(a & 0xffffffffn);
    const region = this.regionOf(tag);
    if (!region || offset + length > region.bytes.length || length < 0) {
      throw new VmError(describeBadAccess(this, tag, offset, length, write));
    }
    if (write && !region.writable) throw new VmError(`write of ${length} bytes to read-only ${region.name}`);
    return region.bytes.subarray(offset, offset + length);
  }

  /** Reads a NUL-terminated string of at most `max` bytes (without the NUL). */
  cString(address: bigint, max = 4096): string {
    const a = BigInt.asUintN(64, address);
    const region = this.regionOf(Number(a >> 32n));
    const offset = Number(a & 0xffffffffn);
    if (!region || offset >= region.bytes.length) throw new VmError(describeBadAccess(this, Number(a >> 32n), offset, 1, false));
    const end = Math.min(region.bytes.length, offset + max);
    let stop = region.bytes.indexOf(0, offset);
    if (stop < 0 || stop > end) stop = end;
    return new TextDecoder().decode(region.bytes.subarray(offset, stop));
  }
}

export function formatAddress(tag: number, offset: number): string {
  return "0x" + (tag >>> 0).toString(16).padStart(8, "0") + (offset >>> 0).toString(16).padStart(8, "0");
}

/** One line saying why an access at (tag, offset) is not allowed. */
export function describeBadAccess(space: AddressSpace, tag: number, offset: number, size: number, write: boolean): string {
  const what = `${write ? "write" : "read"} of ${size} byte${size === 1 ? "" : "s"} at ${formatAddress(tag, offset)}`;
  const region = space.regionOf(tag);
  if (!region) return `${what}: not inside any registered memory region`;
  if (!region.writable && write) return `${what}: ${region.name} is read-only`;
  return `${what}: outside ${region.name} (offset ${offset >>> 0}, size ${region.bytes.length})`;
}
