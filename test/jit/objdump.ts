// Disassembly of raw x86-64 bytes with binutils' objdump (Intel syntax), for the assembler's form tests.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DisassembledLine {
  offset: number;
  /** The instruction's bytes as objdump prints them: hex pairs separated by spaces. */
  hex: string;
  /** Mnemonic and operands with runs of spaces collapsed. */
  text: string;
}

export function objdumpAvailable(): boolean {
  return spawnSync("objdump", ["--version"], { encoding: "utf8" }).status === 0;
}

/** Every instruction objdump finds in `code` (long instructions wrap onto continuation lines, joined here). */
export function objdump(code: Uint8Array): DisassembledLine[] {
  const dir = mkdtempSync(join(tmpdir(), "x64-forms-"));
  try {
    const file = join(dir, "code.bin");
    writeFileSync(file, code);
    const result = spawnSync("objdump", ["-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel", "-w", file], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (result.status !== 0) throw new Error(`objdump failed: ${result.stderr}`);
    const lines: DisassembledLine[] = [];
    for (const line of result.stdout.split("\n")) {
      const match = /^\s*([0-9a-f]+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
      if (!match) continue;
      lines.push({ offset: parseInt(match[1]!, 16), hex: match[2]!.trim(), text: match[3]!.replace(/\s+/g, " ").trim() });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
