// The session descriptor: what `bpftime start` / `attach` / `detach` need to know about a session that a
// `bpftime load` process created — where its arena is and which programs attach where — and the records
// of the processes it is attached to (so detach can restore them). Plain JSON files next to the arena,
// mode 0600, written atomically (write a temporary file, then rename).

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { AttachTarget } from "../object/section-names.js";

export const SESSION_DIR = "/dev/shm";
const PREFIX = "bpftime-";

export interface SessionProgram {
  readonly name: string;
  readonly kind: string;
  readonly attach: AttachTarget | undefined;
}

export interface SessionDescriptor {
  readonly version: 1;
  readonly id: string;
  /** The `bpftime load` process that owns the session. */
  readonly ownerPid: number;
  readonly object: string;
  readonly arenaPath: string;
  /** Where the arena is mapped in every process (hex). */
  readonly base: string;
  readonly size: number;
  /** Bytes at the start of the arena that are data (read-write); the rest is code (read+execute). */
  readonly dataSize: number;
  readonly programs: readonly SessionProgram[];
  /** Where each map lives in the arena (hex addresses), in the object's map order. */
  readonly maps: readonly SessionMap[];
  /** The trace ring's region in the arena (hex). */
  readonly traceRing: string;
  /** The BTF CO-RE was resolved against, when not the running kernel's. */
  readonly btf?: string;
}

export interface SessionMap {
  readonly name: string;
  readonly type: number;
  readonly maxEntries: number;
  readonly address: string;
  readonly valueAddress: string;
}

/** One hooked function in one target process. */
export interface HookRecord {
  readonly function: string;
  readonly module: string;
  /** Address of the patched bytes (hex) and their original contents (hex bytes). */
  readonly patchAddress: string;
  readonly originalBytes: string;
  readonly sliceAddress: string;
  readonly controlAddress: string;
  /** Variant the dispatch word must hold to run no program (hex). */
  readonly noProgramsDispatch: string;
}

export interface TargetRecord {
  readonly pid: number;
  readonly sessionId: string;
  readonly hooks: readonly HookRecord[];
  /** When the hooks went in (ms since the epoch). */
  readonly attachedAt: number;
}

export function descriptorPath(id: string): string {
  return `${SESSION_DIR}/${PREFIX}${id}.json`;
}

export function targetsDir(id: string): string {
  return `${SESSION_DIR}/${PREFIX}${id}.targets`;
}

function writeAtomically(path: string, value: unknown): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
  renameSync(temporary, path);
}

export function writeDescriptor(descriptor: SessionDescriptor): void {
  writeAtomically(descriptorPath(descriptor.id), descriptor);
  mkdirSync(targetsDir(descriptor.id), { recursive: true, mode: 0o700 });
}

export function readDescriptor(path: string): SessionDescriptor {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as SessionDescriptor;
  if (parsed.version !== 1) throw new Error(`${path}: unknown session descriptor version ${String(parsed.version)}`);
  return parsed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Sessions whose `load` process is still running, newest first. The files of sessions whose owner died
 * without cleaning up (SIGKILL, a crash) are removed on the way, when they belong to this user.
 */
export function liveSessions(): SessionDescriptor[] {
  const found: SessionDescriptor[] = [];
  for (const name of readdirSync(SESSION_DIR)) {
    if (!name.startsWith(PREFIX) || !name.endsWith(".json")) continue;
    const path = `${SESSION_DIR}/${name}`;
    let descriptor: SessionDescriptor;
    try {
      descriptor = readDescriptor(path);
    } catch {
      continue; // a descriptor being written, or not ours
    }
    if (processAlive(descriptor.ownerPid)) found.push(descriptor);
    else if (statSync(path).uid === process.getuid?.()) removeStaleSession(descriptor);
  }
  return found.sort((a, b) => b.id.localeCompare(a.id));
}

/** The files a dead session left behind: its descriptor, target records and arena. */
function removeStaleSession(descriptor: SessionDescriptor): void {
  removeSessionFiles(descriptor.id);
  if (descriptor.arenaPath.startsWith(`${SESSION_DIR}/${PREFIX}`)) rmSync(descriptor.arenaPath, { force: true });
}

export function writeTargetRecord(record: TargetRecord): void {
  writeAtomically(`${targetsDir(record.sessionId)}/${record.pid}.json`, record);
}

export function readTargetRecords(sessionId: string): TargetRecord[] {
  const dir = targetsDir(sessionId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .map((n) => JSON.parse(readFileSync(`${dir}/${n}`, "utf8")) as TargetRecord);
}

export function removeTargetRecord(sessionId: string, pid: number): void {
  rmSync(`${targetsDir(sessionId)}/${pid}.json`, { force: true });
}

/** Removes the descriptor and target records (the arena file is removed by its owner). */
export function removeSessionFiles(id: string): void {
  rmSync(descriptorPath(id), { force: true });
  rmSync(targetsDir(id), { recursive: true, force: true });
}
