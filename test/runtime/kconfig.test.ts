import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadObjectSpec } from "../../src/object/load.js";
import { InterpretedObject } from "../../src/runtime/interpreted-object.js";
import { kernelVersionCode, parseKernelConfig } from "../../src/runtime/kconfig.js";
import { withVariables } from "../../src/object/variables.js";
import { examplePath } from "../support/examples.js";

test("kernel version codes cap the patch level at 255", () => {
  assert.equal(kernelVersionCode("6.18.44-fc-v669"), (6 << 16) | (18 << 8) | 44);
  assert.equal(kernelVersionCode("5.4.300"), (5 << 16) | (4 << 8) | 255);
  assert.equal(kernelVersionCode("6.1"), (6 << 16) | (1 << 8));
});

test("kernel config lines, including options that are not set", () => {
  const config = parseKernelConfig("CONFIG_HZ=300\n# CONFIG_DEBUG is not set\nCONFIG_NAME=\"x\"\n");
  assert.deepEqual([...config], [["CONFIG_HZ", "300"], ["CONFIG_DEBUG", "n"], ["CONFIG_NAME", '"x"']]);
});

test(".kconfig externs take the values of a given kernel and config", () => {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(examplePath("features.bpf.o"))), { name: "features" });
  const expected = withVariables(spec, new Map([["expected_version", BigInt((5 << 16) | (15 << 8) | 3)], ["expected_hz", 300n]]));
  const object = new InterpretedObject(expected, { kconfig: { kernelRelease: "5.15.3-custom", config: "CONFIG_HZ=300\nCONFIG_BPF_SYSCALL=y\n" } });
  assert.equal(object.run("kconfig_values", 0n), 0n);
  const noSyscall = new InterpretedObject(expected, { kconfig: { kernelRelease: "5.15.3", config: "CONFIG_HZ=300\n# CONFIG_BPF_SYSCALL is not set\n" } });
  assert.notEqual(noSyscall.run("kconfig_values", 0n), 0n);
});

test("variables must exist and fit", () => {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(examplePath("features.bpf.o"))));
  assert.throws(() => withVariables(spec, new Map([["nope", 1n]])), /no global variable 'nope'/);
  assert.throws(() => withVariables(spec, new Map([["expected_hz", 1n << 40n]])), /does not fit variable 'expected_hz' \(4 bytes\)/);
  const set = withVariables(spec, new Map([["multiplier", 7n]]));
  const rodata = set.maps.find((m) => m.name === ".rodata")!;
  assert.equal(new DataView(rodata.initialData!.buffer).getBigUint64(0, true), 7n);
  assert.equal(new DataView(spec.maps.find((m) => m.name === ".rodata")!.initialData!.buffer).getBigUint64(0, true), 3n, "the original spec is unchanged");
});
