// BPF objects embedded in host binaries. libbpf skeletons (every tool in Debian's libbpf-tools) carry their
// BPF ELF object as a byte array in .rodata; it is found by its magic and e_machine, and its length is
// recovered from its own headers, since the array's symbol is usually stripped.

import { viewOf } from "./bytes.js";
import { ELF64_HEADER_SIZE, ELFCLASS64, ELFDATA2LSB, EM_BPF } from "./constants.js";
import { ElfError } from "./errors.js";
import { ElfFile } from "./file.js";
import { hasElfMagic } from "./header.js";
import { hasFileData } from "./sections.js";

export interface EmbeddedElf {
  /** Offset of the embedded object in the searched bytes. */
  offset: number;
  size: number;
  /** A view of the object's bytes (no copy). */
  bytes: Uint8Array;
  elf: ElfFile;
}

/** Where an ELF object starting at the beginning of `bytes` ends: past its headers and every section. */
export function elfExtent(elf: ElfFile): number {
  let end = ELF64_HEADER_SIZE;
  const { header } = elf;
  end = Math.max(end, header.shoff + elf.sections.length * header.shentsize);
  end = Math.max(end, header.phoff + elf.segments.length * header.phentsize);
  for (const section of elf.sections) {
    if (hasFileData(section)) end = Math.max(end, section.offset + section.size);
  }
  return end;
}

function looksLikeBpfElf(bytes: Uint8Array, at: number): boolean {
  if (at + ELF64_HEADER_SIZE > bytes.length || !hasElfMagic(bytes, at)) return false;
  if (bytes[at + 4] !== ELFCLASS64 || bytes[at + 5] !== ELFDATA2LSB) return false;
  return viewOf(bytes).getUint16(at + 18, true) === EM_BPF;
}

/**
 * Finds every well-formed little-endian BPF ELF object (e_machine 247) inside `bytes`, e.g. a whole host
 * executable. Candidates whose headers do not parse are skipped: the magic can occur by chance in data.
 */
export function findEmbeddedBpfObjects(bytes: Uint8Array): EmbeddedElf[] {
  const found: EmbeddedElf[] = [];
  let at = bytes.indexOf(0x7f);
  while (at >= 0) {
    let next = at + 1;
    if (looksLikeBpfElf(bytes, at)) {
      const embedded = tryParseAt(bytes, at);
      if (embedded !== undefined) {
        found.push(embedded);
        next = at + embedded.size;
      }
    }
    at = bytes.indexOf(0x7f, next);
  }
  return found;
}

function tryParseAt(bytes: Uint8Array, at: number): EmbeddedElf | undefined {
  let elf: ElfFile;
  try {
    // Parse against everything after `at` first: the object's extent is only known from its headers.
    elf = new ElfFile(bytes.subarray(at));
  } catch (error) {
    if (error instanceof ElfError) return undefined;
    throw error;
  }
  const size = elfExtent(elf);
  const own = bytes.subarray(at, at + size);
  return { offset: at, size, bytes: own, elf: new ElfFile(own) };
}
