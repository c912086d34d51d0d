// jhash is Bob Jenkins' lookup3 hashlittle; these are the reference values lookup3.c's self-test prints.
// (That it also equals the kernel's jhash bit for bit is what the zero-seeded differential tests show.)

import assert from "node:assert/strict";
import { test } from "node:test";
import { jhash } from "../../src/maps/jhash.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test("lookup3 reference values", () => {
  assert.equal(jhash(new Uint8Array(0), 0, 0, 0), 0xdeadbeef);
  assert.equal(jhash(new Uint8Array(0), 0, 0, 0xdeadbeef), 0xbd5b7dde);
  const fourScore = text("Four score and seven years ago");
  assert.equal(jhash(fourScore, 0, fourScore.length, 0), 0x17770551);
  assert.equal(jhash(fourScore, 0, fourScore.length, 1), 0xcd628161);
});

test("hashes the bytes in place, at any offset, whatever surrounds them", () => {
  const key = text("0123456789abcdefXYZ");
  const padded = new Uint8Array(key.length + 7).fill(0xee);
  padded.set(key, 5);
  for (let length = 0; length <= key.length; length++) {
    assert.equal(jhash(padded, 5, length, 42), jhash(key, 0, length, 42), `length ${length}`);
  }
});

test("every byte and the seed change the hash", () => {
  const key = new Uint8Array(13);
  const base = jhash(key, 0, 13, 0);
  for (let i = 0; i < 13; i++) {
    key[i] = 1;
    assert.notEqual(jhash(key, 0, 13, 0), base, `byte ${i}`);
    key[i] = 0;
  }
  assert.notEqual(jhash(key, 0, 13, 1), base);
});
