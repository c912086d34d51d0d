// Log2 histograms drawn the way bcc and libbpf-tools draw them (print_log2_hist):
//
//      usecs               : count    distribution
//          0 -> 1          : 3        |***                                     |
//          2 -> 3          : 40       |****************************************|
//
// Slot i counts values in [2^i, 2^(i+1) - 1]; slot 0 is drawn as "0 -> 1", as bcc draws it.

import type { Btf } from "../btf/btf.js";
import { resolveType } from "../btf/resolve.js";

const STARS = 40;

function stars(value: bigint, max: bigint, width: number): string {
  const filled = max === 0n ? 0 : Number(((value < max ? value : max) * BigInt(width)) / max);
  return "*".repeat(filled) + " ".repeat(width - filled) + (value > max ? "+" : "");
}

/**
 * The histogram as bcc prints it: a header, then one line per slot up to the last non-zero one, 40 stars
 * wide (20 for histograms with more than 33 slots, which also get wider number columns). Empty: "".
 */
export function formatLog2Histogram(slots: readonly bigint[], unit = "value"): string {
  let last = -1;
  let max = 0n;
  slots.forEach((v, i) => {
    if (v > 0n) last = i;
    if (v > max) max = v;
  });
  if (last < 0) return "";
  const narrow = last <= 32;
  const width = narrow ? 10 : 20;
  const starWidth = narrow ? STARS : STARS / 2;
  const lines = [`${" ".repeat(narrow ? 5 : 15)}${unit.padEnd(narrow ? 19 : 29)} : count    distribution`];
  for (let i = 0; i <= last; i++) {
    let low = (1n << BigInt(i + 1)) >> 1n;
    const high = (1n << BigInt(i + 1)) - 1n;
    if (low === high) low -= 1n;
    const value = slots[i]!;
    lines.push(`${low.toString().padStart(width)} -> ${high.toString().padEnd(width)} : ${value.toString().padEnd(8)} |${stars(value, max, starWidth)}|`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The slot counts of a map value that is a log2 histogram: a struct whose only member is an array of
 * integers named `slots` (libbpf-tools' `struct hist`), or a bare array of integers. Else undefined.
 */
export function histogramSlots(btf: Btf, valueTypeId: number, bytes: Uint8Array): bigint[] | undefined {
  let type = resolveType(btf, valueTypeId);
  let base = 0;
  if (type.kind === "struct") {
    const member = type.members.find((m) => m.name === "slots");
    if (!member || member.bitfieldSize !== 0) return undefined;
    base = member.bitOffset / 8;
    type = resolveType(btf, member.type);
  }
  if (type.kind !== "array") return undefined;
  const element = resolveType(btf, type.type);
  if (element.kind !== "int" || element.bits < 8) return undefined;
  const size = element.size;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots: bigint[] = [];
  for (let i = 0; i < type.nelems; i++) {
    const at = base + i * size;
    if (at + size > bytes.length) return undefined;
    slots.push(size === 8 ? view.getBigUint64(at, true) : size === 4 ? BigInt(view.getUint32(at, true)) : size === 2 ? BigInt(view.getUint16(at, true)) : BigInt(view.getUint8(at)));
  }
  return slots;
}
