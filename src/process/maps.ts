// /proc/PID/maps: every mapping of a process, and the loaded modules (executable, shared libraries) built
// from the file-backed ones.

import { readFileSync, realpathSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { ProcessError, procAccessError } from "./errors.js";
import { taskFile } from "./tasks.js";

export interface MapEntry {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** The four permission letters, e.g. "r-xp". */
  perms: string;
  readable: boolean;
  writable: boolean;
  executable: boolean;
  /** MAP_SHARED ('s') rather than private ('p'). */
  shared: boolean;
  /** Offset in the mapped file. */
  offset: bigint;
  /** Device as "major:minor" in hex, exactly as maps prints it. */
  device: string;
  inode: bigint;
  /** The file's path; "" for anonymous memory; "[heap]", "[stack]", "[vdso]", ... for special mappings. */
  path: string;
  /** The file was unlinked after being mapped (maps appends " (deleted)"). */
  deleted: boolean;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][ps]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) *(.*)$/;
const DELETED = " (deleted)";

export function parseMaps(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const match = LINE.exec(line);
    if (match === null) throw new Error(`unrecognised /proc/PID/maps line: ${line}`);
    const [, start, end, perms, offset, device, inode, rawPath] = match as unknown as [string, string, string, string, string, string, string, string];
    const deleted = rawPath.startsWith("/") && rawPath.endsWith(DELETED);
    entries.push({
      start: BigInt(`0x${start}`),
      end: BigInt(`0x${end}`),
      perms,
      readable: perms[0] === "r",
      writable: perms[1] === "w",
      executable: perms[2] === "x",
      shared: perms[3] === "s",
      offset: BigInt(`0x${offset}`),
      device,
      inode: BigInt(inode),
      path: deleted ? rawPath.slice(0, -DELETED.length) : rawPath,
      deleted,
    });
  }
  return entries;
}

/** The process's mappings, read through thread `tid` (see taskFile). */
export function readMaps(pid: number, tid?: number): MapEntry[] {
  let text: string;
  try {
    text = readFileSync(taskFile(pid, tid, "maps"), "utf8");
  } catch (error) {
    throw procAccessError(pid, error, "the memory map");
  }
  return parseMaps(text);
}

/** The mapping containing `address`, if any. */
export function mappingAt(entries: readonly MapEntry[], address: bigint): MapEntry | undefined {
  return entries.find((e) => address >= e.start && address < e.end);
}

/** One mapped file: an executable or shared library as the loader laid it out. */
export interface ProcessModule {
  path: string;
  /** The file name part of `path`, which `findModule` matches bare names against. */
  name: string;
  device: string;
  inode: bigint;
  deleted: boolean;
  /** Start of the module's first mapping (the one holding file offset 0 for a normally loaded ELF). */
  base: bigint;
  /** End of its last file mapping. */
  end: bigint;
  mappings: MapEntry[];
}

/**
 * Groups file-backed mappings into modules. A mapping at file offset 0 starts a new module of that file;
 * later mappings of the same file join the most recent one, which is how ld.so maps segments.
 */
export function modulesOf(entries: readonly MapEntry[]): ProcessModule[] {
  const modules: ProcessModule[] = [];
  const latest = new Map<string, ProcessModule>();
  for (const entry of entries) {
    if (!entry.path.startsWith("/")) continue;
    const key = `${entry.device}/${entry.inode}/${entry.path}`;
    let module = latest.get(key);
    if (module === undefined || entry.offset === 0n) {
      module = {
        path: entry.path,
        name: basename(entry.path),
        device: entry.device,
        inode: entry.inode,
        deleted: entry.deleted,
        base: entry.start,
        end: entry.end,
        mappings: [],
      };
      modules.push(module);
      latest.set(key, module);
    }
    module.mappings.push(entry);
    if (entry.end > module.end) module.end = entry.end;
  }
  return modules;
}

/** glibc's dev_t encoding, as Node's stat reports it, turned into maps' "major:minor" hex form. */
function deviceString(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
}

function sameFileAs(path: string): (m: ProcessModule) => boolean {
  let real: string | undefined;
  let identity: { device: string; inode: bigint } | undefined;
  try {
    real = realpathSync(path);
    const stat = statSync(path, { bigint: true });
    identity = { device: deviceString(stat.dev), inode: stat.ino };
  } catch {
    // The file may exist only in the target's mount namespace: the plain path comparison still applies.
  }
  return (m) =>
    m.path === path ||
    (real !== undefined && m.path === real) ||
    (identity !== undefined && m.inode === identity.inode && m.device === identity.device);
}

/**
 * Finds the module `spec` names: an absolute path (compared as given, after resolving symlinks, and by
 * device and inode), a relative path with a slash (resolved against our working directory), or a bare file
 * name such as "libc.so.6" matched against the file names of the mapped modules. Several mappings of one
 * file resolve to the one that has executable code; two different files with that name are an error.
 */
export function findModule(modules: readonly ProcessModule[], spec: string, pid?: number): ProcessModule {
  const matches = spec.includes("/") ? modules.filter(sameFileAs(resolve(spec))) : modules.filter((m) => m.name === spec);
  const where = pid === undefined ? "the process" : `process ${pid}`;
  if (matches.length === 0) {
    const names = [...new Set(modules.map((m) => m.name))].join(", ");
    throw new ProcessError("PROC_MODULE_NOT_FOUND", `${where} has no module ${spec} mapped (it maps: ${names || "nothing"})`);
  }
  const files = new Set(matches.map((m) => `${m.device}/${m.inode}`));
  if (files.size > 1) {
    const paths = [...new Set(matches.map((m) => m.path))].join(", ");
    throw new ProcessError("PROC_MODULE_AMBIGUOUS", `${spec} matches several files in ${where}: ${paths}; give an absolute path`);
  }
  return matches.find((m) => m.mappings.some((e) => e.executable)) ?? matches[0]!;
}
