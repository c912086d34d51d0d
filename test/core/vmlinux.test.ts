// examples/core/vmlinux.bpf.o against this machine's kernel BTF: it checks kernel facts no version changes
// (uapi enums, list_head, iphdr bitfields), so it must return 0 here, in the interpreter and, loaded with our
// relocations, in the kernel itself.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CoreTarget } from "../../src/core/index.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { BpfProgFlag } from "../../src/native/bpf-constants.js";
import { closeFd, loadProgram, testRun } from "../../src/native/bpf-syscall.js";
import { ProgType } from "../../src/object/section-names.js";
import { decisionKey, LibbpfOracle } from "./support/libbpf-oracle.js";
import { fixturePath, loadFixture, relocateAll, runRelocated } from "./support/run.js";
import { vmlinuxBtf, vmlinuxSkip } from "./support/vmlinux.js";

describe("vmlinux.bpf.o against /sys/kernel/btf/vmlinux", { skip: vmlinuxSkip }, () => {
  const relocated = (): ReturnType<typeof relocateAll> => relocateAll(loadFixture("vmlinux.bpf.o"), new CoreTarget(vmlinuxBtf(), [], "vmlinux"));

  test("every program returns 0 in the interpreter, with nothing poisoned", () => {
    const programs = relocated();
    assert.ok(programs.size >= 4);
    for (const [name, program] of programs) {
      assert.deepEqual(program.report.poisoned, [], name);
      assert.deepEqual(runRelocated(program), { retval: 0n }, name);
    }
  });

  test("the kernel accepts the relocated programs and they return 0 there too", (t) => {
    const availability = kernelBpfAvailable();
    if (!availability.ok) return t.skip(availability.reason);
    for (const [name, program] of relocated()) {
      const fd = loadProgram({ type: ProgType.Syscall, insns: program.insns, license: "GPL", flags: BpfProgFlag.SLEEPABLE, name: name.slice(0, 15) });
      try {
        assert.equal(testRun({ progFd: fd }).retval, 0, `${name} failed the check at that line in the kernel`);
      } finally {
        closeFd(fd);
      }
    }
  });

  test("enum64 values of the kernel: PERF_CONTEXT_HV is (u64)-32", () => {
    const results = [...relocated().values()].flatMap((p) => p.report.results);
    const hv = results.find((r) => r.kind === "enumval_value" && r.local.includes("PERF_CONTEXT_HV"));
    assert.equal(hv?.targetValue, 0xffffffffffffffe0n);
  });

  test("libbpf (bpftool -d) relocates it identically", (t) => {
    const availability = kernelBpfAvailable();
    if (!availability.ok) return t.skip(availability.reason);
    const oracle = new LibbpfOracle();
    after(() => oracle.stop());
    const reason = oracle.start();
    if (reason !== undefined) return t.skip(reason);
    const decisions = oracle.decisions(fixturePath("vmlinux.bpf.o"));
    const kinds = new Set<string>();
    for (const [name, program] of relocated()) {
      for (const result of program.report.results) {
        const expected = decisions.get(decisionKey(name, result.reloIndex, result.insnIndex));
        assert.equal(result.poisoned ? "poison" : result.targetValue.toString(), expected, `${name} relo #${result.reloIndex}: ${result.local}`);
        kinds.add(result.kind);
      }
    }
    // Kinds the libbpf-tools objects do not use are covered here.
    for (const kind of ["type_matches", "enumval_value", "enumval_exists", "field_lshift_u64", "type_size"]) assert.ok(kinds.has(kind), kind);
  });
});
