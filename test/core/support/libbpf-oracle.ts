// libbpf as an oracle: `bpftool -d prog loadall` relocates an object with libbpf against the running kernel
// and logs every CO-RE decision ("relo #3: patched insn #12 (LDX/ST/STX) off 16 -> 24", "substituting insn
// #40 w/ invalid insn"). The programs are loaded into a private bpffs mount and unpinned at once.
//
// Some objects leave map sizes to their user-space half (max_entries 0, stack map value sizes); libbpf then
// fails to create the map before relocating. Such maps are created here with plausible sizes and handed to
// bpftool, so that libbpf gets as far as relocation.

import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A relocation's outcome as libbpf logged it: the new value (unsigned decimal) or "poison". */
export type LibbpfDecision = string;

/** "prog/relo#/insn#" -> decision. */
export type LibbpfDecisions = Map<string, LibbpfDecision>;

export function decisionKey(program: string, reloIndex: number, insnIndex: number): string {
  return `${program}/${reloIndex}/${insnIndex}`;
}

export function parseDecisions(log: string): LibbpfDecisions {
  const decisions: LibbpfDecisions = new Map();
  for (const m of log.matchAll(/prog '([^']+)': relo #(\d+): patched insn #(\d+) \([^)]+\) (?:imm64|imm|off) -?\d+ -> (\d+)/g)) {
    decisions.set(decisionKey(m[1]!, Number(m[2]), Number(m[3])), m[4]!);
  }
  for (const m of log.matchAll(/prog '([^']+)': relo #(\d+): substituting insn #(\d+) w\/ invalid insn/g)) {
    const key = decisionKey(m[1]!, Number(m[2]), Number(m[3]));

    if (!decisions.has(key)) decisions.set(key, "poison");
  }
  return decisions;
}

/** bpftool's names for the map types libbpf-tools leaves unsized. */
const MAP_TYPE_NAMES: Record<number, string> = { 1: "hash", 2: "array", 5: "percpu_hash", 6: "percpu_array", 7: "stack_trace", 9: "lru_hash" };
const STACK_TRACE = 7;
const DEFAULT_STACK_DEPTH = 127;
const MAX_MAP_FIXES = 8;

interface MapShape {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

function mapShapes(log: string): Map<string, Partial<MapShape>> {
  const shapes = new Map<string, Partial<MapShape>>();
  const shape = (name: string): Partial<MapShape> => {
    let found = shapes.get(name);
    if (!found) shapes.set(name, (found = {}));
    return found;
  };
  for (const m of log.matchAll(/map '([^']+)': found type = (\d+)\./g)) shape(m[1]!).type = Number(m[2]);
  for (const m of log.matchAll(/map '([^']+)': found key(?: \[\d+\], sz|_size) = (\d+)\./g)) shape(m[1]!).keySize = Number(m[2]);
  for (const m of log.matchAll(/map '([^']+)': found value(?: \[\d+\], sz|_size) = (\d+)\./g)) shape(m[1]!).valueSize = Number(m[2]);
  for (const m of log.matchAll(/map '([^']+)': found max_entries = (\d+)\./g)) shape(m[1]!).maxEntries = Number(m[2]);
  return shapes;
}

export class LibbpfOracle {
  private readonly dir: string;
  private mounted = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "core-oracle-"));
  }

  /** Mounts the private bpffs; returns a reason when that is impossible. */
  start(): string | undefined {
    const bpftool = spawnSync("bpftool", ["version"], { encoding: "utf8" });
    if (bpftool.status !== 0) return "bpftool is not installed (apt-get install -y bpftool)";
    const mount = spawnSync("mount", ["-t", "bpf", "bpf", this.dir], { encoding: "utf8" });
    if (mount.status !== 0) return `cannot mount a bpffs for bpftool: ${mount.stderr.trim()}`;
    this.mounted = true;
    return undefined;
  }

  stop(): void {
    if (this.mounted) spawnSync("umount", [this.dir]);
    this.mounted = false;
    try {
      rmdirSync(this.dir);
    } catch {
      // Still mounted or not empty: leave it rather than risk removing anything else.
    }
  }

  /** libbpf's CO-RE decisions for the object at `path` (empty when libbpf stops before relocating). */
  decisions(path: string): LibbpfDecisions {
    const reuse: string[] = [];
    const created = new Set<string>();
    let log = this.loadAll(path, reuse);
    // libbpf stops at the first map it cannot create, so they show up one per attempt.
    for (let attempt = 0; attempt < MAX_MAP_FIXES; attempt++) {
      const failed = [...log.matchAll(/map '([^']+)': failed to create/g)].map((m) => m[1]!).filter((n) => !created.has(n));
      if (failed.length === 0) break;
      const shapes = mapShapes(log);
      for (const name of failed) {
        created.add(name);
        const pin = this.createMap(name, shapes.get(name) ?? {});
        if (pin !== undefined) reuse.push("map", "name", name, "pinned", pin);
      }
      log = this.loadAll(path, reuse);
    }
    for (let i = 4; i < reuse.length; i += 5) rmSync(reuse[i]!, { force: true });
    return parseDecisions(log);
  }

  private loadAll(path: string, extra: string[]): string {
    const pins = join(this.dir, "progs");
    const run = spawnSync("bpftool", ["-d", "prog", "loadall", path, pins, ...extra], { encoding: "utf8", maxBuffer: 64 << 20 });
    rmSync(pins, { recursive: true, force: true });
    return `${run.stdout}\n${run.stderr}`;
  }

  private createMap(name: string, shape: Partial<MapShape>): string | undefined {
    const typeName = shape.type === undefined ? undefined : MAP_TYPE_NAMES[shape.type];
    if (typeName === undefined || shape.keySize === undefined) return undefined;
    const valueSize = shape.valueSize ?? (shape.type === STACK_TRACE ? DEFAULT_STACK_DEPTH * 8 : 8);
    const entries = shape.maxEntries || 1024;
    const pin = join(this.dir, `map-${name}`);
    execFileSync("bpftool", ["map", "create", pin, "type", typeName, "key", String(shape.keySize), "value", String(valueSize), "entries", String(entries), "name", name.slice(0, 15)]);
    return pin;
  }
}
