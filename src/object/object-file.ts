// Finding the BPF object a user points at: a .bpf.o file, or a program (such as Debian's libbpf-tools)
// that embeds its BPF object in its data, as libbpf skeletons do.

import { readFileSync } from "node:fs";
import { EM_BPF } from "../elf/constants.js";
import { findEmbeddedBpfObjects } from "../elf/embedded.js";
import { ElfError } from "../elf/errors.js";
import { hasElfMagic, parseElfHeader } from "../elf/header.js";
import { ObjectError } from "./errors.js";
import { loadObjectSpec, objectNameFromPath } from "./load.js";
import type { ObjectSpec } from "./spec.js";

export interface ObjectFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  /** Byte offset of the object inside `path` when it was embedded in a host binary. */
  readonly embeddedAt: number | undefined;
  readonly spec: ObjectSpec;
}

export function readObjectFile(path: string): ObjectFile {
  let file: Uint8Array;
  try {
    file = new Uint8Array(readFileSync(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ObjectError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (error as Error).message}`, "OBJ_READ");
  }
  const name = objectNameFromPath(path);
  const withPath = <T>(load: () => T): T => {
    try {
      return load();
    } catch (error) {
      if (error instanceof ObjectError) throw new ObjectError(`${path}: ${error.message}`, error.code);
      throw error;
    }
  };
  if (!hasElfMagic(file)) throw new ObjectError(`${path}: not an ELF file`, "OBJ_NOT_ELF");
  const header = withPath(() => {
    try {
      return parseElfHeader(file);
    } catch (error) {
      throw new ObjectError(`malformed ELF: ${(error as Error).message}`, error instanceof ElfError ? error.code : "OBJ_MALFORMED");
    }
  });
  if (header.machine === EM_BPF) return { path, bytes: file, embeddedAt: undefined, spec: withPath(() => loadObjectSpec(file, { name })) };
  const embedded = findEmbeddedBpfObjects(file);
  const only = embedded[0];
  if (!only) throw new ObjectError(`${path}: an ELF file for machine ${header.machine}, not BPF (${EM_BPF}), and no BPF object is embedded in it`, "OBJ_NOT_BPF");
  if (embedded.length > 1) throw new ObjectError(`${path}: ${embedded.length} BPF objects are embedded (at ${embedded.map((e) => "0x" + e.offset.toString(16)).join(", ")}); extract one first`);
  return { path, bytes: only.bytes, embeddedAt: only.offset, spec: withPath(() => loadObjectSpec(only.bytes, { name })) };
}
