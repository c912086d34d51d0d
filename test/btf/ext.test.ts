import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBtfExt } from "../../src/btf/ext.js";
import { typeName } from "../../src/btf/type-name.js";
import { fixtureObject } from "./fixtures.js";

test("func_info and line_info of the values fixture", () => {
  const { elf, btf } = fixtureObject("values.bpf.o");
  const ext = parseBtfExt(elf.sectionData(".BTF.ext"), btf);
  assert.deepEqual(
    ext.funcInfo.map((s) => [s.section, s.records.map((r) => [r.insnOff, btf.type(r.typeId).kind, btf.type(r.typeId).name])]),
    [["socket", [[0, "func", "fill"]]]],
  );
  const [lines] = ext.lineInfo;
  assert.equal(lines?.section, "socket");
  const first = lines.records[0]!;
  assert.match(first.fileName, /values\.bpf\.c$/);
  assert.equal(first.insnOff, 0);
  assert.equal(first.line, "int fill(void *ctx)");
  assert.equal(first.lineNumber, 134);
  const offsets = lines.records.map((r) => r.insnOff);
  assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), "line records are in instruction order");
  assert.ok(offsets.every((o) => o % 8 === 0 && o < elf.section("socket")!.size), "byte offsets of instructions");
  assert.deepEqual(ext.coreRelos, []);
});

test("CO-RE relocation records of every kind clang 14 emits", () => {
  const { elf, btf } = fixtureObject("core.bpf.o");
  const ext = parseBtfExt(elf.sectionData(".BTF.ext"), btf);
  assert.equal(ext.coreRelos.length, 1);
  const [section] = ext.coreRelos;
  assert.equal(section?.section, "socket");
  assert.deepEqual(
    section.records.map((r) => [r.insnOff, r.kind, r.accessString, typeName(btf, r.typeId)]),
    [
      [8, "field_byte_offset", "0:1:1:0", "struct outer"],
      [72, "field_byte_size", "0:1:1:0", "struct outer"],
      [80, "field_exists", "0:2", "struct outer"],
      [104, "field_byte_offset", "0:1:0", "struct outer"],
      [120, "field_byte_offset", "0:1:0:2", "struct outer"],
      [152, "field_byte_size", "0:1:0:2", "struct outer"],
      [184, "field_lshift_u64", "0:1:0:2", "struct outer"],
      [192, "field_signed", "0:1:0:2", "struct outer"],
      [208, "field_rshift_u64", "0:1:0:2", "struct outer"],
      [224, "field_rshift_u64", "0:1:0:2", "struct outer"],
      [256, "type_id_local", "0", "struct inner"],
      [280, "type_id_target", "0", "outer_t"],
      [304, "type_exists", "0", "struct inner"],
      [320, "type_size", "0", "struct outer"],
      [336, "enumval_exists", "1", "enum state"],
      [360, "enumval_value", "1", "enum state"],
    ],
  );
});
