// Attaching to and detaching from a running process again and again, while its 8 threads call the hooked
// function (hot_function in libvictim.so, counted by examples/hot_calls.bpf.o) in tight loops. The victim
// counts its calls itself (hot_function increments the caller's per-thread counter), and never crashes nor
// sees a wrong result.
//
// Exact windows: a call is one event for the hook and for the victim only once it is complete, so at each
// window edge, while every thread is stopped, the worker threads are single-stepped back into the
// executable (out of hot_function, its hook slice and the JIT'd program) before the victim's counters and
// the map are read. At attach that happens after the patch (so attach still meets threads anywhere, even in
// the bytes it replaces); at detach before the bytes go back. Then, in every window, the map's growth is
// the victim's.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InjectionSession } from "../../src/inject/index.js";
import { readMaps } from "../../src/process/maps.js";
import { attachTarget, prepareForAttach } from "../../src/session/attach-target.js";
import type { TargetRecord } from "../../src/session/descriptor.js";
import { restoreHooks } from "../../src/session/detach-target.js";
import { Session } from "../../src/session/session.js";
import { Victim } from "../inject/victims.js";
import { runCli } from "../support/cli.js";
import { example, fileRange, injectSkipReason, jsonLines, loadSession, mapEntriesOf, SessionVictims } from "./support.js";

const skip = injectSkipReason() ?? false;
const HOT_CALLS = example("hot_calls.bpf.o");
const THREADS = 8;
/** Bytes of one per-thread slot in the victim ({ calls, mismatches, tid, limit, pad }). */
const SLOT_SIZE = 64;
const CYCLES = 100;
const STRESS_CYCLES = 30;
const ADDRESS_SPACE_END = 1n << 64n;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface SpinningVictim {
  victim: Victim;
  counters: bigint;
  workers: number[];
  /** The executable's mappings: a worker thread resuming here is between calls. */
  executable: { start: bigint; end: bigint };
}

async function startSpinning(path: string): Promise<SpinningVictim> {
  const victim = Victim.start(path, ["spin"]);
  await victim.waitForLine(/^ready$/);
  const counters = BigInt(victim.lines.find((l) => l.startsWith("counters "))!.split(" ")[1]!);
  const workers = victim.lines.filter((l) => l.startsWith("worker ")).map((l) => Number(l.split(" ")[3]));
  assert.equal(workers.length, THREADS);
  const executable = fileRange(victim.pid, path);
  return { victim, counters, workers, executable };
}

/** The victim's own count of hot_function calls, summed over its threads. */
function victimCalls(injection: InjectionSession, counters: bigint): bigint {
  const bytes = injection.read(counters, THREADS * SLOT_SIZE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let i = 0; i < THREADS; i++) sum += view.getBigInt64(i * SLOT_SIZE, true);
  return sum;
}

function mapCount(session: Session): bigint {
  const live = session.maps.find((m) => m.definition.name === "hot_calls")!;
  const value = new Uint8Array(8);
  assert.equal(live.map.lookupElem(new Uint8Array(4), value), 0);
  return new DataView(value.buffer).getBigUint64(0, true);
}

/**
 * Completes every worker's call in progress: steps it until it resumes in the executable again. What a call
 * runs through lies on both sides of the executable (libvictim.so and the hook slices above it, the JIT'd
 * image next to the arena below it), so step out of each side until neither holds the thread.
 */
function settle(injection: InjectionSession, target: SpinningVictim): void {
  for (const tid of target.workers) {
    for (let crossings = 0; ; crossings++) {
      if (crossings > 1000) throw new Error(`worker ${tid} does not come back to the executable`);
      const above = injection.stepOutOf(tid, target.executable.end - 1n, ADDRESS_SPACE_END, { maxSteps: 100_000 });
      if (above >= target.executable.start) break;
      injection.stepOutOf(tid, 0n, target.executable.start, { includeStart: true, maxSteps: 100_000 });
    }
  }
}

/** The victim's final report, after its input ends: all calls, no wrong result, a clean exit. */
async function finishCleanly(target: SpinningVictim): Promise<bigint> {
  const status = await target.victim.finish();
  assert.deepEqual(status, { code: 0, signal: null }, `the victim died: ${target.victim.stderr}`);
  assert.ok(target.victim.lines.includes("mismatches 0"), target.victim.lines.join("\n"));
  assert.ok(target.victim.lines.includes("result ok"));
  return BigInt(target.victim.lines.find((l) => l.startsWith("calls "))!.split(" ")[1]!);
}

