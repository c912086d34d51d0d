// `bpftime vm exec` speaks the bpf_conformance plugin protocol and turns every bad input into one line.

import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeProgram, formatHexBytes, insn, lddw } from "../../src/isa/instruction.js";
import { runCli } from "../support/cli.js";

const hex = (...program: Parameters<typeof encodeProgram>[0]): string => formatHexBytes(encodeProgram(program));
const EXIT = insn(0x95);

test("prints r0 in hex and exits 0; memory comes as the first argument (r1 = pointer, r2 = length)", () => {
  const r = runCli(["vm", "exec", "01 02 03 04 05"], hex(insn(0xbf, 0, 2), EXIT));
  assert.deepEqual(r, { status: 0, stdout: "5\n", stderr: "" });
  const wide = runCli(["vm", "exec"], hex(...lddw(0, 0x1122334455667788n), EXIT));
  assert.equal(wide.stdout, "1122334455667788\n");
});

test("ignores plugin options after the memory argument", () => {
  const r = runCli(["vm", "exec", "00", "--engine", "interp"], hex(insn(0xbf, 0, 2), EXIT));
  assert.equal(r.stdout, "1\n");
});

const badInputs: ReadonlyArray<readonly [string, string, string[], RegExp]> = [
  ["odd-length hex", "b7 00 00 00 00 00 00 0", [], /^hex text has an odd number of digits \(15\)$/],
  ["non-hex text", "b7 00 00 00 zz 00 00 00", [], /^hex text has a non-hex character 'z'/],
  ["a truncated instruction", "b7 00 00 00", [], /^program is 4 bytes, not a multiple of 8/],
  ["a truncated lddw", "18 00 00 00 01 00 00 00", [], /^instruction 0: lddw is truncated/],
  ["an unknown opcode", "ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00", [], /^instruction 0: unknown opcode 0xff$/],
  ["a jump outside the program", "05 00 07 00 00 00 00 00 95 00 00 00 00 00 00 00", [], /^instruction 0: jump to 8 is outside the program/],
  ["an endless loop", "05 00 ff ff 00 00 00 00 95 00 00 00 00 00 00 00", [], /^instruction 0: the instruction budget of \d+ is exhausted/],
  ["an out-of-bounds load", "61 10 08 00 00 00 00 00 95 00 00 00 00 00 00 00", ["00 11 22 33"], /^instruction 0: read of 4 bytes at 0x[0-9a-f]+: outside input memory/],
  ["an empty program", "", [], /^instruction 0: the program is empty$/],
  ["bad memory hex", "95 00 00 00 00 00 00 00", ["0g"], /^hex text has a non-hex character 'g'/],
];

for (const [what, stdin, args, message] of badInputs) {
  test(`${what} gives one line on stderr and exit 1`, () => {
    const r = runCli(["vm", "exec", ...args], stdin);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").length, 2, `one line expected, got: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), message);
    assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/); // no stack trace
  });
}

test("--batch runs one program per line, reporting errors in place", () => {
  const lines = [
    hex(insn(0xb7, 0, 0, 0, 7), EXIT),
    "ff 00 00 00 00 00 00 00",
    hex(insn(0xbf, 0, 2), EXIT) + " | aa bb cc",
    hex(insn(0xbf, 0, 2), EXIT),
  ].join("\n");
  const r = runCli(["vm", "exec", "--batch", "00 00"], lines + "\n");
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout.split("\n"), ["7", "error: instruction 0: unknown opcode 0xff", "3", "2", ""]);
});

test("an unknown engine or option is a usage error with status 2", () => {
  const engine = runCli(["vm", "exec", "--engine", "wasm"], hex(EXIT));
  assert.equal(engine.status, 2);
  assert.match(engine.stderr, /^bpftime: unknown engine 'wasm' \(available: interp, jit\)\n$/);
  const option = runCli(["vm", "exec", "--frobnicate"], hex(EXIT));
  assert.equal(option.status, 2);
  assert.equal(option.stderr.split("\n").length, 2);
});

test("an unknown command prints the usage and status 2", () => {
  const r = runCli(["frobnicate"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^bpftime: unknown command 'frobnicate'/);
});

test("--version prints the package version", () => {
  const r = runCli(["--version"]);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^bpftime-ts \d+\.\d+\.\d+\n$/);
});
