#!/usr/bin/env node
// Writes test/fixtures/hook/prologues.json.gz: the first 64 bytes of every function of a few binaries with
// GNU objdump's length for each instruction, so that the decoder test runs without objdump (in CI).
// Run after `npx tsc -p .`:  node scripts/extract-prologue-fixture.mjs [binary...]

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { objdumpListing, prologueSamples } from "../dist/test/hook/support/objdump-listing.js";

const DEFAULT_BINARIES = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/bash"];
const binaries = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_BINARIES;
const hex = (bytes) => bytes.map((b) => b.toString(16).padStart(2, "0")).join("");

const fixture = {
  about: "First 64 bytes of each function (symbols and direct-call targets) with objdump's instruction lengths",
  objdump: execFileSync("objdump", ["--version"], { encoding: "utf8" }).split("\n")[0],
  binaries: [],
};
for (const path of binaries) {
  const seen = new Set();
  const functions = [];
  for (const sample of prologueSamples(objdumpListing(path), 64)) {
    const bytes = hex(sample.bytes);
    // Identical prologues (PLT entries differ only in displacements, but many functions repeat) add nothing.
    if (seen.has(bytes)) continue;
    seen.add(bytes);
    functions.push([sample.name, bytes, sample.lengths.join(",")]);
  }
  fixture.binaries.push({ path, functions });
  console.log(`${path}: ${functions.length} distinct prologues`);
}
const json = JSON.stringify(fixture) + "\n";
writeFileSync(new URL("../test/fixtures/hook/prologues.json.gz", import.meta.url), gzipSync(json, { level: 9 }));
