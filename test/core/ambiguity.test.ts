// Candidates that disagree are an error, as in libbpf, not a guess.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreError } from "../../src/core/index.js";
import { loadFixture, loadTargetBtf, relocateAll } from "./support/run.js";

const object = loadFixture("ambiguous.bpf.o");
const target = loadTargetBtf();

function relocateOnly(name: string): ReturnType<typeof relocateAll> {
  return relocateAll({ ...object, programs: object.programs.filter((p) => p.name === name) }, target);
}

test("two target flavours placing the field differently: CORE_AMBIGUOUS naming both", () => {
  assert.throws(
    () => relocateOnly("ambiguous_offset"),
    (error: unknown) =>
      error instanceof CoreError &&
      error.code === "CORE_AMBIGUOUS" &&
      /program 'ambiguous_offset'/.test(error.message) &&
      /core_amb___one/.test(error.message) &&
      /core_amb___two/.test(error.message),
  );
});

test("two target flavours with different type ids: CORE_AMBIGUOUS for the target type id", () => {
  assert.throws(() => relocateOnly("ambiguous_type_id"), (error: unknown) => error instanceof CoreError && error.code === "CORE_AMBIGUOUS");
});

test("two flavours that agree on the field resolve", () => {
  const report = relocateOnly("unambiguous_offset").get("unambiguous_offset")!.report;
  assert.equal(report.results.length, 1);
  assert.equal(report.results[0]!.targetValue, 4n);
});
