// Every CO-RE relocation of the BPF objects in Debian's libbpf-tools, resolved against this machine's kernel
// BTF, and compared decision by decision with libbpf's own (bpftool -d) where bpftool and root are available.

import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CoreRelocator, CoreTarget, type CoreRelocationResult } from "../../src/core/index.js";
import { findEmbeddedBpfObjects } from "../../src/elf/embedded.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { libbpfTools } from "../elf/libbpf-tools.js";
import { decisionKey, LibbpfOracle } from "./support/libbpf-oracle.js";
import { readTestObject, type TestObject } from "./support/programs.js";
import { vmlinuxBtf, vmlinuxSkip } from "./support/vmlinux.js";

const tools = libbpfTools();
const skip = tools.skip ?? vmlinuxSkip;

interface ToolObject {
  tool: string;
  bytes: Uint8Array;
  object: TestObject;
}

interface ToolResult extends ToolObject {
  results: { program: string; result: CoreRelocationResult }[];
  ms: number;
}

function toolObjects(): ToolObject[] {
  return tools.paths.flatMap((path) => {
    const file = readFileSync(path);
    const tool = path.slice(path.lastIndexOf("/") + 1);
    return findEmbeddedBpfObjects(new Uint8Array(file.buffer, file.byteOffset, file.byteLength)).map((embedded) => ({
      tool,
      bytes: embedded.bytes,
      object: readTestObject(embedded.bytes),
    }));
  });
}

/** Relocates each object as libbpf does: one candidate cache per object, programs in section order. */
function relocate(objects: ToolObject[], target: CoreTarget): ToolResult[] {
  return objects.map((entry) => {
    const relocator = new CoreRelocator(entry.object.btf, target);
    const start = performance.now();
    const results = entry.object.programs.flatMap((program) => {
      const relos = entry.object.coreRelos.get(program.section) ?? [];
      const report = relocator.apply([...program.insns], relos, { sectionInsnOffset: program.sectionInsnOffset, programName: program.name });
      return report.results.map((result) => ({ program: program.name, result }));
    });
    return { ...entry, results, ms: performance.now() - start };
  });
}

describe("CO-RE relocations of Debian's libbpf-tools against /sys/kernel/btf/vmlinux", { skip }, () => {
  let cache: ToolResult[] | undefined;
  const relocated = (): ToolResult[] => {
    if (cache) return cache;
    const btf = vmlinuxBtf();
    const start = performance.now();
    const target = new CoreTarget(btf, [], "vmlinux").prepare();
    const indexMs = performance.now() - start;
    cache = relocate(toolObjects(), target);
    const times = cache.map((r) => r.ms).sort((a, b) => a - b);
    const slowest = cache.reduce((a, b) => (b.ms > a.ms ? b : a));
    console.log(
      `core timing: name index of ${btf.typeCount} vmlinux types built in ${indexMs.toFixed(1)} ms; all relocations of one ` +
        `object: median ${times[times.length >> 1]!.toFixed(2)} ms, slowest ${slowest.ms.toFixed(2)} ms (${slowest.tool}, ` +
        `${slowest.results.length} relocations), all ${cache.length} objects ${times.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
    );
    return cache;
  };

  test("all 61 objects relocate; poisoned only where this kernel lacks the field or type", () => {
    const results = relocated();
    assert.equal(tools.paths.length, 61);
    assert.equal(results.length, 61);
    const all = results.flatMap((r) => r.results.map((x) => ({ tool: r.tool, ...x })));
    const poisoned = all.filter((x) => x.result.poisoned);
    const byKind = new Map<string, number>();
    for (const { result } of all) byKind.set(result.kind, (byKind.get(result.kind) ?? 0) + 1);
    console.log(
      `core libbpf-tools: ${all.length} relocations in ${results.length} objects, ${all.length - poisoned.length} resolved, ` +
        `${poisoned.length} poisoned (${[...new Set(poisoned.map((p) => p.tool))].join(", ")}); by kind: ` +
        [...byKind].map(([k, n]) => `${k} ${n}`).join(", "),
    );
    assert.ok(all.length > 500, `only ${all.length} relocations`);
    for (const { tool, program, result } of poisoned) {
      // Existence checks guard these accesses in the tools (e.g. fields renamed between kernel versions).
      assert.match(result.kind, /^field_/, `${tool}/${program}: ${result.local}`);
      assert.equal(result.target, undefined, `${tool}/${program}: ${result.local} matched ${result.target} yet was poisoned`);
    }
  });

  describe("compared with libbpf", () => {
    const oracle = new LibbpfOracle();
    const availability = kernelBpfAvailable();
    const reason = availability.ok ? oracle.start() : availability.reason;
    const work = mkdtempSync(join(tmpdir(), "core-tools-"));
    after(() => {
      oracle.stop();
      rmSync(work, { recursive: true, force: true });
    });

    test("libbpf (bpftool -d prog loadall) makes the same decision for every relocation it reaches", { skip: reason ?? false }, () => {
      let compared = 0;
      let unreached = 0;
      const mismatches: string[] = [];
      for (const entry of relocated()) {
        const path = join(work, `${entry.tool}.bpf.o`);
        writeFileSync(path, entry.bytes);
        const decisions = oracle.decisions(path);
        for (const { program, result } of entry.results) {
          const expected = decisions.get(decisionKey(program, result.reloIndex, result.insnIndex));
          if (expected === undefined) {
            unreached++;
            continue;
          }
          compared++;
          const ours = result.poisoned ? "poison" : result.targetValue.toString();
          if (ours !== expected) mismatches.push(`${entry.tool}/${program} relo #${result.reloIndex} ${result.local}: ours ${ours}, libbpf ${expected}`);
        }
      }
      console.log(`core vs libbpf: ${compared} relocations compared, ${mismatches.length} differ, ${unreached} not reached by libbpf`);
      assert.deepEqual(mismatches, []);
      assert.ok(compared >= 550, `libbpf reached only ${compared} relocations`);
    });
  });
});
