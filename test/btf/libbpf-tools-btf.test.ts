import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findEmbeddedBpfObjects } from "../../src/elf/index.js";
import { parseBtf } from "../../src/btf/parse.js";
import { dumpBtfRaw } from "../../src/btf/raw-dump.js";
import { libbpfTools } from "../elf/libbpf-tools.js";
import { bpftoolSkip } from "./bpftool.js";

const tools = libbpfTools();

test("the BTF of every libbpf-tools object dumps exactly as bpftool dumps it", { skip: tools.skip ?? bpftoolSkip() }, () => {
  const binaries = [...new Set(tools.paths.map((p) => realpathSync(p)))];
  const dir = mkdtempSync(join(tmpdir(), "btf-oracle-"));
  try {
    for (const binary of binaries) {
      const [object] = findEmbeddedBpfObjects(new Uint8Array(readFileSync(binary)));
      assert.ok(object !== undefined, binary);
      const file = join(dir, "object.bpf.o");
      writeFileSync(file, object.bytes);
      const theirs = execFileSync("bpftool", ["btf", "dump", "file", file], { encoding: "utf8" });
      assert.equal(dumpBtfRaw(parseBtf(object.elf.sectionData(".BTF"))), theirs, binary);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
