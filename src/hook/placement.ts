// Where to put hook code: in a free gap of the target's address space close enough to the hooked function
// that a 5-byte `jmp rel32` reaches it (and RIP-relative operands of the displaced instructions can still be
// re-aimed with a disp32). The caller then maps the gap (mmap with the address as a hint and
// MAP_FIXED_NOREPLACE, in the target or locally).

export interface MappedRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** The ranges of a /proc/PID/maps text. */
export function parseMappedRanges(mapsText: string): MappedRange[] {
  const ranges: MappedRange[] = [];
  for (const line of mapsText.split("\n")) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s/.exec(line);
    if (match) ranges.push({ start: BigInt(`0x${match[1]}`), end: BigInt(`0x${match[2]}`) });
  }
  return ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

export interface GapOptions {
  /** Alignment of the returned address (default a 4 KiB page). */
  readonly alignment?: bigint;
  /**
   * Largest distance allowed between `anchor` and any byte of the region. Default 2 GiB less 16 MiB, which
   * leaves room for the displacements inside the region and for data near the anchor.
   */
  readonly reach?: bigint;
  /** Lowest usable address (vm.mmap_min_addr; default 64 KiB). */
  readonly lowest?: bigint;
  /** One past the highest usable address (default the 47-bit user space limit). */
  readonly highest?: bigint;
}

function alignUp(value: bigint, alignment: bigint): bigint {
  return ((value + alignment - 1n) / alignment) * alignment;
}

function alignDown(value: bigint, alignment: bigint): bigint {
  return (value / alignment) * alignment;
}

function distance(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

/**
 * The free, aligned address nearest to `anchor` where `size` bytes fit without overlapping any mapped range
 * and every byte is within `reach` of the anchor; undefined when there is none.
 */
export function findGapNear(ranges: readonly MappedRange[], anchor: bigint, size: bigint, options: GapOptions = {}): bigint | undefined {
  const alignment = options.alignment ?? 0x1000n;
  const reach = options.reach ?? 0x80000000n - 0x1000000n;
  const lowest = options.lowest ?? 0x10000n;
  const highest = options.highest ?? 0x7ffffffff000n;
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let best: bigint | undefined;
  let previousEnd = lowest;
  const consider = (gapStart: bigint, gapEnd: bigint): void => {
    const first = alignUp(gapStart, alignment);
    const last = alignDown(gapEnd - size, alignment);
    if (last < first) return;
    const wanted = anchor < first ? first : anchor > last ? last : alignDown(anchor, alignment);
    const candidate = wanted < first ? first : wanted;
    if (distance(candidate, anchor) > reach || distance(candidate + size, anchor) > reach) return;
    if (best === undefined || distance(candidate, anchor) < distance(best, anchor)) best = candidate;
  };
  for (const range of sorted) {
    if (range.start > previousEnd) consider(previousEnd, range.start < highest ? range.start : highest);
    if (range.end > previousEnd) previousEnd = range.end;
  }
  if (previousEnd < highest) consider(previousEnd, highest);
  return best;
}
