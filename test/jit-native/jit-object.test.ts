// JitObject's own behaviour: tail calls that follow the control plane's prog_array changes, trace
// records, native loops, bpf_loop callbacks, and the objects it refuses.

import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { insn, type Insn } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { MapType } from "../../src/maps/map-types.js";
import { parseSectionName } from "../../src/object/section-names.js";
import { defineMap, type MapDefinition, type ObjectSpec, type ProgramSpec } from "../../src/object/spec.js";
import { JitObject } from "../../src/runtime/jit-object.js";
import { u32 } from "./support/native-maps.js";

function program(name: string, insns: Insn[]): ProgramSpec {
  return {
    name,
    section: "socket",
    info: parseSectionName("socket"),
    attachError: undefined,
    insns,
    functions: [{ name, start: 0, length: insns.length }],
    coreRelocations: [],
    kernelSymbols: new Map(),
  };
}

function object(programs: ProgramSpec[], maps: MapDefinition[]): ObjectSpec {
  return { name: "t", license: "GPL", kernelVersion: undefined, programs, maps, variables: [], kconfig: [], btf: undefined, btfExt: undefined };
}

/** lddw rN, map_idx `index`. */
const mapRef = (dst: number, index: number): Insn[] => [insn(op.OP_LDDW, dst, op.BPF_PSEUDO_MAP_IDX, 0, index), insn(0, 0, 0, 0, 0)];

test("tail calls follow the prog_array as the control plane changes it", () => {
  const jumpTable = defineMap(
    { name: "jump_table", type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, origin: "btf", section: ".maps" },
    { initialSlots: new Map([[0, "target_a"]]) },
  );
  const caller = [...mapRef(2, 0), insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 3, 0, 0, 0), insn(op.OP_CALL, 0, 0, 0, 12), ...assemble("mov %r0, 99\nexit")];
  const live = new JitObject(object([program("caller", caller), program("target_a", assemble("mov %r0, 1\nexit")), program("target_b", assemble("mov %r0, 2\nexit"))], [jumpTable]));
  try {
    assert.equal(live.run("caller"), 1n);
    const table = live.map("jump_table");
    assert.equal(table.updateElem(u32(0), u32(live.program("target_b").id)), 0);
    assert.equal(live.run("caller"), 2n);
    assert.equal(table.deleteElem(u32(0)), 0);
    assert.equal(live.run("caller"), 99n, "an empty slot falls through");
    assert.equal(live.runLoop("caller", 1000), 99n);
  } finally {
    live.dispose();
  }
});

test("trace records, a bpf_loop callback and global state across runs", () => {
  const counter = defineMap({ name: "counter", type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0, origin: "btf", section: ".maps" });
  const fmt = Array.from(new TextEncoder().encode("run %d\0\0"));
  const fmtWords = [0, 4].map((i) => fmt[i]! | (fmt[i + 1]! << 8) | (fmt[i + 2]! << 16) | (fmt[i + 3]! << 24));
  const main = [
    ...assemble("stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4"),
    ...mapRef(1, 0),
    ...assemble(`
      call 1
      jne %r0, 0, found
      mov %r0, -1
      exit
    found:
      mov %r1, 1
      lock add [%r0+0], %r1
      ldxdw %r6, [%r0+0]
      stw [%r10-16], ${fmtWords[0]}
      stw [%r10-12], ${fmtWords[1]}
      mov %r1, %r10
      add %r1, -16
      mov %r2, 8
      mov %r3, %r6
      call 6
      stdw [%r10-24], 0
      mov %r1, 4`),
    insn(op.OP_LDDW, 2, op.BPF_PSEUDO_FUNC, 0, 0), // patched below: the callback
    insn(0),
    ...assemble(`
      mov %r3, %r10
      add %r3, -24
      mov %r4, 0
      call 181
      ldxdw %r0, [%r10-24]
      exit`),
  ];
  const callbackAt = main.length;
  const lddwAt = main.findIndex((i) => i.code === op.OP_LDDW && i.src === op.BPF_PSEUDO_FUNC);
  main[lddwAt] = { ...main[lddwAt]!, imm: callbackAt - (lddwAt + 1) };
  const callback = assemble("ldxdw %r3, [%r2+0]\nadd %r3, %r1\nadd %r3, 100\nstxdw [%r2+0], %r3\nmov %r0, 0\nexit");
  const spec = object([{ ...program("main", [...main, ...callback]), functions: [{ name: "main", start: 0, length: callbackAt }, { name: "cb", start: callbackAt, length: callback.length }] }], [counter]);
  const live = new JitObject(spec);
  try {
    for (let i = 0; i < 3; i++) assert.equal(live.run("main"), 406n, "0+1+2+3 plus 4 x 100");
    assert.deepEqual(
      live.traces().map((t) => t.text),
      ["run 1", "run 2", "run 3"],
    );
    assert.deepEqual(live.traces(), [], "drained");
  } finally {
    live.dispose();
  }
});

test("an object with a map type that has no native operations is refused at load", () => {
  const lpm = defineMap({ name: "prefixes", type: MapType.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 16, flags: 1, origin: "btf", section: ".maps" });
  assert.throws(() => new JitObject(object([program("p", assemble("mov %r0, 0\nexit"))], [lpm])), /map 'prefixes' \(lpm_trie\) has no native operations yet/);
});
