// The object loader on the project's fixtures: programs, subprogram linking, maps, globals, references.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { lddwValue } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { validateProgram } from "../../src/isa/validator.js";
import { ObjectError } from "../../src/object/errors.js";
import { loadObjectSpec, objectNameFromPath } from "../../src/object/load.js";
import { readObjectFile } from "../../src/object/object-file.js";
import type { ObjectSpec } from "../../src/object/spec.js";
import { examplePath } from "../support/examples.js";

const load = (name: string): ObjectSpec => loadObjectSpec(new Uint8Array(readFileSync(examplePath(name))), { name: objectNameFromPath(name) });

test("maps of every origin with the sizes libbpf computes", () => {
  const spec = load("features.bpf.o");
  const summary = spec.maps.map((m) => [m.name, m.kernelName, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.origin]);
  assert.deepEqual(summary, [
    ["jump_table", "jump_table", 3, 4, 4, 4, 0, "btf"],
    ["events_by_id", "events_by_id", 1, 4, 32, 64, 0, "btf"],
    ["counters", "counters", 2, 4, 8, 8, 0, "btf"],
    ["per_cpu", "per_cpu", 6, 4, 8, 1, 0, "btf"],
    ["events", "events", 27, 0, 0, 4096, 0, "btf"],
    [".rodata", "features.rodata", 2, 4, 56, 1, 0x480, "data"],
    [".data", "features.data", 2, 4, 8, 1, 0x400, "data"],
    [".bss", "features.bss", 2, 4, 8, 1, 0x400, "data"],
    [".rodata.cst32", ".rodata.cst32", 2, 4, 32, 1, 0x480, "data"],
    [".kconfig", "feature.kconfig", 2, 4, 13, 1, 0x480, "kconfig"],
  ]);
  assert.deepEqual(spec.kconfig.map((k) => [k.name, k.offset, k.size, k.weak]), [
    ["CONFIG_BPF_SYSCALL", 0, 4, true],
    ["CONFIG_HZ", 4, 4, true],
    ["LINUX_KERNEL_VERSION", 8, 4, false],
    ["LINUX_HAS_BPF_COOKIE", 12, 1, true],
  ]);
  assert.deepEqual([...spec.maps[0]!.initialSlots], [[1, "tail_target"]]);
  const data = spec.maps.find((m) => m.name === ".data")!;
  assert.equal(new DataView(data.initialData!.buffer).getBigUint64(0, true), 100n); // __u64 total = 100
});

test("global variables with their map, offset, size and read-only flag", () => {
  const spec = load("features.bpf.o");
  const vars = spec.variables.map((v) => [v.name, spec.maps[v.mapIndex]!.name, v.offset, v.size, v.readOnly]);
  assert.deepEqual(vars, [
    ["multiplier", ".rodata", 0, 8, true],
    ["expected_version", ".rodata", 48, 4, true],
    ["expected_hz", ".rodata", 52, 4, true],
    ["total", ".data", 0, 8, false],
    ["hits", ".bss", 0, 8, false],
  ]);
});

test("programs get their subprograms appended and calls relinked", () => {
  const spec = load("features.bpf.o");
  assert.deepEqual(spec.programs.map((p) => [p.name, p.section, p.info.kind]), [
    ["tail_target", "socket", "socket"],
    ["globals_and_calls", "socket", "socket"],
    ["maps_and_helpers", "socket", "socket"],
    ["tail_caller", "socket", "socket"],
    ["kconfig_values", "socket", "socket"],
  ]);
  const program = spec.programs.find((p) => p.name === "globals_and_calls")!;
  assert.deepEqual(program.functions.map((f) => f.name), ["globals_and_calls", "triple_add", "sum_callback"]);
  const fnStart = new Map(program.functions.map((f) => [f.start, f.name]));
  for (let i = 0; i < program.insns.length; i++) {
    const ins = program.insns[i]!;
    if ((ins.code === op.OP_CALL && ins.src === op.BPF_PSEUDO_CALL) || (ins.code === op.OP_LDDW && ins.src === op.BPF_PSEUDO_FUNC)) {
      assert.ok(fnStart.has(i + 1 + ins.imm), `slot ${i} targets ${i + 1 + ins.imm}, which starts no function`);
    }
  }
  validateProgram(program.insns, { allowPseudoLddw: true });
});

