import { test } from "node:test";
import assert from "node:assert/strict";
import { BtfError, type BtfErrorCode } from "../../src/btf/errors.js";
import { parseBtfExt } from "../../src/btf/ext.js";
import { parseBtf } from "../../src/btf/parse.js";
import { dumpBtfRaw } from "../../src/btf/raw-dump.js";
import { resolveType, typeAlignment, typeSize } from "../../src/btf/resolve.js";
import { formatBtfValue } from "../../src/btf/format.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureObject } from "./fixtures.js";
import { random } from "../elf/random.js";

function expectBtfError(run: () => unknown, code: BtfErrorCode, message: RegExp | string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof BtfError, `expected a BtfError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  });
}

function simple(): BtfBuilder {
  const b = new BtfBuilder();
  const int = b.int("int", 4, 1);
  b.composite("struct", "pair", 8, [["a", int, 0], ["b", int, 32]]);
  return b;
}

test("header: length, magic, version, section bounds", () => {
  const good = simple().build();
  assert.equal(parseBtf(good).typeCount, 3);
  expectBtfError(() => parseBtf(good.subarray(0, 10)), "BTF_TRUNCATED", "BTF header truncated: 10 bytes, the header needs 24");
  expectBtfError(() => parseBtf(simple().build({ magic: 0x9feb })), "BTF_BAD_MAGIC", "bad BTF magic 0x9feb, expected 0xeb9f (big-endian BTF is not supported)");
  expectBtfError(() => parseBtf(simple().build({ version: 2 })), "BTF_UNSUPPORTED", "BTF version 2 is not supported (expected 1)");
  expectBtfError(() => parseBtf(simple().build({ hdrLen: 8 })), "BTF_TRUNCATED", /^BTF hdr_len 8 is invalid/);
  expectBtfError(
    () => parseBtf(simple().build({ strLen: 0x1000 })),
    "BTF_OUT_OF_BOUNDS",
    /^BTF string section at 0x34\+0x1000 extends past the end of the data \(0x[0-9a-f]+ bytes after the header\)$/,
  );
  expectBtfError(() => parseBtf(simple().build({ typeOff: 2, typeLen: 4 })), "BTF_BAD_RECORD", "BTF type section offset 0x2 is not 4-byte aligned");
});

test("string section must start and end with NUL", () => {
  const bytes = simple().build();
  const strOff = 24 + new DataView(bytes.buffer).getUint32(16, true);
  const noLeadingNul = bytes.slice();
  noLeadingNul[strOff] = 0x41;
  expectBtfError(() => parseBtf(noLeadingNul), "BTF_BAD_STRING", "BTF string section does not start with an empty string (a NUL byte)");
  const noTrailingNul = bytes.slice();
  noTrailingNul[noTrailingNul.length - 1] = 0x41;
  expectBtfError(() => parseBtf(noTrailingNul), "BTF_BAD_STRING", "BTF string section does not end with a NUL byte");
});

test("type records: kind, names, lengths, references, int encodings, linkage", () => {
  const unknownKind = new BtfBuilder();
  unknownKind.int("int", 4, 1);
  unknownKind.words.push(0, 25 << 24, 0);
  expectBtfError(() => parseBtf(unknownKind.build()), "BTF_BAD_KIND", "type [2] at type offset 0x10: unknown kind 25");

  const badName = new BtfBuilder();
  badName.int("int", 4, 1);
  badName.words.push(0x999, 2 << 24, 1);
  expectBtfError(
    () => parseBtf(badName.build()),
    "BTF_BAD_STRING",
    "type [2] (PTR) at type offset 0x10: name offset 0x999 is outside the string section (0x5 bytes)",
  );

  const longStruct = new BtfBuilder();
  longStruct.type("struct", "s", 1000, 4, [0, 0, 0]);
  expectBtfError(
    () => parseBtf(longStruct.build()),
    "BTF_OUT_OF_BOUNDS",
    "type [1] (STRUCT) at type offset 0x0: 1000 members (12000 bytes) extends past the end of the type section (0x18 bytes)",
  );

  const dangling = new BtfBuilder();
  dangling.ref("ptr", 55);
  expectBtfError(() => parseBtf(dangling.build()), "BTF_BAD_TYPE_ID", "type [1] (PTR '') refers to type id 55, but the BTF has 2 types");

  const oddInt = new BtfBuilder();
  oddInt.int("int24", 3, 0, 24);
  expectBtfError(() => parseBtf(oddInt.build()), "BTF_BAD_RECORD", "type [1] (INT) at type offset 0x0: int size 3 is not 1, 2, 4, 8 or 16");

  const wideBits = new BtfBuilder();
  wideBits.int("int", 4, 1, 33);
  expectBtfError(() => parseBtf(wideBits.build()), "BTF_BAD_RECORD", /int bits 33 at bit offset 0 do not fit its 4-byte storage/);

  const linkage = new BtfBuilder();
  linkage.type("var", "v", 0, 0, [7]);
  expectBtfError(() => parseBtf(linkage.build()), "BTF_BAD_RECORD", "type [1] (VAR) at type offset 0x0: unknown linkage 7");
});

test("type loops and self-containing types end in a BtfError", () => {
  const b = new BtfBuilder();
  b.ref("typedef", 2, "a");
  b.ref("const", 1);
  b.composite("struct", "self", 4, [["me", 3, 0]]);
  const btf = parseBtf(b.build());
  expectBtfError(() => resolveType(btf, 1), "BTF_BAD_TYPE_ID", /^type \[1\]: qualifier\/typedef chain is longer than 32/);
  expectBtfError(() => typeSize(btf, 2), "BTF_BAD_TYPE_ID", /^type \[2\]: type chain is longer than 32/);
  expectBtfError(() => typeAlignment(btf, 3), "BTF_BAD_TYPE_ID", /nest deeper than 256 levels/);
  expectBtfError(() => formatBtfValue(btf, 3, new Uint8Array(4)), "BTF_BAD_TYPE_ID", /nest deeper than 256 levels/);
});

test("every truncation of a real .BTF and .BTF.ext is a BtfError", () => {
  const { elf } = fixtureObject("values.bpf.o");
  const btfBytes = elf.sectionData(".BTF");
  const btf = parseBtf(btfBytes);
  for (let length = 0; length < btfBytes.length; length++) {
    assert.throws(() => parseBtf(btfBytes.subarray(0, length)), BtfError, `.BTF truncated to ${length}`);
  }
  const extBytes = elf.sectionData(".BTF.ext");
  for (let length = 0; length < extBytes.length; length++) {
    assert.throws(() => parseBtfExt(extBytes.subarray(0, length), btf), BtfError, `.BTF.ext truncated to ${length}`);
  }
});

test(".BTF.ext: magic, record sizes, counts, names and relocation kinds", () => {
  const { elf, btf } = fixtureObject("core.bpf.o");
  const original = elf.sectionData(".BTF.ext");
  const view = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const hdrLen = view.getUint32(4, true);
  const funcOff = hdrLen + view.getUint32(8, true);
  const coreOff = hdrLen + view.getUint32(24, true);
  const edit = (change: (v: DataView) => void) => {
    const copy = original.slice();
    change(new DataView(copy.buffer));
    return copy;
  };
  expectBtfError(() => parseBtfExt(edit((v) => v.setUint16(0, 0x1234, true)), btf), "BTF_BAD_MAGIC", "bad .BTF.ext magic 0x1234, expected 0xeb9f");
  expectBtfError(
    () => parseBtfExt(edit((v) => v.setUint32(funcOff, 4, true)), btf),
    "BTF_BAD_RECORD",
    ".BTF.ext func_info: record size 4 is invalid (at least 8, a multiple of 4)",
  );
  expectBtfError(
    () => parseBtfExt(edit((v) => v.setUint32(funcOff + 8, 1000, true)), btf),
    "BTF_BAD_RECORD",
    /^\.BTF\.ext func_info for section socket: 1000 records of 8 bytes do not fit in the 0x8 bytes left$/,
  );
  expectBtfError(
    () => parseBtfExt(edit((v) => v.setUint32(funcOff + 4, 0xfffff, true)), btf),
    "BTF_BAD_STRING",
    ".BTF.ext func_info: section name offset 0xfffff is outside the BTF strings",
  );
  expectBtfError(
    () => parseBtfExt(edit((v) => v.setUint32(coreOff + 12 + 12, 99, true)), btf),
    "BTF_BAD_RECORD",
    ".BTF.ext core_relo for section socket, record 0: unknown CO-RE relocation kind 99",
  );
  expectBtfError(
    () => parseBtfExt(edit((v) => v.setUint32(coreOff + 12 + 4, 5000, true)), btf),
    "BTF_BAD_TYPE_ID",
    /^\.BTF\.ext core_relo for section socket, record 0: type id 5000 is out of range/,
  );
});

test("mutated BTF never fails with anything but a BtfError", () => {
  const { elf } = fixtureObject("values.bpf.o");
  const original = elf.sectionData(".BTF");
  const next = random(1234);
  let parsed = 0;
  for (let round = 0; round < 3000; round++) {
    const bytes = original.slice();
    const flips = 1 + Math.floor(next() * 4);
    for (let i = 0; i < flips; i++) {
      // Bias towards the header and type records, where the structure lives.
      const at = Math.floor(next() * (next() < 0.7 ? Math.min(bytes.length, 1500) : bytes.length));
      bytes[at] = Math.floor(next() * 256);
    }
    try {
      const btf = parseBtf(bytes);
      dumpBtfRaw(btf);
      for (const type of btf.types) {
        try {
          const size = typeSize(btf, type.id);
          if (size <= 4096) formatBtfValue(btf, type.id, new Uint8Array(size));
        } catch (error) {
          if (!(error instanceof BtfError)) throw error;
        }
      }
      parsed++;
    } catch (error) {
      if (!(error instanceof BtfError)) throw new Error(`round ${round}: ${String(error)}`);
    }
  }
  assert.ok(parsed > 0, "some mutations still parse");
});
