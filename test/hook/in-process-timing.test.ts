// Cost of a hooked call, measured in a native loop inside the victim library (not through koffi): the
// library calls a noipa function N times through a volatile pointer and returns the elapsed nanoseconds.
// Printed as diagnostics; timings are never asserted (the machine is shared).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import koffi from "koffi";
import { threadKeySourceFor } from "../../src/hook/trampoline/thread-key.js";
import { HookLab, type LabHookOptions } from "./support/hook-lab.js";
import { symbolAddress } from "./support/local-process.js";
import { countingProgram, emptyProgram } from "./support/test-programs.js";
import { buildVictimLibrary, gccAvailable } from "./support/victim-library.js";

const skip = process.arch !== "x64" || process.platform !== "linux"
  ? "x86-64 Linux only"
  : !gccAvailable()
    ? "gcc is not installed (needed to build the victim library)"
    : false;

const CALLS = 2_000_000;
const ROUNDS = 7;

test("in-process cost of hooked calls (ns per call, median of 7 rounds)", { skip }, (t) => {
  const victim = buildVictimLibrary();
  try {
    const lib = koffi.load(victim.path);
    const benchLoop = lib.func("long bench_loop(long)");
    const target = symbolAddress(victim.path, "bench_target");
    const size = victim.symbols.get("bench_target")!.size;
    const lab = new HookLab(target, threadKeySourceFor(new Uint8Array(readFileSync("/proc/self/auxv"))));
    const empty = emptyProgram(lab);
    const counting = countingProgram(lab, lab.cell());
    const perCall = (): number => {
      const samples: number[] = [];
      for (let i = 0; i < ROUNDS; i++) samples.push(Number(benchLoop(CALLS)) / CALLS);
      samples.sort((a, b) => a - b);
      return samples[ROUNDS >> 1]!;
    };
    const measure = (options: LabHookOptions, entry: bigint[], ret: bigint[]): number => {
      const installed = lab.hook("bench_target", target, size, options);
      installed.setEntryPrograms(entry.map((e) => ({ entry: e, cookie: 0n })));
      installed.setReturnPrograms(ret.map((e) => ({ entry: e, cookie: 0n })));
      const ns = perCall();
      installed.unpatch();
      return ns;
    };
    perCall(); // warm up
    const base = perCall();
    const rows: [string, number][] = [
      ["patched, no program", measure({}, [], [])],
      ["uprobe, empty program", measure({}, [empty], [])],
      ["uprobe, counting program (lock add)", measure({}, [counting], [])],
      ["uretprobe, empty program", measure({}, [], [empty])],
      ["uprobe + uretprobe, empty programs", measure({}, [empty], [empty])],
      ["uprobe, empty, vectors none", measure({ slice: { vectors: "none" } }, [empty], [])],
      ["uprobe, empty, all xmm saved", measure({ slice: { vectors: "all" } }, [empty], [])],
    ];
    t.diagnostic(`unhooked call: ${base.toFixed(2)} ns`);
    for (const [name, ns] of rows) t.diagnostic(`${name}: ${ns.toFixed(2)} ns (+${(ns - base).toFixed(2)})`);
    assert.ok(rows.every(([, ns]) => Number.isFinite(ns) && ns > 0));
  } finally {
    victim.remove();
  }
});
