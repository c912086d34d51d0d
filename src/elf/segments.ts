// Program headers (segments): what a loader maps. Needed later to turn a symbol's virtual address into a file
// offset in executables and shared libraries.

import { checkInFile, readU64, viewOf } from "./bytes.js";
import { ELF64_PROGRAM_HEADER_SIZE, PN_XNUM, PT_LOAD } from "./constants.js";
import type { ElfHeader } from "./header.js";
import type { ElfSection } from "./sections.js";

export interface ElfSegment {
  index: number;
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

export function parseSegments(bytes: Uint8Array, header: ElfHeader, sections: readonly ElfSection[]): ElfSegment[] {
  const count = header.phnum === PN_XNUM ? (sections[0]?.info ?? 0) : header.phnum;
  if (count === 0) return [];
  checkInFile(header.phoff, count * ELF64_PROGRAM_HEADER_SIZE, bytes.length, () => `program header table (${count} entries)`);
  const view = viewOf(bytes);
  const segments: ElfSegment[] = [];
  for (let index = 0; index < count; index++) {
    const at = header.phoff + index * ELF64_PROGRAM_HEADER_SIZE;
    const field = (name: string) => () => `segment ${index}: ${name}`;
    const segment: ElfSegment = {
      index,
      type: view.getUint32(at, true),
      flags: view.getUint32(at + 4, true),
      offset: readU64(view, at + 8, field("p_offset")),
      vaddr: readU64(view, at + 16, field("p_vaddr")),
      paddr: readU64(view, at + 24, field("p_paddr")),
      filesz: readU64(view, at + 32, field("p_filesz")),
      memsz: readU64(view, at + 40, field("p_memsz")),
      align: readU64(view, at + 48, field("p_align")),
    };
    if (segment.filesz > 0) {
      checkInFile(segment.offset, segment.filesz, bytes.length, () => `segment ${index} (type ${segment.type}): data`);
    }
    segments.push(segment);
  }
  return segments;
}

/** The file offset holding virtual address `vaddr`, found through the PT_LOAD segment that maps it. */
export function vaddrToFileOffset(segments: readonly ElfSegment[], vaddr: number): number | undefined {
  for (const segment of segments) {
    if (segment.type === PT_LOAD && vaddr >= segment.vaddr && vaddr < segment.vaddr + segment.filesz) {
      return segment.offset + (vaddr - segment.vaddr);
    }
  }
  return undefined;
}