test("map and global-data references use the fd_array encodings", () => {
  const spec = load("features.bpf.o");
  const program = spec.programs.find((p) => p.name === "globals_and_calls")!;
  const loads = program.insns.flatMap((ins, i) => (ins.code === op.OP_LDDW && ins.src === op.BPF_PSEUDO_MAP_IDX_VALUE ? [[spec.maps[ins.imm]!.name, Number(lddwValue(program.insns, i) >> 32n)]] : []));
  assert.deepEqual(new Set(loads.map((l) => l[0])), new Set([".rodata", ".data", ".bss"]));
  const helpers = spec.programs.find((p) => p.name === "maps_and_helpers")!;
  const maps = helpers.insns.filter((ins) => ins.code === op.OP_LDDW && ins.src === op.BPF_PSEUDO_MAP_IDX).map((ins) => spec.maps[ins.imm]!.name);
  assert.deepEqual(new Set(maps), new Set(["events_by_id", "counters", "per_cpu", "events"]));
});

test("legacy `maps` section definitions", () => {
  const spec = load("legacy_maps.bpf.o");
  assert.deepEqual(spec.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.origin]), [["legacy_counts", 2, 4, 8, 4, "legacy"]]);
});

test("a uprobe section gives its attach target", () => {
  const [program] = load("malloc.bpf.o").programs;
  assert.deepEqual(program?.info.attach, { kind: "uprobe", retprobe: false, binary: "libc.so.6", func: "malloc", offset: 0 });
  assert.equal(load("malloc.bpf.o").license, "GPL");
});

function expectCode(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ObjectError, `expected ObjectError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.equal(e.message.includes("\n"), false);
    return true;
  });
}

test("bad objects give one-line errors with stable codes", () => {
  const good = new Uint8Array(readFileSync(examplePath("malloc.bpf.o")));
  expectCode(() => loadObjectSpec(good.subarray(0, 40)), "ELF_TRUNCATED", /malformed ELF/);
  const wrongMachine = good.slice();
  new DataView(wrongMachine.buffer).setUint16(18, 62, true);
  expectCode(() => loadObjectSpec(wrongMachine), "OBJ_NOT_BPF", /ELF machine is 62, expected 247/);
  expectCode(() => readObjectFile("/nonexistent.bpf.o"), "OBJ_READ", /cannot read \/nonexistent.bpf.o: no such file/);
  expectCode(() => readObjectFile(examplePath("malloc.bpf.c")), "OBJ_NOT_ELF", /not an ELF file/);
  // Renaming .BTF makes the .maps section unreadable.
  const noBtf = good.slice();
  const at = Buffer.from(noBtf).indexOf(".BTF\0");
  assert.ok(at > 0);
  noBtf[at + 1] = "X".charCodeAt(0);
  expectCode(() => loadObjectSpec(noBtf), "OBJ_NO_BTF", /no .BTF section/);
});

test("unknown map types and unknown program sections are refused", () => {
  const good = new Uint8Array(readFileSync(examplePath("legacy_maps.bpf.o")));
  // The legacy map definition's type field is the first u32 of the `maps` section.
  const bytes = good.slice();
  const spec = loadObjectSpec(bytes);
  assert.equal(spec.maps[0]!.type, 2);
  const maps = Buffer.from(bytes).indexOf(Buffer.from([2, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0]));
  assert.ok(maps > 0);
  bytes[maps] = 99;
  expectCode(() => loadObjectSpec(bytes), "OBJ_UNKNOWN_MAP_TYPE", /map 'legacy_counts' has unknown map type 99/);
  const renamed = good.slice();
  // The section name shares its bytes with ".relsocket" in the section-name table.
  const name = Buffer.from(renamed).indexOf(".relsocket\0");
  assert.ok(name > 0);
  renamed.set(Buffer.from(".relsokket"), name);
  expectCode(() => loadObjectSpec(renamed), "OBJ_UNKNOWN_SECTION", /section 'sokket' holds programs \(count\)/);
});
