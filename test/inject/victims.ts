// Test victims: small C programs in test/victims, compiled with gcc into a fresh temporary directory per test
// run, started with pipes, and read line by line.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const VICTIM_SOURCES = fileURLToPath(new URL("../../../test/victims/", import.meta.url));

function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why the injection tests cannot run here, or undefined when they can. */
export function injectSkipReason(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return "ptrace injection is implemented for Linux x86-64 only";
  if (!commandWorks("gcc", ["--version"])) return "gcc is not installed (needed to build the test victims)";
  const yama = "/proc/sys/kernel/yama/ptrace_scope";
  if (existsSync(yama)) {
    const scope = Number(readFileSync(yama, "utf8").trim());
    if (scope === 3) return "ptrace is disabled (kernel.yama.ptrace_scope = 3)";
    if (scope >= 1 && process.getuid?.() !== 0) return `Yama forbids tracing non-descendants (kernel.yama.ptrace_scope = ${scope}) and we are not root`;
  }
  return undefined;
}

export class VictimBuilder {
  readonly dir = mkdtempSync(join(tmpdir(), "bpftime-victims-"));

  /** Compiles test/victims/<name>.c into the temporary directory; returns the executable's path. */
  build(name: string, flags: readonly string[] = [], output = name): string {
    const path = join(this.dir, output);
    execFileSync("gcc", ["-O2", "-g", "-pthread", ...flags, "-o", path, join(VICTIM_SOURCES, `${name}.c`), "-ldl"], { stdio: "pipe" });
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A running victim with its output collected line by line. */
export class Victim {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  stderr = "";

  constructor(readonly process: ChildProcess) {
    let partial = "";
    process.stdout?.setEncoding("utf8");
    process.stdout?.on("data", (chunk: string) => {
      partial += chunk;
      const parts = partial.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.addLine(line);
    });
    process.stderr?.setEncoding("utf8");
    process.stderr?.on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => process.on("exit", (code, signal) => resolve({ code, signal })));
  }

  static start(path: string, args: readonly string[] = []): Victim {
    return new Victim(spawn(path, args, { stdio: ["pipe", "pipe", "pipe"] }));
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** The first line (already seen or still to come) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got: ${this.lines.join(" | ")}`)), timeoutMs);
      this.waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Writes to the victim's standard input (the write completes in the background). */
  send(text: string): void {
    this.process.stdin?.write(text);
  }

  /** Closes standard input and waits for the exit. */
  async finish(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.process.stdin?.end();
    return this.exited;
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
  }

  private addLine(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pattern.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}
