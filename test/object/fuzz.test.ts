// Mutated objects never crash the loader: every case either loads or fails with an ObjectError.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ObjectError } from "../../src/object/errors.js";
import { loadObjectSpec } from "../../src/object/load.js";
import { examplePath } from "../support/examples.js";

const CASES = Number(process.env["OBJECT_FUZZ_CASES"] ?? 10_000);

/** xorshift32: deterministic, so a failing case can be replayed from its number. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function mutate(original: Uint8Array, seed: number): Uint8Array {
  const next = rng(seed);
  const bytes = original.slice();
  const edits = 1 + (next() % 8);
  for (let e = 0; e < edits; e++) {
    const at = next() % bytes.length;
    switch (next() % 4) {
      case 0: // flip a bit
        bytes[at]! ^= 1 << (next() % 8);
        break;
      case 1: // a random byte
        bytes[at] = next() & 0xff;
        break;
      case 2: // an interesting 32-bit value (offsets and sizes are where parsers break)
        new DataView(bytes.buffer).setUint32(Math.min(at, bytes.length - 4), [0, 0xffffffff, 0x7fffffff, 0x80000000, 8, 0x10000][next() % 6]!, true);
        break;
      default: // truncate
        return bytes.subarray(0, at);
    }
  }
  return bytes;
}

test(`${CASES} mutated fixtures: no uncaught exception, no hang`, () => {
  const fixtures = ["features.bpf.o", "malloc.bpf.o", "legacy_maps.bpf.o"].map((f) => new Uint8Array(readFileSync(examplePath(f))));
  const codes = new Map<string, number>();
  let loaded = 0;
  const started = performance.now();
  for (let i = 0; i < CASES; i++) {
    const bytes = mutate(fixtures[i % fixtures.length]!, i + 1);
    try {
      loadObjectSpec(bytes);
      loaded++;
    } catch (error) {
      if (!(error instanceof ObjectError)) assert.fail(`case ${i + 1}: ${String((error as Error).stack ?? error)}`);
      assert.equal(error.message.includes("\n"), false, `case ${i + 1}: multi-line message`);
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`object fuzz: ${CASES} cases in ${seconds.toFixed(1)} s, ${loaded} loaded, errors by code: ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.ok(codes.size > 3, "the mutations should reach several kinds of error");
});
