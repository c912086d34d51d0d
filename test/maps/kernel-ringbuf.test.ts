// Ring buffer bytes against the kernel's: the same sequence of outputs, reserve+submit, reserve+discard
// and consumer advances on a kernel BPF_MAP_TYPE_RINGBUF (driven by a raw_tracepoint program through
// BPF_PROG_TEST_RUN, read through mmap as libbpf reads it) and on this runtime's ring. After every step the
// helper results, producer_pos and consumer_pos, and the whole data area (record headers with their
// BUSY/DISCARD bits, pg_off and payload bytes) must be identical.

import assert from "node:assert/strict";
import { test } from "node:test";
import { insn, lddw, type Insn } from "../../src/isa/instruction.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { tryCreateMap } from "../../src/native/bpf-map-ops.js";
import { closeFd, loadProgram, testRun } from "../../src/native/bpf-syscall.js";
import { ProgType } from "../../src/object/section-names.js";
import { Errno } from "../../src/maps/errno.js";
import { MapType } from "../../src/maps/map-types.js";
import { RingbufLayout, type RingbufMap } from "../../src/maps/ringbuf-map.js";
import { makeMap } from "./support/make-map.js";
import { mapFd } from "./support/mmap.js";
import { Random } from "./support/random.js";

const available = kernelBpfAvailable();
const skip = available.ok ? false : available.reason;
const SIZE = 4096;
const PAGE = 4096;

const ldxdw = (dst: number, src: number, off: number): Insn => insn(0x79, dst, src, off);
const stxdw = (dst: number, src: number, off: number): Insn => insn(0x7b, dst, src, off);
const movReg = (dst: number, src: number): Insn => insn(0xbf, dst, src);
const movImm = (dst: number, imm: number): Insn => insn(0xb7, dst, 0, 0, imm);
const call = (id: number): Insn => insn(0x85, 0, 0, 0, id);
const EXIT = insn(0x95);
const Helper = { output: 130, reserve: 131, submit: 132, discard: 133 } as const;

/** ctx: args[0..7] payload (64 bytes), args[8] size, args[9] flags. Returns bpf_ringbuf_output's result. */
function outputProgram(mapFd: number): Insn[] {
  const copy: Insn[] = [];
  for (let i = 0; i < 8; i++) copy.push(ldxdw(2, 1, i * 8), stxdw(10, 2, -64 + i * 8));
  return [
    ...copy,
    ldxdw(3, 1, 64),
    ldxdw(4, 1, 72),
    insn(0x25, 3, 0, 1, 64), // if r3 > 64 goto +1 (never: the test keeps sizes <= 64)
    insn(0x05, 0, 0, 2, 0), // goto call
    movImm(0, -1),
    EXIT,
    movReg(2, 10),
    insn(0x07, 2, 0, 0, -64),
    ...lddw(1, BigInt(mapFd), 1),
    call(Helper.output),
    EXIT,
  ];
}

/** Reserves 20 bytes, writes args[0], args[1] and the low half of args[2], then submits or discards. */
function reserveProgram(mapFd: number, discard: boolean): Insn[] {
  return [
    movReg(6, 1),
    ...lddw(1, BigInt(mapFd), 1),
    movImm(2, 20),
    movImm(3, 0),
    call(Helper.reserve),
    insn(0x55, 0, 0, 2, 0), // if r0 != 0 goto +2
    movImm(0, 1),
    EXIT,
    ldxdw(2, 6, 0),
    stxdw(0, 2, 0),
    ldxdw(2, 6, 8),
    stxdw(0, 2, 8),
    ldxdw(2, 6, 16),
    insn(0x63, 0, 2, 16), // *(u32 *)(r0 + 16) = w2
    movReg(1, 0),
    movImm(2, 0),
    call(discard ? Helper.discard : Helper.submit),
    movImm(0, 0),
    EXIT,
  ];
}

test("ring buffer records are byte-identical to the kernel's", { skip }, (t) => {
  const fd = tryCreateMap({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: SIZE });
  assert.ok(fd >= 0);
  const consumerPage = mapFd(fd, 0, PAGE, true);
  const producerAndData = mapFd(fd, PAGE, PAGE + 2 * SIZE, false);
  const load = (insns: Insn[]): number => loadProgram({ type: ProgType.RawTracepoint, insns, license: "GPL" });
  const output = load(outputProgram(fd));
  const submit = load(reserveProgram(fd, false));
  const discard = load(reserveProgram(fd, true));
  const rb = makeMap<RingbufMap>({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: SIZE, flags: 0, name: "rb" });
  const kernelView = new DataView(producerAndData.bytes.buffer, producerAndData.bytes.byteOffset);
  const consumerView = new DataView(consumerPage.bytes.buffer, consumerPage.bytes.byteOffset);
  const rng = new Random(0x7b0f);
  const run = (prog: number, ctx: Uint8Array): number => testRun({ progFd: prog, ctxIn: ctx, ctxSizeOut: 0 }).retval | 0;
  let steps = 0;
  try {
    for (let step = 0; step < 3000; step++) {
      const payload = rng.bytes(64);
      const ctx = new Uint8Array(80);
      ctx.set(payload);
      const op = rng.weighted({ output: 5, submit: 2, discard: 1, consume: 2 });
      if (op === "output") {
        const size = rng.int(65);
        const flags = rng.chance(0.05) ? 4 : rng.pick([0, 1, 2]);
        new DataView(ctx.buffer).setUint32(64, size, true);
        new DataView(ctx.buffer).setUint32(72, flags, true);
        assert.equal(rb.output(payload, 0, size, flags), run(output, ctx), `step ${step}: output of ${size} flags ${flags}`);
      } else if (op === "submit" || op === "discard") {
        const sample = rb.reserve(20);
        if (sample >= 0) {
          rb.region.set(payload.subarray(0, 20), sample);
          rb.commit(sample, op === "discard");
        }
        assert.equal(sample >= 0 ? 0 : 1, run(op === "submit" ? submit : discard, ctx), `step ${step}: reserve+${op}`);
      } else {
        // Consume everything: the kernel ring by moving consumer_pos as libbpf would.
        rb.consume(() => undefined);
        consumerView.setBigUint64(0, kernelView.getBigUint64(0, true), true);
      }
      const ours = rb.view;
      assert.equal(ours.getBigUint64(RingbufLayout.producerPos, true), kernelView.getBigUint64(0, true), `step ${step}: producer_pos`);
      assert.equal(ours.getBigUint64(RingbufLayout.consumerPos, true), consumerView.getBigUint64(0, true), `step ${step}: consumer_pos`);
      const kernelData = producerAndData.bytes.subarray(PAGE, PAGE + SIZE);
      const ourData = rb.region.subarray(RingbufLayout.data, RingbufLayout.data + SIZE);
      assert.ok(Buffer.from(ourData).equals(Buffer.from(kernelData)), `step ${step} (${op}): data areas differ`);
      steps++;
    }
    assert.equal(rb.reserve(SIZE), -Errno.E2BIG);
  } finally {
    for (const prog of [output, submit, discard]) closeFd(prog);
    consumerPage.unmap();
    producerAndData.unmap();
    closeFd(fd);
  }
  t.diagnostic(`${steps} steps compared byte for byte`);
});
