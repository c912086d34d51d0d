// The fault guard (src/jit/native/fault-guard.ts): probe reads through it are covered by helpers.test.ts
// in both modes; here, that it takes nothing away from the process: a genuine crash still crashes, a
// handler the application installed before still gets its faults, and V8's own SIGSEGV use (WebAssembly
// bounds checks) still works in a process where the guard is installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { NativeRuntime } from "../../src/jit/native/native-runtime.js";

const child = fileURLToPath(new URL("./support/fault-child.js", import.meta.url));
const run = (what: string) => spawnSync(process.execPath, [child, what], { encoding: "utf8", timeout: 30_000 });

test("a fault outside the guard still kills the process with SIGSEGV", () => {
  const r = run("crash");
  assert.match(r.stdout, /^probe_read: -14\n/);
  assert.equal(r.signal, "SIGSEGV", r.stderr);
});

test("a handler installed before the guard still receives the faults that are not the guard's", () => {
  const r = run("chain");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "probe_read: -14\nfault returned 77, handler ran 1 time(s)\n");
});

test("V8's WebAssembly bounds checks (its own SIGSEGV handler) still work with the guard installed", () => {
  const runtime = NativeRuntime.create({ faultGuard: "signal" });
  try {
    // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load))
    const wasm = new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00,
      0x01, 0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b,
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm));
    const load = instance.exports["load"] as (address: number) => number;
    assert.equal(load(16), 0);
    for (let i = 0; i < 3; i++) assert.throws(() => load(0x7ffff000), WebAssembly.RuntimeError);
    assert.equal(BigInt.asIntN(64, runtime.call("probe_read", runtime.privateBlock.address, 8n, 8n)), -14n);
  } finally {
    runtime.dispose();
  }
});
