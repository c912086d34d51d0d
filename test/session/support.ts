// What the session tests (and the uprobe benchmark) share: the C victims of test/session/victims compiled
// with gcc into a fresh directory per run, `bpftime` commands running in the background, and the files a
// session keeps in /dev/shm.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readMaps } from "../../src/process/maps.js";
import { SESSION_DIR } from "../../src/session/descriptor.js";
import { CLI_PATH } from "../support/cli.js";

const SOURCES = fileURLToPath(new URL("../../../test/session/victims/", import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const example = (name: string): string => join(REPO_ROOT, "examples", name);

export { injectSkipReason } from "../inject/victims.js";

export class SessionVictims {
  readonly dir = mkdtempSync(join(tmpdir(), "bpftime-session-victims-"));

  private compile(output: string, args: readonly string[]): string {
    const path = join(this.dir, output);
    execFileSync("gcc", ["-O2", "-g", ...args, "-o", path], { stdio: "pipe" });
    return path;
  }

  /** `malloc-counter N`: calls malloc N times, prints "pid P mallocs N". */
  mallocCounter(): string {
    return this.compile("malloc-counter", [join(SOURCES, "malloc-counter.c")]);
  }

  /** `hot-calls spin|burst`: 8 threads calling hot_function in libvictim.so (built next to it). */
  hotCalls(): string {
    this.compile("libvictim.so", ["-shared", "-fPIC", join(SOURCES, "libvictim.c")]);
    // -z now: the first call must not go through the lazy binder, which would be one more thing under the hook.
    return this.compile("hot-calls", ["-pthread", join(SOURCES, "hot-calls.c"), `-L${this.dir}`, "-lvictim", "-Wl,-rpath,$ORIGIN", "-Wl,-z,now"]);
  }

  /** `override-victim`: calls hot_function in libvictim.so with 5..8, prints results and whether it ran. */
  overrideVictim(): string {
    this.compile("libvictim.so", ["-shared", "-fPIC", join(SOURCES, "libvictim.c")]);
    return this.compile("override-victim", [join(SOURCES, "override-victim.c"), `-L${this.dir}`, "-lvictim", "-Wl,-rpath,$ORIGIN"]);
  }

  /** `bench-calls`: times N calls of push_target or step_target per input line. */
  benchCalls(): string {
    return this.compile("bench-calls", [join(SOURCES, "bench-calls.c")]);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `bpftime` command running in the background, its output collected. */
export class BackgroundCli {
  stdout = "";
  stderr = "";
  readonly finished: Promise<Finished>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => this.grow("stdout", chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => this.grow("stderr", chunk));
    this.finished = new Promise((resolve) => {
      // "close", not "exit": the output pipes are drained by then.
      this.child.once("close", (code, signal) => {
        this.grow("stdout", "");
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first match of `pattern` in stderr, waiting for it; rejects if the command ends first or in time. */
  async waitForStderr(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.finished.then(() => (ended = true));
    for (;;) {
      const match = this.stderr.match(pattern);
      if (match) return match;
      if (ended) throw new Error(`bpftime ended without printing ${pattern}; stderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Ctrl-C, as a user ends `bpftime load`; resolves when it has exited. */
  interrupt(): Promise<Finished> {
    this.child.kill("SIGINT");
    return this.finished;
  }

  /** Ends it for good (cleanup after a failed test). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  private grow(stream: "stdout" | "stderr", chunk: string): void {
    this[stream] += chunk;
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }
}

/** Runs a `bpftime` command to its end without blocking the event loop (victims keep being read). */
export function runCliInBackground(args: readonly string[]): Promise<Finished> {
  return new BackgroundCli(args).finished;
}

/** Starts `bpftime load OBJ ...` and waits until its session exists; returns it and the session id. */
export async function loadSession(args: readonly string[]): Promise<{ load: BackgroundCli; id: string }> {
  const load = new BackgroundCli(["load", ...args]);
  try {
    const match = await load.waitForStderr(/session (\S+) loaded/);
    return { load, id: match[1]! };
  } catch (error) {
    load.kill();
    throw error;
  }
}

/** The names in /dev/shm that belong to session `id` (descriptor, targets directory, arena). */
export function sessionFiles(id: string): string[] {
  return readdirSync(SESSION_DIR).filter((name) => name.includes(id));
}

/** The JSON objects of NDJSON output; throws on the first line that is not one. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
}

/** The entries of the `map` line named `name` (the last one, which is what a session prints at its end). */
export function mapEntriesOf(lines: readonly Record<string, unknown>[], name: string): { key: unknown; value: unknown }[] {
  const dumps = lines.filter((l) => l.type === "map" && l.name === name);
  const last = dumps[dumps.length - 1];
  if (!last) throw new Error(`no map line for '${name}' in ${JSON.stringify(lines)}`);
  return last.entries as { key: unknown; value: unknown }[];
}

/** [start, end) of the mappings of file `path` in process `pid`. */
export function fileRange(pid: number, path: string): { start: bigint; end: bigint } {
  const mapped = readMaps(pid).filter((m) => m.path === path);
  if (mapped.length === 0) throw new Error(`${path} is not mapped in process ${pid}`);
  return { start: mapped.reduce((a, m) => (m.start < a ? m.start : a), mapped[0]!.start), end: mapped.reduce((a, m) => (m.end > a ? m.end : a), 0n) };
}
