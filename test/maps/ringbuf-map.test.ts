import assert from "node:assert/strict";
import { test } from "node:test";
import { Errno } from "../../src/maps/errno.js";
import { MapType, RingbufQuery } from "../../src/maps/map-types.js";
import type { RingbufMap } from "../../src/maps/ringbuf-map.js";
import { makeMap } from "./support/make-map.js";

const ring = (size = 4096): RingbufMap => makeMap<RingbufMap>({ type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0, name: "rb" });

function collect(rb: RingbufMap): number[][] {
  const records: number[][] = [];
  rb.consume((sample) => records.push([...sample]));
  return records;
}

test("records come out in reservation order; a BUSY record holds back the ones after it", () => {
  const rb = ring();
  const first = rb.reserve(3);
  assert.equal(rb.output(new Uint8Array([7, 7]), 0, 2, 0), 0);
  assert.deepEqual(collect(rb), [], "the first record is still reserved");
  rb.region.set([1, 2, 3], first);
  rb.commit(first, false);
  assert.deepEqual(collect(rb), [[1, 2, 3], [7, 7]]);
  assert.deepEqual(collect(rb), []);
  const discarded = rb.reserve(8);
  rb.commit(discarded, true);
  assert.equal(rb.output(new Uint8Array([9]), 0, 1, 0), 0);
  assert.deepEqual(collect(rb), [[9]]);
});

test("a record that wraps past the end reads back contiguous", () => {
  const rb = ring();
  const payload = (seed: number, n: number): Uint8Array => new Uint8Array(n).map((_, i) => (seed + i * 7) & 0xff);
  for (let round = 0; round < 12; round++) {
    const data = payload(round, 1000);
    assert.equal(rb.output(data, 0, data.length, 0), 0, `round ${round}`);
    const records = collect(rb);
    assert.equal(records.length, 1);
    assert.deepEqual(records[0], [...data]);
  }
  assert.equal(rb.query(RingbufQuery.CONS_POS), 12 * 1008);
});

test("a full ring refuses: output -EAGAIN, until the consumer frees space", () => {
  const rb = ring();
  let written = 0;
  let refusal = 0;
  while ((refusal = rb.output(new Uint8Array(100), 0, 100, 0)) === 0) written++;
  assert.equal(written, 36, "36 records of round_up(100 + 8, 8) = 112 bytes fit in 4095");
  assert.equal(refusal, -Errno.EAGAIN);
  assert.equal(rb.reserve(100), -Errno.EAGAIN);
  assert.equal(rb.reserve(5000), -Errno.E2BIG);
  assert.equal(rb.query(RingbufQuery.AVAIL_DATA), 36 * 112);
  assert.equal(rb.query(RingbufQuery.RING_SIZE), 4096);
  assert.equal(rb.query(99), 0);
  assert.equal(collect(rb).length, 36);
  assert.equal(rb.query(RingbufQuery.AVAIL_DATA), 0);
  assert.equal(rb.output(new Uint8Array(1), 0, 1, 0), 0);
  assert.equal(rb.output(new Uint8Array(1), 0, 1, 4), -Errno.EINVAL, "unknown flags");
});

test("the control plane cannot read or write a ring buffer as a map", () => {
  const rb = ring();
  assert.equal(rb.lookupElem(null, new Uint8Array(0)), -Errno.ENOTSUPP);
  assert.equal(rb.updateElem(null, new Uint8Array(0)), -Errno.ENOTSUPP);
  assert.equal(rb.deleteElem(null), -Errno.ENOTSUPP);
  assert.equal(rb.getNextKey(null, new Uint8Array(0)), -Errno.ENOTSUPP);
});
