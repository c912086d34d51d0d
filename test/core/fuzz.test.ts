// Corrupt input never crashes the relocation engine: mutated local BTF, .BTF.ext records, instructions and
// target BTF end in a CoreError (the load fails cleanly) or in a relocated program, never in a
// TypeError, a RangeError from runaway recursion or a hang.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Btf } from "../../src/btf/btf.js";
import { CORE_RELO_KINDS, type CoreRelo } from "../../src/btf/ext.js";
import { parseBtf } from "../../src/btf/parse.js";
import { applyCoreRelocations, CoreError } from "../../src/core/index.js";
import { random } from "../elf/random.js";
import { readTestObject, type TestObject } from "./support/programs.js";
import { fixturePath, readBytes, relocateAll } from "./support/run.js";

const CASES = Number(process.env["CORE_FUZZ_CASES"] ?? 3000);

function mutate(bytes: Uint8Array, next: () => number): Uint8Array {
  const copy = bytes.slice();
  const flips = 1 + Math.floor(next() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(next() * copy.length);
    copy[at] = next() < 0.5 ? Math.floor(next() * 256) : copy[at]! ^ (1 << Math.floor(next() * 8));
  }
  return copy;
}

/** Parses the inputs; a mutation the parsers reject never reaches the engine (their own tests cover them). */
function parse(objectBytes: Uint8Array, targetBytes: Uint8Array): { object: TestObject; target: Btf } | undefined {
  try {
    return { object: readTestObject(objectBytes), target: parseBtf(targetBytes) };
  } catch {
    return undefined;
  }
}

test(`${CASES} mutated fixture objects and target BTFs: a CoreError at worst, never a crash`, () => {
  const objectBytes = readBytes(fixturePath("fields.bpf.o"));
  const targetBytes = readBytes(fixturePath("target.btf"));
  const next = random(0xc03e);
  const outcomes = { unparsable: 0, relocated: 0, refused: 0 };
  for (let round = 0; round < CASES; round++) {
    const mutateObject = round % 2 === 0;
    const input = parse(mutateObject ? mutate(objectBytes, next) : objectBytes, mutateObject ? targetBytes : mutate(targetBytes, next));
    if (input === undefined) {
      outcomes.unparsable++;
      continue;
    }
    try {
      relocateAll(input.object, input.target);
      outcomes.relocated++;
    } catch (error) {
      assert.ok(error instanceof CoreError, `round ${round}: ${error instanceof Error ? error.stack : String(error)}`);
      outcomes.refused++;
    }
  }
  // Most mutations land in bytes the relocations do not read; refusals must occur too.
  console.log(`core fuzz: ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.relocated > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
});

test(`${CASES} random relocation records against the fixture's types: a CoreError at worst`, () => {
  const object = readTestObject(readBytes(fixturePath("fields.bpf.o")));
  const target = parseBtf(readBytes(fixturePath("target.btf")));
  const program = object.programs[0]!;
  const next = random(0x5eed);
  const pick = (n: number): number => Math.floor(next() * n);
  let refused = 0;
  for (let round = 0; round < CASES; round++) {
    const indices = Array.from({ length: 1 + pick(4) }, () => pick(next() < 0.8 ? 4 : 40));
    const relo: CoreRelo = {
      insnOff: pick(program.insns.length) * 8,
      typeId: pick(object.btf.typeCount),
      accessString: next() < 0.05 ? ["", ":", "0:", "a", "-1"][pick(5)]! : indices.join(":"),
      kind: CORE_RELO_KINDS[pick(CORE_RELO_KINDS.length)]!,
    };
    try {
      applyCoreRelocations([...program.insns], [relo], object.btf, target);
    } catch (error) {
      assert.ok(error instanceof CoreError, `round ${round} ${JSON.stringify(relo)}: ${error instanceof Error ? error.stack : String(error)}`);
      refused++;
    }
  }
  assert.ok(refused > 0 && refused < CASES, `${refused} of ${CASES} refused`);
});
