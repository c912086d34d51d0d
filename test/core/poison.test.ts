// Relocations that find nothing in the target: the object still loads, the instruction becomes libbpf's
// `call 0xbad2310`, and running into it ends the run with a message naming the relocation.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isPoisonedCall } from "../../src/core/index.js";
import { loadFixture, loadTargetBtf, relocateAll, runRelocated } from "./support/run.js";

describe("poison.bpf.o against target.btf", () => {
  const programs = relocateAll(loadFixture("poison.bpf.o"), loadTargetBtf());

  const expectations: Record<string, { kind: string; type: string; access: string; reason: RegExp }> = {
    read_missing_field: { kind: "field_byte_offset", type: "struct core_sample___l", access: "0:13", reason: /no such field/ },
    read_resized_signed_field: {
      kind: "field_byte_offset",
      type: "struct core_sample___l",
      access: "0:4",
      reason: /size changed from 4 to 2 bytes/,
    },
    read_absent_type: { kind: "field_byte_offset", type: "struct core_absent___l", access: "0:0", reason: /has no struct named 'core_absent'/ },
    missing_enumerator: { kind: "enumval_value", type: "enum core_state___l", access: "3", reason: /CORE_GONE___l: no such enumerator/ },
  };

  for (const [name, expected] of Object.entries(expectations)) {
    test(`${name}: poisoned at load, stopped with the relocation's message at run`, () => {
      const relocated = programs.get(name);
      assert.ok(relocated, `no program ${name}`);
      assert.equal(relocated.report.poisoned.length, 1);
      const poison = relocated.report.poisoned[0]!;
      assert.equal(poison.kind, expected.kind);
      assert.equal(poison.localTypeName, expected.type);
      assert.equal(poison.accessString, expected.access);
      assert.match(poison.reason, expected.reason);
      for (const part of [`program '${name}'`, expected.kind, expected.type, `"${expected.access}"`, `instruction ${poison.insnIndex}`]) {
        assert.ok(poison.message.includes(part), `message lacks ${part}: ${poison.message}`);
      }
      const outcome = runRelocated(relocated);
      assert.ok("poison" in outcome, `expected the run to hit the poison, got ${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
      assert.equal(outcome.poison, poison);
    });
  }

  test("a poisoned lddw has both slots replaced and both mapped to the poison", () => {
    const { insns, report } = programs.get("missing_enumerator")!;
    const index = report.poisoned[0]!.insnIndex;
    assert.ok(isPoisonedCall(insns[index]!) && isPoisonedCall(insns[index + 1]!));
    assert.equal(report.poisonByInsn.get(index), report.poisonByInsn.get(index + 1));
  });

  test("relocation numbers count records of the whole section list", () => {
    const numbers = [...programs.values()].map((p) => p.report.poisoned[0]!.reloIndex).sort();
    assert.equal(new Set(numbers).size, numbers.length);
    for (const p of programs.values()) assert.ok(p.report.skipped > 0, "each program skips the other programs' records");
  });
});
