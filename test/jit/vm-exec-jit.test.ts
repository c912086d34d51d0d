// `bpftime vm exec --engine jit`: the plugin protocol on native code, with every bad program contained
// (checked code turns wild accesses and endless loops into one-line errors instead of a crash).

import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble } from "../../src/isa/assembler.js";
import { encodeProgram, formatHexBytes, insn, lddw } from "../../src/isa/instruction.js";
import { runCli } from "../support/cli.js";
import { conformanceFiles, parseConformanceFile, readConformanceFile } from "../support/conformance-file.js";

const hex = (...program: Parameters<typeof encodeProgram>[0]): string => formatHexBytes(encodeProgram(program));
const EXIT = insn(0x95);
const jit = (args: string[], stdin: string) => runCli(["vm", "exec", "--engine", "jit", ...args], stdin);

test("prints r0 in hex; memory is r1/r2", () => {
  assert.deepEqual(jit(["01 02 03 04 05"], hex(insn(0xbf, 0, 2), EXIT)), { status: 0, stdout: "5\n", stderr: "" });
  assert.equal(jit([], hex(...lddw(0, 0x1122334455667788n), EXIT)).stdout, "1122334455667788\n");
  assert.equal(jit(["11 22 33 44"], hex(insn(0x61, 0, 1, 0), EXIT)).stdout, "44332211\n");
});

const contained: ReadonlyArray<readonly [string, string, string[], RegExp]> = [
  ["a load past the input", hex(insn(0x61, 0, 1, 8), EXIT), ["00 11 22 33"], /^instruction 0: read of 4 bytes at 0x[0-9a-f]+: outside the stack and the input memory/],
  ["a store through a wild pointer", hex(...lddw(1, 0xdead0000n), insn(0x7a, 1, 0, 0, 1), EXIT), [], /^instruction 2: write of 8 bytes at 0xdead0000: outside/],
  ["a load below the stack", hex(insn(0x79, 0, 10, -4100), EXIT), [], /^instruction 0: read of 8 bytes at/],
  ["an endless loop", hex(insn(0x05, 0, 0, -1), EXIT), ["--budget", "1000"], /^instruction 0: the instruction budget of 1000 is exhausted/],
  ["an unknown opcode", hex(insn(0xff), EXIT), [], /^instruction 0: unknown opcode 0xff$/],
  ["a call to a helper it lacks", hex(insn(0x85, 0, 0, 0, 1), EXIT), [], /^instruction 0: call to unknown helper 1/],
  ["recursion", hex(insn(0x85, 0, 1, 0, -1), EXIT), [], /recursion/],
];

for (const [what, stdin, args, message] of contained) {
  test(`${what} gives one line on stderr and exit 1, not a crash`, () => {
    const r = jit(args, stdin);
    assert.equal(r.status, 1, `status ${r.status}, stderr ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").length, 2, `one line expected, got: ${r.stderr}`);
    assert.match(r.stderr.trimEnd(), message);
  });
}

test("--batch runs the whole conformance suite in one process", () => {
  const names = conformanceFiles("tests");
  const files = names.map((name) => parseConformanceFile(readConformanceFile("tests", name)));
  const lines = files.map((file) => {
    const program = file.raw ?? assemble(file.asm!);
    return formatHexBytes(encodeProgram(program)) + (file.mem ? ` | ${formatHexBytes(file.mem)}` : "");
  });
  const r = jit(["--batch"], lines.join("\n") + "\n");
  assert.equal(r.status, 0, r.stderr);
  const results = r.stdout.trimEnd().split("\n");
  assert.equal(results.length, files.length);
  const wrong = files.flatMap((file, i) => (results[i] === file.result!.toString(16) ? [] : [`${names[i]}: ${results[i]}`]));
  assert.deepEqual(wrong, []);
});
