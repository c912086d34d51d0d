import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import {
  EM_BPF,
  EM_X86_64,
  ET_REL,
  ElfFile,
  PT_LOAD,
  R_BPF_64_64,
  SHT_NOBITS,
  STB_GLOBAL,
  STT_FUNC,
  STT_OBJECT,
  STT_SECTION,
  findEmbeddedBpfObjects,
  vaddrToFileOffset,
  versionedName,
} from "../../src/elf/index.js";
import { readFixture } from "../btf/fixtures.js";

test("reads the header, sections and symbols of a clang BPF object", () => {
  const bytes = readFixture("values.bpf.o");
  const elf = new ElfFile(bytes);
  assert.equal(elf.header.machine, EM_BPF);
  assert.equal(elf.header.type, ET_REL);
  assert.deepEqual(
    elf.sections.map((s) => s.name).filter((n) => !n.startsWith(".rel")),
    ["", ".strtab", ".text", "socket", ".data", ".rodata", ".maps", ".bss", "license", ".rodata.str1.1", ".BTF", ".BTF.ext", ".llvm_addrsig", ".symtab"],
  );
  assert.equal(elf.section(".bss")?.type, SHT_NOBITS);
  assert.equal(elf.sectionData(".bss").length, 0);
  assert.equal(new TextDecoder().decode(elf.sectionData("license")), "Dual MIT/GPL\0");

  const symbols = elf.symbols();
  const byName = new Map(symbols.map((s) => [s.name, s]));
  const fill = byName.get("fill");
  assert.equal(fill?.type, STT_FUNC);
  assert.equal(fill?.bind, STB_GLOBAL);
  assert.equal(elf.sectionAt(fill.sectionIndex).name, "socket");
  assert.equal(fill.size, elf.section("socket")?.size);
  assert.deepEqual(
    ["values", "by_key", "per_cpu"].map((n) => [byName.get(n)?.value, byName.get(n)?.type, byName.get(n)?.sectionIndex]),
    [0, 32, 64].map((v) => [v, STT_OBJECT, elf.section(".maps")?.index]),
  );
  assert.deepEqual(
    ["g_counter", "g_name", "g_origin"].map((n) => byName.get(n)?.value),
    [0, 4, 12],
  );
  assert.equal(symbols[1]?.type, STT_SECTION);
});

test("section data are views into the caller's bytes, not copies", () => {
  const bytes = readFixture("values.bpf.o");
  const elf = new ElfFile(bytes);
  const socket = elf.section("socket");
  assert.ok(socket !== undefined);
  const data = elf.sectionData(socket);
  assert.equal(data.buffer, bytes.buffer);
  assert.equal(data.byteOffset, bytes.byteOffset + socket.offset);
  assert.equal(data.length, socket.size);
});

test("reads REL relocations with their symbols and types", () => {
  const elf = new ElfFile(readFixture("values.bpf.o"));
  const [relocs, ...others] = elf.relocationsFor(elf.section("socket")!);
  assert.equal(others.length, 0);
  assert.ok(relocs !== undefined);
  assert.equal(relocs.section.name, ".relsocket");
  const symbols = elf.symbolsOf(relocs.symbolTableIndex);
  const targets = relocs.entries.map((r) => [r.offset, symbols[r.symbolIndex]?.name, r.type, r.addend]);
  assert.deepEqual(targets.slice(0, 3), [
    [0x20, "values", R_BPF_64_64, undefined],
    [0x320, "by_key", R_BPF_64_64, undefined],
    [0x3a0, "by_key", R_BPF_64_64, undefined],
  ]);
  assert.equal(relocs.entries.length, 10);
  assert.deepEqual(
    elf.relocationSections().map((r) => r.section.name),
    [".relsocket", ".rel.BTF", ".rel.BTF.ext"],
  );
});

let nodeBinary: ElfFile | undefined;
/** The running node executable: an x86-64 ELF that is always present. */
function nodeElf(): ElfFile {
  nodeBinary ??= new ElfFile(new Uint8Array(readFileSync(process.execPath)));
  return nodeBinary;
}

const notX64 = process.arch === "x64" ? false : `node is not an x86-64 binary here (${process.arch})`;

test("reads an x86-64 executable: segments, dynamic symbols, address to file offset", { skip: notX64 }, () => {
  const elf = nodeElf();
  assert.equal(elf.header.machine, EM_X86_64);
  const loads = elf.segments.filter((s) => s.type === PT_LOAD);
  assert.ok(loads.length >= 2, "node has at least two PT_LOAD segments");
  const text = elf.section(".text");
  assert.ok(text !== undefined);
  assert.equal(vaddrToFileOffset(elf.segments, text.addr), text.offset);
  assert.ok(elf.dynamicSymbols().some((s) => s.name === "malloc" && s.sectionIndex === 0), "node imports malloc");
});

const libc = "/lib/x86_64-linux-gnu/libc.so.6";
test("names GNU symbol versions the way uprobe targets spell them", { skip: existsSync(libc) ? false : `${libc} not present` }, () => {
  const elf = new ElfFile(new Uint8Array(readFileSync(libc)));
  const names = new Set(elf.dynamicSymbols().map(versionedName));
  for (const name of ["malloc@@GLIBC_2.2.5", "memcpy@@GLIBC_2.14", "memcpy@GLIBC_2.2.5", "realpath@@GLIBC_2.3", "realpath@GLIBC_2.2.5"]) {
    assert.ok(names.has(name), `libc exports ${name}`);
  }
  const imported = nodeElf().dynamicSymbols().find((s) => s.name === "malloc");
  assert.equal(imported?.version?.file, "libc.so.6");
  assert.equal(versionedName(imported!), `malloc@${imported?.version?.name}`);
});

test("finds BPF objects embedded at any offset and measures their size", () => {
  const object = readFixture("values.bpf.o");
  const other = readFixture("core.bpf.o");
  const decoy = Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...new Array<number>(10).fill(0), 247, 0]);
  const blob = new Uint8Array(3 + object.length + 101 + decoy.length + other.length + 64);
  blob.fill(0x7f, 0, 3);
  blob.set(object, 3);
  blob.set(decoy, 3 + object.length + 101);
  blob.set(other, 3 + object.length + 101 + decoy.length);
  const found = findEmbeddedBpfObjects(blob);
  assert.deepEqual(
    found.map((f) => [f.offset, f.size]),
    [
      [3, object.length],
      [3 + object.length + 101 + decoy.length, other.length],
    ],
  );
  assert.deepEqual(found[0]?.bytes, object);
  assert.equal(found[1]?.elf.section(".BTF.ext")?.type, 1);
});
