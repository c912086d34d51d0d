// Perf ring records against the kernel's: a raw_tracepoint program calls bpf_perf_event_output on a
// chosen CPU into a kernel perf_event_array whose slots hold BPF output events (as libbpf's perf_buffer
// sets them up), and this runtime's map gets the same outputs. After every step: the helper results,
// data_head and data_tail, and the ring bytes, with two fields masked: perf_event_header.misc (the kernel
// says "kernel mode" for a test run; our programs run in user processes) and the id of a
// PERF_RECORD_LOST (the kernel's event id). The padding after a sample's raw data, which the kernel skips
// (leaving stale bytes) and we zero, is masked on both sides. Lost-record counting and the LOST record
// itself are compared.

import assert from "node:assert/strict";
import { test } from "node:test";
import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { kernelMapUpdate, tryCreateMap } from "../../src/native/bpf-map-ops.js";
import { closeFd, loadProgram, testRun } from "../../src/native/bpf-syscall.js";
import { ProgType } from "../../src/object/section-names.js";
import { Errno } from "../../src/maps/errno.js";
import { MapType, PERF_CURRENT_CPU } from "../../src/maps/map-types.js";
import { PerfMmapPage, type PerfEventArrayMap } from "../../src/maps/perf-event-array-map.js";
import { possibleCpus } from "../../src/maps/possible-cpus.js";
import { allowedCpus } from "./support/cpu-affinity.js";
import { makeMap, u32 } from "./support/make-map.js";
import { mapFd, type Mapping } from "./support/mmap.js";
import { openBpfOutputEvent } from "./support/perf-event.js";
import { Random } from "./support/random.js";

const available = kernelBpfAvailable();
const skip = available.ok ? false : available.reason;
const PAGE = 4096;
const PAGES = 1;

/** ctx args[0..7]: payload; args[8]: size. bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, data, size). */
function outputProgram(mapFd: number): Insn[] {
  const copy: Insn[] = [];
  for (let i = 0; i < 8; i++) copy.push(insn(0x79, 2, 1, i * 8), insn(0x7b, 10, 2, -64 + i * 8));
  return [
    ...copy,
    insn(0x79, 5, 1, 64),
    insn(0x25, 5, 0, 2, 64), // if r5 > 64 goto exit with -1
    insn(0xbf, 4, 10),
    insn(0x05, 0, 0, 2, 0),
    insn(0xb7, 0, 0, 0, -1),
    insn(0x95),
    insn(0x07, 4, 0, 0, -64),
    ...lddw(2, BigInt(mapFd), 1),
    insn(0xb4, 3, 0, 0, -1), // w3 = 0xffffffff: BPF_F_CURRENT_CPU
    insn(0x85, 0, 0, 0, 25),
    insn(0x95),
  ];
}

/**
 * The ring's bytes as compared: every record from data_tail to data_head (older bytes may be stale), with
 * misc, lost-record ids and the padding after each sample's data (`dataSizes`: sample position -> data
 * size) zeroed.
 */
function normalised(ring: Uint8Array, tail: number, head: number, dataSizes: Map<number, number>): string {
  const out = new Uint8Array(head - tail);
  for (let pos = tail; pos < head; pos++) out[pos - tail] = ring[pos % ring.length]!;
  const view = new DataView(out.buffer);
  for (let at = 0; at < out.length; ) {
    const length = view.getUint16(at + 6, true);
    assert.ok(length >= 8 && length % 8 === 0, `record at ${tail + at} has length ${length}`);
    view.setUint16(at + 4, 0, true);
    if (view.getUint32(at, true) === 2) view.setBigUint64(at + 8, 0n, true);
    const dataSize = dataSizes.get(tail + at);
    if (view.getUint32(at, true) === 9 && dataSize !== undefined) out.fill(0, at + 12 + dataSize, at + length);
    at += length;
  }
  return Buffer.from(out).toString("hex");
}

/** Where the sample written at or after `from` starts (after a PERF_RECORD_LOST, if one came first). */
function samplePosition(ring: Uint8Array, from: number): number {
  const view = new DataView(ring.buffer, ring.byteOffset, ring.length);
  const at = from % ring.length;
  return view.getUint32(at, true) === 2 ? from + view.getUint16(at + 6, true) : from;
}

