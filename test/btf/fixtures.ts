// Paths and loaders for the committed BTF fixtures (built by scripts/build-btf-fixtures.sh).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ElfFile } from "../../src/elf/index.js";
import { parseBtf } from "../../src/btf/parse.js";
import type { Btf } from "../../src/btf/btf.js";

// Compiled tests run from dist/test/btf/, three levels below the repository root.
const fixtureDir = new URL("../../../test/fixtures/btf/", import.meta.url);

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(name, fixtureDir));
}

export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export function fixtureText(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

export function fixtureObject(name: string): { elf: ElfFile; btf: Btf } {
  const elf = new ElfFile(readFixture(name));
  return { elf, btf: parseBtf(elf.sectionData(".BTF")) };
}
