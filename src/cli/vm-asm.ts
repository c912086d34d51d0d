// `bpftime vm asm` and `bpftime vm disasm`: between assembler text and the hex that `vm exec` reads.

import { readFileSync } from "node:fs";
import { assemble } from "../isa/assembler.js";
import { disassemble, type DisassemblyStyle } from "../isa/disassembler.js";
import { decodeProgram, encodeProgram, formatHexBytes, parseHexBytes } from "../isa/instruction.js";
import { parseCommandLine, UsageError } from "./errors.js";
import { readStdin } from "./stdin.js";

export const VM_ASM_USAGE = `usage: bpftime vm asm [FILE]
Assembles bpf_conformance assembler text (FILE, or stdin) and prints the program as hex for 'vm exec'.`;

export const VM_DISASM_USAGE = `usage: bpftime vm disasm [--style llvm|conformance]
Reads a program as hex on stdin and prints it as llvm-objdump would (default) or as assembler text.`;

export async function vmAsm(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(VM_ASM_USAGE + "\n");
    return 0;
  }
  const file = positionals[0];
  const source = file === undefined || file === "-" ? await readStdin() : readSource(file);
  process.stdout.write(formatHexBytes(encodeProgram(assemble(source))) + "\n");
  return 0;
}

export async function vmDisasm(argv: string[]): Promise<number> {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      style: { type: "string", default: "llvm" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(VM_DISASM_USAGE + "\n");
    return 0;
  }
  if (values.style !== "llvm" && values.style !== "conformance") {
    throw new UsageError(`unknown style '${values.style}' (available: llvm, conformance)`);
  }
  const program = decodeProgram(parseHexBytes(await readStdin()));
  process.stdout.write(disassemble(program, { style: values.style as DisassemblyStyle }));
  return 0;
}

function readSource(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 1);
  }
}
