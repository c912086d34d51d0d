// Runs the built `bpftime` CLI as a child process, the way users and bpf_conformance run it.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI_PATH = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], stdin = ""): CliResult {
  const result = spawnSync(process.execPath, [CLI_PATH, ...args], { input: stdin, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
