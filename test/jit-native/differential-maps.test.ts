// Interpreter vs JIT on whole objects that use maps and helpers (test/support/map-program-generator.ts):
// the same r0, the same bytes in every map region afterwards (hash maps are zero-seeded, the CPU is fixed),
// and the same ring buffer and perf records. The interpreter runs the TypeScript maps and helpers, the
// JIT the generated native ones, so this compares the two implementations through real programs.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { disassemble } from "../../src/isa/disassembler.js";
import { NativeRuntime } from "../../src/jit/native/native-runtime.js";
import { Header } from "../../src/maps/header.js";
import type { LiveMap } from "../../src/runtime/object-maps.js";
import { InterpretedObject } from "../../src/runtime/interpreted-object.js";
import { JitObject } from "../../src/runtime/jit-object.js";
import { generateMapProgram, type MapProgramCase } from "../support/map-program-generator.js";

const PROGRAMS = Number(process.env["DIFFERENTIAL_PROGRAMS"] ?? 10_000);
const FIRST_SEED = Number(process.env["DIFFERENTIAL_SEED"] ?? 1);
const NCPUS = 4;
const CPU = 1;
const CONTEXT = new Uint8Array(64);

// Odd seeds read probe memory through the fault guard, even ones through system calls.
const runtimes = [NativeRuntime.create({ cpu: { kind: "fixed", cpu: CPU } }), NativeRuntime.create({ cpu: { kind: "fixed", cpu: CPU }, faultGuard: "signal" })] as const;
after(() => runtimes.forEach((r) => r.dispose()));

type Outcome = bigint | Error;

interface Result {
  r0: Outcome;
  regions: Uint8Array[];
}

/** Region bytes without the header's seed word (random for maps that do not hash). */
function regionsOf(maps: readonly LiveMap[]): Uint8Array[] {
  return maps.map((m) => {
    const copy = m.map.region.slice();
    copy.fill(0, Header.seed, Header.seed + 4);
    return copy;
  });
}

function interpret(c: MapProgramCase): Result {
  const live = new InterpretedObject(c.spec, { ncpus: NCPUS, environment: { cpu: () => CPU } });
  let r0: Outcome;
  try {
    r0 = live.run(c.program, live.memory.add("ctx", CONTEXT.slice()));
  } catch (error) {
    r0 = error as Error;
  }
  return { r0, regions: regionsOf(live.maps) };
}

function jit(c: MapProgramCase): Result {
  const live = new JitObject(c.spec, { ncpus: NCPUS, runtime: runtimes[c.seed % 2]!, seed: 0 });
  try {
    let r0: Outcome;
    try {
      r0 = live.run(c.program, live.place(CONTEXT));
    } catch (error) {
      r0 = error as Error;
    }
    return { r0, regions: regionsOf(live.maps) };
  } finally {
    live.dispose();
  }
}

function firstDifference(a: Result, b: Result, names: readonly string[]): string | undefined {
  if (typeof a.r0 !== "bigint" || typeof b.r0 !== "bigint") return `r0: interpreter ${String(a.r0)}, jit ${String(b.r0)}`;
  if (a.r0 !== b.r0) return `r0: interpreter 0x${a.r0.toString(16)}, jit 0x${b.r0.toString(16)}`;
  for (let i = 0; i < a.regions.length; i++) {
    const x = a.regions[i]!;
    const y = b.regions[i]!;
    if (Buffer.compare(Buffer.from(x), Buffer.from(y)) === 0) continue;
    let at = 0;
    while (x[at] === y[at]) at++;
    return `map '${names[i]}': first difference at byte 0x${at.toString(16)} (interpreter ${x[at]}, jit ${y[at]})`;
  }
  return undefined;
}

test(`interpreter and JIT agree on ${PROGRAMS} random programs with maps and helpers`, (t) => {
  const mismatches: string[] = [];
  let hits = 0;
  const started = performance.now();
  for (let seed = FIRST_SEED; seed < FIRST_SEED + PROGRAMS; seed++) {
    const c = generateMapProgram(seed);
    const reference = interpret(c);
    const native = jit(c);
    if (reference.r0 instanceof Error) mismatches.push(`seed ${seed}: the interpreter failed: ${reference.r0.message}`);
    const difference = firstDifference(reference, native, c.spec.maps.map((m) => m.name));
    if (difference) {
      mismatches.push(`seed ${seed}: ${difference}\n${disassemble(c.spec.programs[0]!.insns)}`);
    } else if (new DataView(reference.regions[1]!.buffer).getUint32(Header.count, true) > 0) {
      hits++;
    }
  }
  t.diagnostic(
    `${PROGRAMS} programs (seeds ${FIRST_SEED}..${FIRST_SEED + PROGRAMS - 1}): ${mismatches.length} mismatches; ` +
      `${hits} left the hash map non-empty; ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const m of mismatches.slice(0, 3)) console.log(m);
  assert.equal(mismatches.length, 0, mismatches.slice(0, 10).map((m) => m.split("\n")[0]).join("\n"));
});
