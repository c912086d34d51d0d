// The ELF file behind a mapped module, read as the target sees it: through /proc/PID/root (the target may
// live in another mount namespace) or /proc/PID/map_files (the file may have been deleted since it was
// mapped), falling back to the plain path.

import { readFileSync, statSync } from "node:fs";
import { ElfFile } from "../elf/file.js";
import { ProcessError } from "./errors.js";
import type { ProcessModule } from "./maps.js";
import { taskFile } from "./tasks.js";

const cache = new Map<string, ElfFile>();
const CACHE_LIMIT = 16;

function candidatePaths(pid: number | undefined, tid: number | undefined, module: ProcessModule): string[] {
  const paths: string[] = [];
  const first = module.mappings[0];
  if (pid !== undefined && module.deleted && first !== undefined) {
    paths.push(`/proc/${pid}/map_files/${first.start.toString(16)}-${first.end.toString(16)}`);
  }
  if (pid !== undefined) paths.push(`${taskFile(pid, tid, "root")}${module.path}`);
  paths.push(module.path);
  return paths;
}

/**
 * The parsed ELF file of `module` in process `pid` (seen through thread `tid`, see taskFile), cached by file
 * identity (device, inode, size, modification time).
 */
export function moduleElf(module: ProcessModule, pid?: number, tid?: number): ElfFile {
  for (const path of candidatePaths(pid, tid, module)) {
    let key: string;
    try {
      const stat = statSync(path, { bigint: true });
      key = `${module.device}/${module.inode}/${stat.size}/${stat.mtimeNs}`;
    } catch {
      continue;
    }
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    let elf: ElfFile;
    try {
      elf = ElfFile.parse(readFileSync(path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "ENOENT") continue;
      throw error;
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, elf);
    return elf;
  }
  throw new ProcessError("PROC_MODULE_NOT_FOUND", `cannot read ${module.path}${module.deleted ? " (deleted)" : ""}`);
}
