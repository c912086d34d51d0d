// The decoder against GNU objdump on this machine's binaries: the first 64 bytes of every function (symbols
// and direct-call targets), and, for libc and ld.so, every instruction of their code.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { compareLengths } from "./support/length-agreement.js";
import { type Listing, objdumpAvailable, objdumpListing, prologueSamples } from "./support/objdump-listing.js";

const LIBRARIES = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"];
const PROGRAMS = ["/usr/bin/bash", "/usr/bin/python3.11"];

const listings = new Map<string, Listing>();
function listing(path: string): Listing {
  let found = listings.get(path);
  if (found === undefined) {
    found = objdumpListing(path);
    listings.set(path, found);
  }
  return found;
}

const skip = !objdumpAvailable()
  ? "objdump is not installed (apt-get install binutils)"
  : process.arch !== "x64"
    ? "x86-64 binaries are needed"
    : false;

/** Every instruction objdump decoded, as contiguous runs, so each is measured with its real neighbours. */
function* wholeText(listing: Listing): Generator<{ name: string; bytes: number[]; lengths: number[] }> {
  let run: { name: string; bytes: number[]; lengths: number[] } | undefined;
  let expected = -1;
  for (const instruction of listing.instructions) {
    if (instruction.bad || instruction.address !== expected) {
      if (run) yield run;
      run = undefined;
    }
    if (!instruction.bad) {
      run ??= { name: `0x${instruction.address.toString(16)}`, bytes: [], lengths: [] };
      run.bytes.push(...instruction.bytes);
      run.lengths.push(instruction.bytes.length);
    }
    expected = instruction.address + instruction.bytes.length;
  }
  if (run) yield run;
}

test("decoder vs objdump: function prologues of libc, ld.so and programs in /usr/bin", { skip }, (t) => {
  let functions = 0;
  let instructions = 0;
  for (const path of [...LIBRARIES, ...PROGRAMS].filter((p) => existsSync(p))) {
    const report = compareLengths(prologueSamples(listing(path), 64));
    t.diagnostic(`${path}: ${report.samplesAgreed}/${report.samples} functions, ${report.agreed}/${report.instructions} instructions`);
    assert.deepEqual(report.mismatches.slice(0, 5), [], path);
    functions += report.samples;
    instructions += report.instructions;
  }
  t.diagnostic(`total: ${functions} functions, ${instructions} instructions, 100% agreement`);
  assert.ok(functions > 1000);
});

test("decoder vs objdump: every instruction of libc and ld.so", { skip }, (t) => {
  for (const path of LIBRARIES.filter((p) => existsSync(p))) {
    const report = compareLengths(wholeText(listing(path)));
    t.diagnostic(`${path}: ${report.agreed}/${report.instructions} instructions`);
    assert.deepEqual(report.mismatches.slice(0, 5), [], path);
    assert.ok(report.instructions > 10000);
  }
});
