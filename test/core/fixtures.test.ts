// The CO-RE fixture programs of examples/core, relocated against the committed examples/core/target.btf and
// run in the reference interpreter: each returns 0 when every check passed, else the failing line.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BPF_LDX, BPF_STX, BPF_ST, BPF_W, insnClass, memSize } from "../../src/isa/opcodes.js";
import { CORE_POISON_HELPER_ID, isPoisonedCall } from "../../src/core/index.js";
import { loadFixture, loadTargetBtf, relocateAll, runRelocated, type RelocatedProgram } from "./support/run.js";

const target = loadTargetBtf();

function retval(relocated: RelocatedProgram): bigint {
  const outcome = runRelocated(relocated);
  if ("retval" in outcome) return outcome.retval;
  assert.fail(`${relocated.program.name} did not return: ${"poison" in outcome ? outcome.poison.message : outcome.error}`);
}

for (const object of ["fields.bpf.o", "types.bpf.o"]) {
  describe(`${object} against target.btf`, () => {
    const programs = relocateAll(loadFixture(object), target);

    test("has programs with CO-RE relocations", () => {
      assert.ok(programs.size >= 4);
      for (const { program, report } of programs.values()) assert.ok(report.results.length > 0, `${program.name} has no relocations`);
    });

    for (const [name, relocated] of programs) {
      test(`${name} returns 0 (every check passes)`, () => {
        assert.equal(retval(relocated), 0n, `${name}: the check at line ${retval(relocated)} failed`);
      });
    }

    test("unrelocated, the programs fail their checks (they really depend on CO-RE)", () => {
      const failing = [...programs.values()].filter(({ program }) => {
        const unrelocated: RelocatedProgram = { ...programs.get(program.name)!, insns: [...program.insns] };
        return "retval" in runRelocated(unrelocated) ? retval(unrelocated) !== 0n : true;
      });
      assert.equal(failing.length, programs.size, "a program passes without its relocations");
    });
  });
}

describe("fields.bpf.o relocation details", () => {
  const programs = relocateAll(loadFixture("fields.bpf.o"), target);

  test("an 8-byte load of a field that is 4 bytes (unsigned) in the target is narrowed", () => {
    const { insns, report } = programs.get("field_reads")!;
    const c = report.results.find((r) => r.kind === "field_byte_offset" && r.local.includes(".c "));
    assert.ok(c, "no relocation of field c");
    assert.equal(c.targetValue, 16n);
    const insn = insns[c.insnIndex]!;
    assert.equal(insnClass(insn.code), BPF_LDX);
    assert.equal(memSize(insn.code), BPF_W);
    assert.equal(insn.off, 16);
  });

  test("an 8-byte store to that field is narrowed too", () => {
    const { insns, report } = programs.get("field_writes")!;
    const stores = report.results.filter((r) => r.local.includes(".c ")).map((r) => insns[r.insnIndex]!);
    assert.ok(stores.length > 0);
    for (const insn of stores) {
      assert.ok([BPF_ST, BPF_STX].includes(insnClass(insn.code)));
      assert.equal(memSize(insn.code), BPF_W);
    }
  });

  test("a guarded access to a missing field is poisoned but the program still runs to 0", () => {
    const { insns, report } = programs.get("field_reads")!;
    assert.equal(report.poisoned.length, 1);
    const poison = report.poisoned[0]!;
    assert.equal(poison.accessString, "0:13");
    assert.match(poison.message, /struct core_sample___l\.missing/);
    assert.ok(isPoisonedCall(insns[poison.insnIndex]!));
    assert.equal(insns[poison.insnIndex]!.imm, CORE_POISON_HELPER_ID);
    assert.equal(CORE_POISON_HELPER_ID, 195896080);
  });

  test("the field-exists check of that field resolves to 0 instead of poisoning", () => {
    const { report } = programs.get("field_sizes_and_existence")!;
    const missing = report.results.find((r) => r.kind === "field_exists" && r.local.includes(".missing"));
    assert.ok(missing);
    assert.equal(missing.poisoned, false);
    assert.equal(missing.localValue, 1n);
    assert.equal(missing.targetValue, 0n);
  });

  test("bitfield relocations follow the target's bit positions", () => {
    const { report } = programs.get("bitfields")!;
    const value = (kind: string, field: string): bigint | undefined =>
      report.results.find((r) => r.kind === kind && r.local.includes(`.${field} `))?.targetValue;
    // target: lo bits 384..386, mid 387..395, neg 396..401 (unsigned int storage at byte 48), span 402..441 (u64)
    assert.equal(value("field_byte_offset", "mid"), 48n);
    assert.equal(value("field_lshift_u64", "mid"), 64n - (3n + 9n));
    assert.equal(value("field_rshift_u64", "mid"), 64n - 9n);
    assert.equal(value("field_lshift_u64", "neg"), 64n - (12n + 6n));
    assert.equal(value("field_signed", "neg"), 1n);
    assert.equal(value("field_byte_size", "span"), 8n);
    assert.equal(value("field_lshift_u64", "span"), 64n - (18n + 40n));
  });

  test("every result names its local and target access", () => {
    for (const { report } of programs.values()) {
      for (const result of report.results) {
        assert.match(result.local, /^struct core_|^union |^typedef /);
        if (!result.poisoned && result.kind !== "field_exists") assert.ok(result.target, `${result.local} has no target`);
      }
    }
  });
});

describe("types.bpf.o relocation details", () => {
  const programs = relocateAll(loadFixture("types.bpf.o"), target);
  const all = [...programs.values()].flatMap((p) => p.report.results);

  test("target type ids are the ids in target.btf", () => {
    const id = all.find((r) => r.kind === "type_id_target" && r.localTypeName === "struct core_sample___l");
    assert.ok(id);
    assert.equal(target.type(Number(id.targetValue)).name, "core_sample");
    const absent = all.find((r) => r.kind === "type_id_target" && r.localTypeName === "struct core_absent___l");
    assert.equal(absent?.targetValue, 0n);
    assert.equal(absent?.poisoned, false);
  });

  test("local type ids are left as the compiler wrote them", () => {
    const local = all.find((r) => r.kind === "type_id_local");
    assert.ok(local);
    assert.equal(local.targetValue, local.localValue);
  });

  test("enum64 values are patched into the 64-bit immediate", () => {
    const wide = all.find((r) => r.kind === "enumval_value" && r.local.includes("CORE_WIDE_BIG___l"));
    assert.equal(wide?.targetValue, 0x123456789an);
  });

  test("no relocation of these programs is poisoned", () => {
    assert.deepEqual(all.filter((r) => r.poisoned).map((r) => r.local), []);
  });
});
