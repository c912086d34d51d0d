import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parseBtf } from "../../src/btf/parse.js";
import { dumpBtfRaw } from "../../src/btf/raw-dump.js";
import { findMember, typeSize } from "../../src/btf/resolve.js";
import { typeName } from "../../src/btf/type-name.js";
import { bpftoolSkip } from "./bpftool.js";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const skip = existsSync(VMLINUX) ? false : `${VMLINUX} is absent (kernel built without CONFIG_DEBUG_INFO_BTF)`;

test("parses this machine's vmlinux BTF", { skip }, (t) => {
  const bytes = new Uint8Array(readFileSync(VMLINUX));
  const started = performance.now();
  const btf = parseBtf(bytes);
  const parsed = performance.now();
  const task = btf.find("task_struct", "struct");
  const indexed = performance.now();
  t.diagnostic(
    `${(bytes.length / 1e6).toFixed(1)} MB, ${btf.typeCount} types: parse ${(parsed - started).toFixed(0)} ms, ` +
      `name index ${(indexed - parsed).toFixed(0)} ms`,
  );
  assert.ok(btf.typeCount > 10_000);
  assert.ok(task !== undefined);
  const pid = findMember(btf, task, "pid");
  assert.ok(pid !== undefined);
  assert.equal(typeName(btf, pid.member.type), "pid_t");
  assert.equal(pid.bitOffset % 32, 0);
  assert.ok(typeSize(btf, task.id) > pid.bitOffset / 8);
  if (process.arch === "x64") {
    const regs = btf.find("pt_regs", "struct");
    assert.equal(regs && typeSize(btf, regs.id), 168, "x86-64 pt_regs is 21 registers");
  }
});

test("vmlinux BTF dumps exactly as bpftool dumps it", { skip: skip || bpftoolSkip() }, (t) => {
  const ours = dumpBtfRaw(parseBtf(new Uint8Array(readFileSync(VMLINUX))));
  const theirs = execFileSync("bpftool", ["btf", "dump", "file", VMLINUX], { encoding: "utf8", maxBuffer: 1 << 30 });
  t.diagnostic(`${theirs.split("\n").length} lines compared`);
  assert.ok(ours === theirs, "raw dumps differ");
});
