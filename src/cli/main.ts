#!/usr/bin/env node
// The `bpftime` command: dispatches to one verb per module and turns every error into one line on stderr.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "./errors.js";
import { inspect } from "./inspect.js";
import { run } from "./run.js";
import { attach, detach, load, start } from "./session-commands.js";
import { testRun } from "./test-run.js";
import { vmAsm, vmDisasm } from "./vm-asm.js";
import { vmExec } from "./vm-exec.js";

const USAGE = `usage: bpftime <command> [options]

commands:
  inspect      show the programs, maps and globals of a BPF object
  test-run     run one program of a BPF object in this process (like BPF_PROG_TEST_RUN)
  run          run a command with an object's uprobes attached before its main
  load         start a session for an object and print what its programs report
  start        run a command inside the running session
  attach       inject the running session into a process
  detach       restore processes and let them run unhooked
  vm exec      run a raw eBPF program (bpf_conformance plugin protocol)
  vm asm       assemble bpf_conformance assembler text into hex
  vm disasm    disassemble hex as llvm-objdump does

Run 'bpftime <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: ReadonlyMap<string, Command> = new Map([
  ["inspect", inspect],
  ["test-run", testRun],
  ["run", run],
  ["load", load],
  ["start", start],
  ["attach", attach],
  ["detach", detach],
  ["vm exec", vmExec],
  ["vm asm", vmAsm],
  ["vm disasm", vmDisasm],
]);

/** The package's version, from the package.json next to dist/. */
function version(): string {
  const path = fileURLToPath(new URL("../../../package.json", import.meta.url));
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "--version" || argv[0] === "-V") {
    process.stdout.write(`bpftime-ts ${version()}\n`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write(USAGE + "\n");
    return argv.length === 0 ? 2 : 0;
  }
  for (const [name, command] of commands) {
    const words = name.split(" ");
    if (words.every((w, i) => argv[i] === w)) return command(argv.slice(words.length));
  }
  throw new UsageError(`unknown command '${argv.slice(0, 2).join(" ")}'\n${USAGE}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    // Errors of the runtime carry a stable code (OBJ_*, ELF_*, BTF_*, PROG_*, VM_*); show it first.
    const code = (error as { code?: unknown }).code;
    const prefix = typeof code === "string" && !(error instanceof UsageError) ? `${code}: ` : "";
    process.stderr.write(`bpftime: ${prefix}${message}\n`);
    process.exitCode = error instanceof UsageError ? error.exitCode : 1;
  },
);
