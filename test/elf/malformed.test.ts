import { test } from "node:test";
import assert from "node:assert/strict";
import { ElfError, ElfFile, type ElfErrorCode } from "../../src/elf/index.js";
import { readFixture } from "../btf/fixtures.js";

const original = readFixture("values.bpf.o");
const headerView = new DataView(original.buffer, original.byteOffset, original.byteLength);
const shoff = Number(headerView.getBigUint64(40, true));

/** Everything a loader would read from the file: all sections, symbols and relocations. */
function readEverything(bytes: Uint8Array): void {
  const elf = new ElfFile(bytes);
  for (const section of elf.sections) elf.sectionData(section);
  elf.symbols();
  elf.dynamicSymbols();
  elf.relocationSections();
}

function expectElfError(bytes: Uint8Array, code: ElfErrorCode, message: RegExp | string): void {
  assert.throws(
    () => readEverything(bytes),
    (error: unknown) => {
      assert.ok(error instanceof ElfError, `expected an ElfError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      if (typeof message === "string") assert.equal(error.message, message);
      else assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    },
  );
}

/** A copy of the fixture with `edit` applied through a DataView. */
function corrupt(edit: (view: DataView) => void): Uint8Array {
  const bytes = original.slice();
  edit(new DataView(bytes.buffer));
  return bytes;
}

/** Offset of a field of section header `index`. */
const sh = (index: number, field: number) => shoff + index * 64 + field;
const SH_NAME = 0;
const SH_OFFSET = 24;
const SH_SIZE = 32;
const SH_LINK = 40;
const SH_ENTSIZE = 56;

const elf = new ElfFile(original);
const indexOf = (name: string) => elf.section(name)!.index;
const fileSize = `0x${original.length.toString(16)}`;

test("the unmodified fixture reads cleanly", () => {
  readEverything(original);
});

test("bad magic, empty and truncated headers", () => {
  expectElfError(corrupt((v) => v.setUint8(1, 0x45 ^ 0xff)), "ELF_BAD_MAGIC", "not an ELF file: the first bytes are [7f ba 4c 46], expected [7f 45 4c 46]");
  expectElfError(new Uint8Array(0), "ELF_BAD_MAGIC", /first bytes are \[\]/);
  expectElfError(original.subarray(0, 40), "ELF_TRUNCATED", "ELF header truncated: the file is 40 bytes, the ELF64 header needs 64");
});

test("wrong class, byte order and entry sizes", () => {
  expectElfError(corrupt((v) => v.setUint8(4, 1)), "ELF_UNSUPPORTED", "ELF class 1 is not supported (only ELFCLASS64 = 2)");
  expectElfError(corrupt((v) => v.setUint8(5, 2)), "ELF_UNSUPPORTED", /big-endian \(ELFDATA2MSB\) is not supported/);
  expectElfError(corrupt((v) => v.setUint16(58, 32, true)), "ELF_BAD_ENTRY_SIZE", "e_shentsize is 32, expected 64 for ELF64 section headers");
  const symtab = indexOf(".symtab");
  expectElfError(
    corrupt((v) => v.setBigUint64(sh(symtab, SH_ENTSIZE), 0n, true)),
    "ELF_BAD_ENTRY_SIZE",
    `section ${symtab} (.symtab): sh_entsize is 0, expected 24 for symbol entries`,
  );
  const rel = indexOf(".relsocket");
  expectElfError(
    corrupt((v) => v.setBigUint64(sh(rel, SH_SIZE), 17n, true)),
    "ELF_BAD_ENTRY_SIZE",
    `section ${rel} (.relsocket): size 0x11 is not a multiple of the 16-byte REL entries`,
  );
});

test("section header table and section data out of bounds", () => {
  expectElfError(
    corrupt((v) => v.setBigUint64(40, BigInt(original.length - 100), true)),
    "ELF_OUT_OF_BOUNDS",
    /^section header table \(\d+ entries\) at 0x[0-9a-f]+\+0x[0-9a-f]+ extends past the end of the file/,
  );
  const socket = indexOf("socket");
  const size = elf.section("socket")!.size;
  const at = original.length - 4;
  expectElfError(
    corrupt((v) => v.setBigUint64(sh(socket, SH_OFFSET), BigInt(at), true)),
    "ELF_OUT_OF_BOUNDS",
    `section ${socket} (socket): data at 0x${at.toString(16)}+0x${size.toString(16)} extends past the end of the file (${fileSize} bytes)`,
  );
  expectElfError(
    corrupt((v) => v.setUint32(sh(socket, SH_OFFSET) + 4, 0x40000000, true)),
    "ELF_TOO_LARGE",
    /^section \d+: sh_offset is 0x4000000000000\w+, larger than this reader supports/,
  );
});

test("names and links that point nowhere", () => {
  const socket = indexOf("socket");
  expectElfError(
    corrupt((v) => v.setUint32(sh(socket, SH_NAME), 0xfffff, true)),
    "ELF_BAD_STRING",
    /^section \d+: name offset 0xfffff is outside the section name table/,
  );
  expectElfError(corrupt((v) => v.setUint16(62, 999, true)), "ELF_BAD_INDEX", /^e_shstrndx is 999, but the file has only \d+ sections$/);
  const symtab = indexOf(".symtab");
  expectElfError(
    corrupt((v) => v.setUint32(sh(symtab, SH_LINK), socket, true)),
    "ELF_BAD_INDEX",
    `section ${symtab} (.symtab): sh_link ${socket} names section ${socket} (socket), which is not a string table`,
  );
  const symtabOffset = elf.section(".symtab")!.offset;
  expectElfError(
    corrupt((v) => v.setUint32(symtabOffset + 4 * 24, 0x7777777, true)),
    "ELF_BAD_STRING",
    /^section \d+ \(\.symtab\): symbol 4: name offset 0x7777777 is outside its string table/,
  );
});

test("relocations with a bad symbol index or offset", () => {
  const rel = elf.section(".relsocket")!;
  expectElfError(
    corrupt((v) => v.setUint32(rel.offset + 12, 500, true)),
    "ELF_BAD_INDEX",
    `section ${rel.index} (.relsocket): relocation 0: symbol index 500 is out of range (section ${indexOf(".symtab")} (.symtab) has 14 symbols)`,
  );
  expectElfError(
    corrupt((v) => v.setBigUint64(rel.offset, 0x100000n, true)),
    "ELF_OUT_OF_BOUNDS",
    /^section \d+ \(\.relsocket\): relocation 0 patches offset 0x100000, past the end of section \d+ \(socket\)/,
  );
});

test("every truncation of the file is an ElfError", () => {
  for (let length = 0; length < original.length; length++) {
    try {
      readEverything(original.subarray(0, length));
    } catch (error) {
      if (error instanceof ElfError) continue;
      throw new Error(`truncated to ${length} bytes: ${String(error)}`);
    }
    assert.fail(`truncated to ${length} bytes: parsed without error`);
  }
});
