import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { EM_BPF, ET_REL, findEmbeddedBpfObjects, STT_FUNC } from "../../src/elf/index.js";
import { parseBtf } from "../../src/btf/parse.js";
import { parseBtfExt } from "../../src/btf/ext.js";
import { libbpfTools } from "./libbpf-tools.js";

const tools = libbpfTools();

test("every libbpf-tools executable embeds one BPF object whose ELF, BTF and .BTF.ext parse", { skip: tools.skip ?? false }, () => {
  // Debian 12 ships 61 tool names (some are symlinks to the same binary); every one must work.
  assert.ok(tools.paths.length >= 61, `expected at least 61 tools, found ${tools.paths.length}`);
  let coreRelocations = 0;
  for (const path of tools.paths) {
    const objects = findEmbeddedBpfObjects(new Uint8Array(readFileSync(path)));
    assert.equal(objects.length, 1, `${path}: embedded BPF objects`);
    const { elf } = objects[0]!;
    assert.equal(elf.header.machine, EM_BPF, path);
    assert.equal(elf.header.type, ET_REL, path);
    const programs = elf.symbols().filter((s) => s.type === STT_FUNC);
    assert.ok(programs.length > 0, `${path}: has program symbols`);
    for (const relocations of elf.relocationSections()) {
      for (const entry of relocations.entries) {
        assert.ok(entry.symbolIndex < elf.symbolsOf(relocations.symbolTableIndex).length, path);
      }
    }
    const btf = parseBtf(elf.sectionData(".BTF"));
    const ext = parseBtfExt(elf.sectionData(".BTF.ext"), btf);
    // Every program symbol outside .text has a func_info record naming a FUNC of the same name.
    const funcNames = new Set(
      ext.funcInfo.flatMap((s) => s.records.map((r) => btf.typeOfKind(r.typeId, "func").name)),
    );
    for (const program of programs) assert.ok(funcNames.has(program.name), `${path}: func_info for ${program.name}`);
    for (const section of ext.coreRelos) {
      assert.ok(elf.section(section.section) !== undefined, `${path}: CO-RE section ${section.section} exists`);
      for (const relo of section.records) assert.match(relo.accessString, /^\d+(:\d+)*$/, path);
      coreRelocations += section.records.length;
    }
  }
  assert.ok(coreRelocations > 100, `libbpf-tools objects carry CO-RE relocations (${coreRelocations})`);
});
