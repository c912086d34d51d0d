// The committed disassembly of every form case (test/fixtures/jit/x64-forms.tsv: name, bytes, objdump's
// text), so the form test runs without objdump; with objdump present the test re-derives it.

import { readFileSync, writeFileSync } from "node:fs";
import { CodeBuffer } from "../../src/jit/x64/assembler/code-buffer.js";
import { objdump } from "./objdump.js";
import type { FormCase } from "./x64-forms.js";

export interface FormExpectation {
  hex: string;
  text: string;
}

export const FIXTURE_URL = new URL("../../../test/fixtures/jit/x64-forms.tsv", import.meta.url);

export function readFixture(): Map<string, FormExpectation> {
  const out = new Map<string, FormExpectation>();
  for (const line of readFileSync(FIXTURE_URL, "utf8").split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [name, hex, text] = line.split("\t");
    out.set(name!, { hex: hex!, text: text! });
  }
  return out;
}

export function writeFixture(rows: ReadonlyMap<string, FormExpectation>): void {
  const lines = ["# name\tbytes\tobjdump -M intel (relative branch targets as .+N from the instruction's start)"];
  for (const [name, { hex, text }] of rows) lines.push(`${name}\t${hex}\t${text}`);
  writeFileSync(FIXTURE_URL, lines.join("\n") + "\n");
}

export function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Each case's bytes, emitted into a buffer of its own (so relative targets count from the case's start). */
export function emitCases(cases: readonly FormCase[]): Uint8Array[] {
  return cases.map((c) => {
    const buf = new CodeBuffer(16);
    c.emit(buf);
    return buf.toBytes();
  });
}

export interface LiveDisassembly {
  /** The instructions objdump found in the case's bytes. */
  lines: { hex: string; text: string }[];
}

/**
 * Disassembles all cases in one objdump run. Absolute branch targets are rewritten relative to the start
 * of their case, and objdump's `# 0x...` address comments are dropped, so texts do not depend on layout.
 */
export function disassembleCases(codes: readonly Uint8Array[]): LiveDisassembly[] {
  const starts: number[] = [];
  let total = 0;
  for (const code of codes) {
    starts.push(total);
    total += code.length;
  }
  const all = new Uint8Array(total);
  codes.forEach((code, i) => all.set(code, starts[i]!));
  const result: LiveDisassembly[] = codes.map(() => ({ lines: [] }));
  let caseIndex = 0;
  for (const line of objdump(all)) {
    while (caseIndex + 1 < codes.length && line.offset >= starts[caseIndex + 1]!) caseIndex++;
    const start = starts[caseIndex]!;
    let text = line.text.replace(/\s*#.*$/, "");
    text = text.replace(/^((?:call|jmp|j[a-z]+)\s+)0x([0-9a-f]+)$/, (_, head: string, target: string) => {
      const relative = parseInt(target, 16) - start;
      return `${head}.${relative < 0 ? "-" : "+"}${Math.abs(relative)}`;
    });
    result[caseIndex]!.lines.push({ hex: line.hex, text });
  }
  return result;
}
