// The ELF64 file header. Only 64-bit little-endian files are accepted: that covers BPF objects (bpfel) and the
// x86-64 binaries bpftime-ts hooks; anything else is reported rather than misread.

import { readU64, viewOf } from "./bytes.js";
import {
  ELF64_HEADER_SIZE,
  ELF64_PROGRAM_HEADER_SIZE,
  ELF64_SECTION_HEADER_SIZE,
  ELF_MAGIC,
  ELFCLASS64,
  ELFDATA2LSB,
  EV_CURRENT,
} from "./constants.js";
import { ElfError } from "./errors.js";

export interface ElfHeader {
  /** ET_REL, ET_EXEC, ET_DYN, ... */
  type: number;
  /** EM_BPF, EM_X86_64, ... */
  machine: number;
  osAbi: number;
  entry: number;
  flags: number;
  phoff: number;
  phentsize: number;
  /** Program header count as stored (PN_XNUM means "see section 0"). */
  phnum: number;
  shoff: number;
  shentsize: number;
  /** Section header count as stored (0 with a non-zero shoff means "see section 0"). */
  shnum: number;
  /** Section name table index as stored (SHN_XINDEX means "see section 0"). */
  shstrndx: number;
}

/** True when `bytes` starts with the four ELF magic bytes. */
export function hasElfMagic(bytes: Uint8Array, at = 0): boolean {
  return ELF_MAGIC.every((b, i) => bytes[at + i] === b);
}

export function parseElfHeader(bytes: Uint8Array): ElfHeader {
  if (bytes.length < 4 || !hasElfMagic(bytes)) {
    const seen = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ElfError("ELF_BAD_MAGIC", `not an ELF file: the first bytes are [${seen}], expected [7f 45 4c 46]`);
  }
  if (bytes.length < ELF64_HEADER_SIZE) {
    throw new ElfError(
      "ELF_TRUNCATED",
      `ELF header truncated: the file is ${bytes.length} bytes, the ELF64 header needs ${ELF64_HEADER_SIZE}`,
    );
  }
  const elfClass = bytes[4];
  if (elfClass !== ELFCLASS64) {
    throw new ElfError("ELF_UNSUPPORTED", `ELF class ${elfClass} is not supported (only ELFCLASS64 = 2)`);
  }
  const data = bytes[5];
  if (data !== ELFDATA2LSB) {
    const what = data === 2 ? "big-endian (ELFDATA2MSB)" : `data encoding ${data}`;
    throw new ElfError("ELF_UNSUPPORTED", `ELF ${what} is not supported (only little-endian, ELFDATA2LSB = 1)`);
  }
  if (bytes[6] !== EV_CURRENT) {
    throw new ElfError("ELF_UNSUPPORTED", `ELF identification version ${bytes[6]} is not supported (expected 1)`);
  }
  const view = viewOf(bytes);
  const header: ElfHeader = {
    type: view.getUint16(16, true),
    machine: view.getUint16(18, true),
    osAbi: bytes[7] as number,
    entry: readU64(view, 24, () => "e_entry"),
    phoff: readU64(view, 32, () => "e_phoff"),
    shoff: readU64(view, 40, () => "e_shoff"),
    flags: view.getUint32(48, true),
    phentsize: view.getUint16(54, true),
    phnum: view.getUint16(56, true),
    shentsize: view.getUint16(58, true),
    shnum: view.getUint16(60, true),
    shstrndx: view.getUint16(62, true),
  };
  const version = view.getUint32(20, true);
  if (version !== EV_CURRENT) {
    throw new ElfError("ELF_UNSUPPORTED", `ELF e_version ${version} is not supported (expected 1)`);
  }
  const ehsize = view.getUint16(52, true);
  if (ehsize < ELF64_HEADER_SIZE) {
    throw new ElfError("ELF_BAD_ENTRY_SIZE", `e_ehsize is ${ehsize}, expected at least ${ELF64_HEADER_SIZE}`);
  }
  if (header.shoff !== 0 && header.shentsize !== ELF64_SECTION_HEADER_SIZE) {
    throw new ElfError(
      "ELF_BAD_ENTRY_SIZE",
      `e_shentsize is ${header.shentsize}, expected ${ELF64_SECTION_HEADER_SIZE} for ELF64 section headers`,
    );
  }
  if (header.phnum !== 0 && header.phentsize !== ELF64_PROGRAM_HEADER_SIZE) {
    throw new ElfError(
      "ELF_BAD_ENTRY_SIZE",
      `e_phentsize is ${header.phentsize}, expected ${ELF64_PROGRAM_HEADER_SIZE} for ELF64 program headers`,
    );
  }
  if (header.shoff === 0 && header.shnum !== 0) {
    throw new ElfError("ELF_BAD_INDEX", `e_shnum is ${header.shnum} but there is no section header table (e_shoff is 0)`);
  }
  return header;
}
