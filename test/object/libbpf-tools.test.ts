// Objects nobody here wrote: every BPF object embedded in Debian's libbpf-tools is inspected, with its
// CO-RE relocations resolved against this machine's kernel BTF.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { coreSummary, inspectJson } from "../../src/cli/inspect.js";
import { readObjectFile } from "../../src/object/object-file.js";
import { DEFAULT_TARGET_BTF } from "../../src/runtime/core-relocation.js";
import { runCli } from "../support/cli.js";

const PACKAGE_LIST = "/var/lib/dpkg/info/libbpf-tools.list";

function tools(): string[] {
  if (!existsSync(PACKAGE_LIST)) return [];
  return readFileSync(PACKAGE_LIST, "utf8")
    .split("\n")
    .filter((p) => p.startsWith("/usr/sbin/") && existsSync(p));
}

const skip = !existsSync(PACKAGE_LIST)
  ? "Debian's libbpf-tools is not installed (apt-get install libbpf-tools; .ci/run does)"
  : !existsSync(DEFAULT_TARGET_BTF)
    ? `${DEFAULT_TARGET_BTF} is absent: the kernel has no BTF to resolve CO-RE against`
    : undefined;

test("all 61 libbpf-tools objects inspect with CO-RE resolved against vmlinux", { skip }, () => {
  const paths = tools();
  assert.equal(paths.length, 61);
  let programs = 0;
  let maps = 0;
  let relocations = 0;
  let poisoned = 0;
  for (const path of paths) {
    const object = readObjectFile(path);
    const core = coreSummary(object.spec, undefined);
    const json = inspectJson(path, object.spec, object.embeddedAt, core);
    assert.ok((json["programs"] as unknown[]).length > 0, `${path} has no programs`);
    programs += object.spec.programs.length;
    maps += object.spec.maps.length;
    relocations += core?.relocations ?? 0;
    poisoned += core?.poisoned.length ?? 0;
    // A poisoned relocation is acceptable only where the field or type is missing from this kernel.
    for (const message of core?.poisoned ?? []) assert.match(message, /no such field|has no (struct|union|enum|typedef)/, `${path}: ${message}`);
  }
  console.log(`libbpf-tools: ${paths.length} objects, ${programs} programs, ${maps} maps, ${relocations} CO-RE relocations (${relocations - poisoned} resolved, ${poisoned} poisoned because this kernel lacks the field or type)`);
  assert.ok(relocations > 500);
});

test("`bpftime inspect` on a libbpf-tools binary prints its programs and CO-RE summary", { skip }, () => {
  const r = runCli(["inspect", "/usr/sbin/opensnoop"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /tracepoint__syscalls__sys_enter_openat\s+tracepoint\/syscalls\/sys_enter_openat\s+tracepoint\s+syscalls\/sys_enter_openat/);
  assert.match(r.stdout, /CO-RE: \d+ relocations against \/sys\/kernel\/btf\/vmlinux: \d+ resolved, 0 poisoned/);
  const json = JSON.parse(runCli(["inspect", "--json", "/usr/sbin/opensnoop"]).stdout) as { maps: { name: string; type: string }[] };
  assert.deepEqual(json.maps.map((m) => [m.name, m.type]), [["start", "hash"], ["events", "perf_event_array"], [".rodata", "array"]]);
});
