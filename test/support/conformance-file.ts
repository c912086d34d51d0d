// Reader for bpf_conformance `.data` test files (the suite vendored at <repo>/../shared/conformance).
//
// A line whose text (after stripping a `#` comment) starts with `--` opens a section. The sections used are
// `-- asm` (program text), `-- raw` (encoded program), `-- mem` (input bytes), `-- result` (expected r0) and
// `-- error` (expected error text); `-- c` and `-- no register offset` are ignored. bpf_conformance skips a
// file with an unknown section; this reader throws, so a caller can never mistake such a file for a test.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeProgram, type Insn } from "../../src/isa/instruction.js";

export interface ConformanceFile {
  /** The `-- asm` section with comments removed; line N is the Nth line after `-- asm`. */
  asm?: string;
  /** The `-- raw` section decoded into slots. */
  raw?: Insn[];
  /** The `-- mem` bytes: the program gets r1 = their address and r2 = their length. */
  mem?: Uint8Array;
  /** Expected r0 as a u64: the section's last non-empty line, hex when it contains 0x, decimal otherwise. */
  result?: bigint;
  /** Expected error: the section's last non-empty line ("" when the section is empty: any error will do). */
  error?: string;
}

type Section = "asm" | "raw" | "mem" | "result" | "error" | "ignored";

const SECTIONS: ReadonlyMap<string, Section> = new Map<string, Section>([
  ["asm", "asm"],
  ["raw", "raw"],
  ["mem", "mem"],
  ["result", "result"],
  ["error", "error"],
  ["c", "ignored"],
  ["no register offset", "ignored"],
]);

export function parseConformanceFile(text: string): ConformanceFile {
  const lines = new Map<Section, string[]>();
  let section: Section | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*/, "").trim();
    if (line.startsWith("--")) {
      const name = line.slice(2).trim();
      section = SECTIONS.get(name);
      if (section === undefined) throw new Error(`unknown section '-- ${name}'`);
      if (!lines.has(section)) lines.set(section, []);
      continue;
    }
    if (section === undefined || section === "ignored") continue;
    // Blank lines are kept in asm only, so that assembler line numbers count from the `-- asm` line.
    if (line !== "" || section === "asm") lines.get(section)!.push(line);
  }

  const file: ConformanceFile = {};
  const asm = lines.get("asm");
  if (asm !== undefined) file.asm = asm.join("\n").trimEnd();
  const raw = lines.get("raw");
  if (raw !== undefined) file.raw = decodeProgram(rawBytes(raw));
  const mem = lines.get("mem");
  if (mem !== undefined) file.mem = memBytes(mem);
  const result = lines.get("result");
  if (result !== undefined && result.length > 0) file.result = parseResult(result[result.length - 1]!);
  const error = lines.get("error");
  if (error !== undefined) file.error = error[error.length - 1] ?? "";
  return file;
}

const BYTE_TOKEN = /^[0-9a-f]{2}$/i;

/**
 * Raw programs come in two forms: one 64-bit little-endian word per token (`0x5566778800000018`, as in
 * tests/lddw.data), or one instruction per line as its 8 bytes (`85 01 00 00 00 00 00 00`, negative/unused-*).
 */
function rawBytes(lines: readonly string[]): Uint8Array {
  const bytes: number[] = [];
  for (const line of lines) {
    const tokens = line.split(/\s+/);
    if (tokens.length === 8 && tokens.every((t) => BYTE_TOKEN.test(t))) {
      bytes.push(...tokens.map((t) => parseInt(t, 16)));
      continue;
    }
    for (const token of tokens) {
      const word = BigInt.asUintN(64, BigInt(token));
      for (let i = 0n; i < 8n; i++) bytes.push(Number((word >> (8n * i)) & 0xffn));
    }
  }
  return Uint8Array.from(bytes);
}

function memBytes(lines: readonly string[]): Uint8Array {
  const tokens = lines.flatMap((line) => line.split(/\s+/));
  return Uint8Array.from(tokens, (token) => {
    const value = parseInt(token.replace(/^0x/i, ""), 16);
    if (!(value >= 0 && value <= 0xff) || !/^(0x)?[0-9a-f]+$/i.test(token)) throw new Error(`bad byte '${token}' in -- mem`);
    return value;
  });
}

function parseResult(text: string): bigint {
  const value = text.includes("0x") ? BigInt(text.slice(text.indexOf("0x"))) : BigInt(text);
  return BigInt.asUintN(64, value);
}

/**
 * The conformance suite's directory: $BPFTIME_CONFORMANCE_DIR when set, otherwise `../shared/conformance`
 * next to the repository root (the nearest directory above this file that holds package.json).
 */
export function conformanceDir(): string {
  const override = process.env["BPFTIME_CONFORMANCE_DIR"];
  if (override !== undefined && override !== "") return resolve(override);
  // A copy of the workspace's ../shared/conformance (data files only, with their licence), so a clean
  // clone anywhere has the suite.
  return resolve(repoRoot(), "test", "data", "bpf_conformance");
}

/** The `.data` file names of a suite directory ("tests" or "negative"), sorted. */
export function conformanceFiles(subdir: string): string[] {
  return readdirSync(join(conformanceDir(), subdir))
    .filter((name) => name.endsWith(".data"))
    .sort();
}

/** The text of one suite file, e.g. readConformanceFile("tests", "lddw.data"). */
export function readConformanceFile(subdir: string, name: string): string {
  return readFileSync(join(conformanceDir(), subdir, name), "utf8");
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}
