// Native memory for system call arguments.
//
// A bpf_attr holds raw addresses of keys, values, instructions and log buffers. JS typed arrays may be
// moved by the garbage collector (small ones live on the V8 heap), so their addresses cannot be put
// inside a struct. Instead every argument is copied into one malloc'd block that never moves, laid out
// as slices, used for one call, and read back before the next call reuses the block.

import { free, malloc, viewNative } from "./libc.js";

export interface NativeSlice {
  readonly address: bigint;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

const SLICE_ALIGNMENT = 8;
/**
 * Spare bytes kept after the last slice. A caller that under-states an output size (a per-CPU map value
 * is value size × CPUs) then gets a wrong result rather than a corrupted malloc heap.
 */
const TRAILING_SLACK = 4096;
let blockAddress = 0n;
let blockSize = 0;
let blockBuffer: ArrayBuffer | undefined;

function ensureBlock(size: number): ArrayBuffer {
  if (blockBuffer && blockSize >= size) return blockBuffer;
  if (blockBuffer) free(blockAddress);
  blockBuffer = undefined;
  // Grow geometrically so a sequence of slightly larger requests does not reallocate every time.
  const wanted = Math.max(size, blockSize * 2, 4096);
  const address = malloc(wanted);
  if (address === null || address === 0n) throw new Error(`malloc(${wanted}) failed`);
  blockAddress = address;
  blockSize = wanted;
  blockBuffer = viewNative(address, wanted);
  return blockBuffer;
}

/**
 * Zeroed native slices of the given sizes, each 8-byte aligned, valid until the next call to this
 * function (the caller must copy out what it needs before making another system call through here).
 */
export function scratchSlices(sizes: readonly number[]): NativeSlice[] {
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += Math.ceil(Math.max(size, 1) / SLICE_ALIGNMENT) * SLICE_ALIGNMENT;
  }
  const buffer = ensureBlock(total + TRAILING_SLACK);
  new Uint8Array(buffer, 0, total).fill(0);
  return sizes.map((size, i) => {
    const offset = offsets[i]!;
    return {
      address: blockAddress + BigInt(offset),
      bytes: new Uint8Array(buffer, offset, size),
      view: new DataView(buffer, offset, size),
    };
  });
}
