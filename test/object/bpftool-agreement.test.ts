// `inspect` agrees with bpftool: the kernel loads each fixture through libbpf (bpftool prog loadall) and
// reports the maps and programs it created; our spec of the same object must describe the same ones.

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { readObjectFile } from "../../src/object/object-file.js";
import { mapTypeName, progTypeName } from "../../src/object/type-names.js";
import { examplePath } from "../support/examples.js";

const FIXTURES = ["features.bpf.o", "legacy_maps.bpf.o", "malloc.bpf.o", "funclatency.bpf.o", "bashreadline.bpf.o"];

function skipReason(): string | undefined {
  if (spawnSync("bpftool", ["version"]).status !== 0) return "bpftool is not installed (apt-get install bpftool)";
  const bpf = kernelBpfAvailable();
  if (!bpf.ok) return `kernel eBPF is not available: ${bpf.reason}`;
  try {
    readdirSync("/sys/fs/bpf");
  } catch {
    return "bpffs is not mounted at /sys/fs/bpf";
  }
  return undefined;
}

const bpftoolJson = (...args: string[]): Record<string, unknown> => JSON.parse(execFileSync("bpftool", ["-j", ...args], { encoding: "utf8" })) as Record<string, unknown>;

for (const fixture of FIXTURES) {
  test(`inspect agrees with bpftool on ${fixture}`, { skip: skipReason() }, () => {
    const pins = mkdtempSync("/sys/fs/bpf/bpftime-test-");
    try {
      const progDir = join(pins, "progs");
      const mapDir = join(pins, "maps");
      const load = spawnSync("bpftool", ["prog", "loadall", examplePath(fixture), progDir, "pinmaps", mapDir], { encoding: "utf8" });
      if (load.status !== 0 && /legacy map definitions/i.test(load.stderr)) {
        // libbpf >= 1.0 refuses the legacy `maps` section outright; there is nothing to compare.
        assert.match(fixture, /legacy/);
        return;
      }
      assert.equal(load.status, 0, load.stderr);
      const spec = readObjectFile(examplePath(fixture)).spec;

      const kernelMaps = readdirSync(mapDir)
        .map((pin) => bpftoolJson("map", "show", "pinned", join(mapDir, pin)))
        .map((m) => [m["name"], m["type"], m["bytes_key"], m["bytes_value"], m["max_entries"]])
        .sort();
      const ourMaps = spec.maps.map((m) => [m.kernelName, mapTypeName(m.type), m.keySize, m.valueSize, m.maxEntries]).sort();
      assert.deepEqual(ourMaps, kernelMaps);

      const kernelProgs = readdirSync(progDir)
        .map((pin) => bpftoolJson("prog", "show", "pinned", join(progDir, pin)))
        .map((p) => [p["name"], p["type"]])
        .sort();
      const ourProgs = spec.programs.map((p) => [p.name, progTypeName(p.info.progType)]).sort();
      assert.deepEqual(ourProgs, kernelProgs);
    } finally {
      rmSync(pins, { recursive: true, force: true });
    }
  });
}