test("perf ring records match the kernel's perf buffer", { skip }, (t) => {
  const ncpus = possibleCpus();
  const cpus = allowedCpus().filter((cpu) => cpu < ncpus);
  const fd = tryCreateMap({ type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: ncpus });
  assert.ok(fd >= 0);
  const events: number[] = [];
  const rings = new Map<number, Mapping>();
  const ours = makeMap<PerfEventArrayMap>(
    { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: ncpus, flags: 0, name: "events" },
    { ncpus, perfRingPages: PAGES },
  );
  let prog = -1;
  try {
    for (const cpu of cpus) {
      const event = openBpfOutputEvent(cpu);
      if (event < 0) return t.skip(`perf_event_open(PERF_COUNT_SW_BPF_OUTPUT) failed: errno ${-event}`);
      events.push(event);
      rings.set(cpu, mapFd(event, 0, (1 + PAGES) * PAGE, true));
      assert.equal(kernelMapUpdate(fd, u32(cpu), u32(event)), 0);
      assert.equal(ours.updateElem(u32(cpu), u32(cpu + 1)), 0);
    }
    prog = loadProgram({ type: ProgType.RawTracepoint, insns: outputProgram(fd), license: "GPL" });
    const rng = new Random(0x9e7f);
    const dataSizes = new Map(cpus.map((cpu) => [cpu, new Map<number, number>()]));
    let steps = 0;
    let dropped = 0;
    for (let step = 0; step < 2000; step++) {
      const cpu = rng.pick(cpus);
      const mapping = rings.get(cpu)!;
      const page = new DataView(mapping.bytes.buffer, mapping.bytes.byteOffset, PAGE);
      const ourPage = ours.ringOffset(cpu);
      if (rng.chance(0.015)) {
        // Consume the whole ring on both sides (data_tail = data_head), as a perf buffer poll does.
        page.setBigUint64(PerfMmapPage.dataTail, page.getBigUint64(PerfMmapPage.dataHead, true), true);
        ours.consume(cpu, () => undefined);
      } else {
        const size = rng.int(65);
        const payload = rng.bytes(64);
        const ctx = new Uint8Array(72);
        ctx.set(payload);
        new DataView(ctx.buffer).setUint32(64, size, true);
        const before = Number(page.getBigUint64(PerfMmapPage.dataHead, true));
        const kernel = testRun({ progFd: prog, ctxIn: ctx, ctxSizeOut: 0, flags: 1, cpu }).retval | 0;
        if (kernel === 0) dataSizes.get(cpu)!.set(samplePosition(mapping.bytes.subarray(PAGE, PAGE + PAGES * PAGE), before), size);
        assert.equal(ours.output(PERF_CURRENT_CPU, cpu, payload, 0, size), kernel, `step ${step}: output of ${size} on cpu ${cpu}`);
        if (kernel === -Errno.ENOSPC) dropped++;
      }
      const head = Number(page.getBigUint64(PerfMmapPage.dataHead, true));
      assert.equal(Number(ours.view.getBigUint64(ourPage + PerfMmapPage.dataHead, true)), head, `step ${step}: data_head`);
      assert.equal(Number(ours.view.getBigUint64(ourPage + PerfMmapPage.dataTail, true)), Number(page.getBigUint64(PerfMmapPage.dataTail, true)));
      const kernelRing = mapping.bytes.subarray(PAGE, PAGE + PAGES * PAGE);
      const ourRing = ours.region.subarray(ourPage + PAGE, ourPage + PAGE + PAGES * PAGE);
      const tail = Number(page.getBigUint64(PerfMmapPage.dataTail, true));
      const sizes = dataSizes.get(cpu)!;
      assert.equal(normalised(ourRing, tail, head, sizes), normalised(kernelRing, tail, head, sizes), `step ${step}: ring ${cpu} bytes`);
      steps++;
    }
    assert.ok(dropped > 0, "the rings filled up, so lost-record counting was compared too");
    t.diagnostic(`${steps} steps compared, ${dropped} samples dropped on full rings`);
  } finally {
    if (prog >= 0) closeFd(prog);
    for (const mapping of rings.values()) mapping.unmap();
    for (const event of events) closeFd(event);
    closeFd(fd);
  }
});
