import { test } from "node:test";
import assert from "node:assert/strict";
import { ElfError, ElfFile, StringTable } from "../../src/elf/index.js";
import { BtfError } from "../../src/btf/errors.js";
import { parseBtf } from "../../src/btf/parse.js";
import { parseBtfExt } from "../../src/btf/ext.js";
import { readFixture } from "../btf/fixtures.js";
import { random } from "./random.js";

/** What a loader reads: every section, symbol and relocation, then BTF and .BTF.ext. */
function readObject(bytes: Uint8Array): void {
  const elf = new ElfFile(bytes);
  for (const section of elf.sections) elf.sectionData(section);
  elf.symbols();
  elf.relocationSections();
  const btfSection = elf.section(".BTF");
  if (btfSection === undefined) return;
  const btf = parseBtf(elf.sectionData(btfSection));
  const ext = elf.section(".BTF.ext");
  if (ext !== undefined) parseBtfExt(elf.sectionData(ext), btf);
}

test("mutated objects fail only with ElfError or BtfError", () => {
  const objects = [readFixture("values.bpf.o"), readFixture("core.bpf.o")];
  const next = random(42);
  const outcomes = { parsed: 0, elf: 0, btf: 0 };
  for (let round = 0; round < 4000; round++) {
    const original = objects[round % objects.length]!;
    const bytes = original.slice();
    const view = new DataView(bytes.buffer);
    const shoff = Number(view.getBigUint64(40, true));
    const flips = 1 + Math.floor(next() * 3);
    for (let i = 0; i < flips; i++) {
      const where = next();
      // Mostly the structural parts: ELF header, section header table; sometimes anywhere.
      const at =
        where < 0.3
          ? Math.floor(next() * 64)
          : where < 0.8
            ? shoff + Math.floor(next() * (bytes.length - shoff))
            : Math.floor(next() * bytes.length);
      bytes[at] = next() < 0.5 ? Math.floor(next() * 256) : bytes[at]! ^ (1 << Math.floor(next() * 8));
    }
    try {
      readObject(bytes);
      outcomes.parsed++;
    } catch (error) {
      if (error instanceof ElfError) outcomes.elf++;
      else if (error instanceof BtfError) outcomes.btf++;
      else throw new Error(`round ${round}: ${error instanceof Error ? error.stack : String(error)}`);
    }
  }
  assert.ok(outcomes.parsed > 0 && outcomes.elf > 0, JSON.stringify(outcomes));
});

test("string tables decode UTF-8 names and reject offsets outside or unterminated", () => {
  const bytes = Uint8Array.from([0, ...new TextEncoder().encode("naïve"), 0, 0x61, 0x62, 0, 0x7a]);
  const table = new StringTable(bytes);
  assert.equal(table.at(0), "");
  assert.equal(table.at(1), "naïve");
  assert.equal(table.at(3), "ïve");
  assert.equal(table.at(8), "ab");
  assert.equal(table.at(11), undefined, "unterminated");
  assert.equal(table.at(12), undefined, "outside");
  assert.equal(table.at(-1), undefined);
});
