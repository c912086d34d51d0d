// Finding functions of this process's vDSO (the kernel's shared object mapped into every process), so
// generated code can call clock_gettime without entering the kernel: the vDSO's base comes from the
// auxiliary vector (AT_SYSINFO_EHDR), its extent from /proc/self/maps, its symbols from its ELF .dynsym.
// The vDSO sits at a different address in every process (ASLR), so the addresses found here are only
// valid in the process that looked them up.

import { readFileSync } from "node:fs";
import koffi from "koffi";
import { ElfFile } from "../../elf/file.js";
import { PT_LOAD } from "../../elf/constants.js";

const AT_NULL = 0;
const AT_SYSINFO_EHDR = 33;

/** The vDSO's load address from /proc/self/auxv, or undefined if the kernel gave none. */
export function vdsoBase(auxv: Uint8Array = readFileSync("/proc/self/auxv")): bigint | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  for (let at = 0; at + 16 <= auxv.length; at += 16) {
    const type = view.getBigUint64(at, true);
    if (type === BigInt(AT_NULL)) break;
    if (type === BigInt(AT_SYSINFO_EHDR)) return view.getBigUint64(at + 8, true);
  }
  return undefined;
}

/** Bytes mapped at the vDSO's base, from the `[vdso]` line of /proc/self/maps. */
function vdsoLength(base: bigint): number | undefined {
  for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s/.exec(line);
    if (match && BigInt(`0x${match[1]}`) === base) return Number(BigInt(`0x${match[2]}`) - base);
  }
  return undefined;
}

export interface Vdso {
  readonly base: bigint;
  /** Address of a dynamic symbol (`__vdso_clock_gettime`, ...), or undefined. */
  symbol(name: string): bigint | undefined;
}

let cached: Vdso | null | undefined;

/** This process's vDSO, or undefined where there is none (or it cannot be read). */
export function thisProcessVdso(): Vdso | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  const base = vdsoBase();
  const length = base === undefined ? undefined : vdsoLength(base);
  if (base === undefined || length === undefined) return undefined;
  const image = new Uint8Array(koffi.view(base, length)).slice();
  const elf = ElfFile.parse(image);
  // Symbol values are link-time addresses; the first PT_LOAD says where the image was linked.
  const linkBase = elf.segments.find((s) => s.type === PT_LOAD)?.vaddr ?? 0;
  const symbols = new Map<string, number>();
  for (const s of elf.dynamicSymbols()) if (s.value !== 0) symbols.set(s.name, s.value);
  cached = {
    base,
    symbol: (name) => {
      const value = symbols.get(name);
      return value === undefined ? undefined : base + BigInt(value - linkBase);
    },
  };
  return cached;
}