describe("attach and detach while 8 threads call the hooked function", { skip }, () => {
  let victims: SessionVictims;
  let hotCalls: string;
  before(() => {
    victims = new SessionVictims();
    hotCalls = victims.hotCalls();
  });
  after(() => victims?.remove());

  test(`${CYCLES} attach/detach cycles: in every window the map grows by exactly the victim's calls`, { timeout: 120_000 }, async (t) => {
    const session = Session.create(HOT_CALLS);
    const target = await startSpinning(hotCalls);
    try {
      const mappingsBefore = readMaps(target.victim.pid).length;
      const attachPauses: number[] = [];
      const windows: bigint[] = [];
      let unhookedMap: bigint | undefined;
      const started = Date.now();
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        let record: TargetRecord;
        let c0: bigint;
        let m0: bigint;
        // As `bpftime attach` does: the image built while the victim runs, then the stop.
        const prepared = prepareForAttach(target.victim.pid, session.target);
        const attaching = InjectionSession.attach(target.victim.pid);
        try {
          // While unhooked, the threads' calls were not counted.
          if (unhookedMap !== undefined) assert.equal(mapCount(session), unhookedMap, `cycle ${cycle}: the map grew while no hook was in place`);
          record = attachTarget(attaching, session.target, prepared);
          // (Settling may run calls through the new hook: they count on both sides, before the window.)
          settle(attaching, target);
          c0 = victimCalls(attaching, target.counters);
          m0 = mapCount(session);
        } finally {
          attaching.detach();
        }
        attachPauses.push(attaching.pauseReport().pauseMs ?? 0);
        await sleep(3);

        const detaching = InjectionSession.attach(target.victim.pid);
        try {
          settle(detaching, target);
          const c1 = victimCalls(detaching, target.counters);
          const m1 = mapCount(session);
          restoreHooks(detaching, record);
          assert.equal(m1 - m0, c1 - c0, `cycle ${cycle}: calls counted by the hook vs by the victim`);
          windows.push(c1 - c0);
          unhookedMap = m1;
        } finally {
          detaching.detach();
        }
        await sleep(1);
      }
      const seconds = (Date.now() - started) / 1000;
      const mappingsAfter = readMaps(target.victim.pid).length;
      const total = await finishCleanly(target);
      const hooked = windows.reduce((a, b) => a + b, 0n);
      assert.ok(hooked > 0n, "calls were made while hooked");
      assert.ok(total > hooked, "and while not hooked");
      assert.equal(mapCount(session), unhookedMap, "nothing counted after the last detach");
      const sorted = [...attachPauses].sort((a, b) => a - b);
      t.diagnostic(`${CYCLES} cycles in ${seconds.toFixed(1)} s; hooked calls ${hooked} of ${total}; windows with no call: ${windows.filter((w) => w === 0n).length}`);
      t.diagnostic(`victim stopped per attach (attach + settling 8 busy workers): median ${sorted[sorted.length >> 1]!.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`);
      // Each attach leaves its image and hook slices behind (a thread may still be inside them): report it.
      t.diagnostic(`victim mappings: ${mappingsBefore} before the cycles, ${mappingsAfter} after`);
    } finally {
      target.victim.kill();
      session.close();
    }
  });

  test(`${STRESS_CYCLES} cycles at arbitrary points: counts within one call per thread at each edge`, { timeout: 120_000 }, async () => {
    const session = Session.create(HOT_CALLS);
    const target = await startSpinning(hotCalls);
    try {
      for (let cycle = 0; cycle < STRESS_CYCLES; cycle++) {
        let record: TargetRecord;
        let c0: bigint;
        let m0: bigint;
        const prepared = prepareForAttach(target.victim.pid, session.target);
        const attaching = InjectionSession.attach(target.victim.pid);
        try {
          record = attachTarget(attaching, session.target, prepared);
          c0 = victimCalls(attaching, target.counters);
          m0 = mapCount(session);
        } finally {
          attaching.detach();
        }
        await sleep(3);
        const detaching = InjectionSession.attach(target.victim.pid);
        try {
          // Threads stay wherever they stopped, inside hook slices and programs too.
          const c1 = victimCalls(detaching, target.counters);
          const m1 = mapCount(session);
          restoreHooks(detaching, record);
          // A call under way at attach is the victim's but not the hook's; one whose program ran before the
          // detach stop but not yet its own count is the hook's first. At most one per thread either way.
          const difference = m1 - m0 - (c1 - c0);
          assert.ok(difference >= -BigInt(THREADS) && difference <= BigInt(THREADS), `cycle ${cycle}: hook ${m1 - m0}, victim ${c1 - c0}`);
        } finally {
          detaching.detach();
        }
      }
      await finishCleanly(target);
    } finally {
      target.victim.kill();
      session.close();
    }
  });

  test("bpftime attach / detach / attach again / detach on a victim whose threads start after attach", { timeout: 120_000 }, async () => {
    const { load, id } = await loadSession(["--json", HOT_CALLS]);
    const victim = Victim.start(hotCalls, ["burst"]);
    try {
      await victim.waitForLine(/^ready$/);
      const pid = String(victim.pid);
      const cli = (verb: string): void => {
        const result = runCli([verb, pid, "--session", id]);
        assert.equal(result.status, 0, `bpftime ${verb}: ${result.stderr}`);
      };
      const burst = async (k: number): Promise<void> => {
        victim.send(`run ${k}\n`);
        await victim.waitForLine(new RegExp(`^burst ${k} calls ${k * THREADS}$`));
      };
      cli("attach");
      await burst(1000);
      cli("detach");
      await burst(2000);
      cli("attach");
      await burst(500);
      cli("detach");
      await burst(3000);
      const status = await victim.finish();
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(victim.lines.includes("mismatches 0"));
      const ended = await load.interrupt();
      assert.equal(ended.code, 0, ended.stderr);
      assert.deepEqual(mapEntriesOf(jsonLines(ended.stdout), "hot_calls"), [{ key: 0, value: String((1000 + 500) * THREADS) }]);
    } finally {
      victim.kill();
      load.kill();
    }
  });
});
