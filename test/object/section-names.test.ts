import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSectionName, ProgType, SectionNameError } from "../../src/object/section-names.js";

test("uprobe and uretprobe targets: binary, function, offset (decimal, hex, octal)", () => {
  assert.deepEqual(parseSectionName("uprobe/libc.so.6:malloc").attach, { kind: "uprobe", retprobe: false, binary: "libc.so.6", func: "malloc", offset: 0 });
  assert.deepEqual(parseSectionName("uprobe//usr/bin/bash:readline+0x10").attach, { kind: "uprobe", retprobe: false, binary: "/usr/bin/bash", func: "readline", offset: 16 });
  assert.equal((parseSectionName("uprobe/./app:f+010").attach as { offset: number }).offset, 8);
  const ret = parseSectionName("uretprobe.s//bin/bash:readline");
  assert.equal(ret.kind, "uretprobe");
  assert.equal(ret.sleepable, true);
  assert.equal(ret.userspace, true);
  assert.deepEqual(ret.attach, { kind: "uprobe", retprobe: true, binary: "/bin/bash", func: "readline", offset: 0 });
});

test("bare uprobe has no target; malformed targets are one-line errors", () => {
  assert.equal(parseSectionName("uprobe").attach, undefined);
  assert.throws(() => parseSectionName("uprobe/libc.so.6"), SectionNameError);
  assert.throws(() => parseSectionName("uretprobe/libc.so.6:malloc+4"), /a uretprobe cannot have an offset/);
  assert.throws(() => parseSectionName("uprobe/libc.so.6:malloc+zz"), /invalid offset 'zz'/);
});

test("the separator after a prefix must be '/': uprobeX is not a uprobe", () => {
  assert.equal(parseSectionName("uprobeX").kind, "unknown");
  assert.equal(parseSectionName("kprobeX/foo").progType, ProgType.Unspec);
});

test("tracepoints, raw tracepoints, usdt", () => {
  assert.deepEqual(parseSectionName("tracepoint/syscalls/sys_enter_openat").attach, { kind: "tracepoint", category: "syscalls", name: "sys_enter_openat" });
  assert.deepEqual(parseSectionName("tp/sched/sched_switch").attach, { kind: "tracepoint", category: "sched", name: "sched_switch" });
  assert.equal(parseSectionName("tp/sched/sched_switch").progType, ProgType.Tracepoint);
  assert.throws(() => parseSectionName("tracepoint/nocategory"), /expected tracepoint\/<category>\/<name>/);
  assert.deepEqual(parseSectionName("raw_tp/sys_enter").attach, { kind: "raw_tracepoint", name: "sys_enter" });
  assert.deepEqual(parseSectionName("usdt/./app:prov:probe").attach, { kind: "usdt", binary: "./app", provider: "prov", name: "probe" });
  assert.throws(() => parseSectionName("usdt/./app:prov"), /usdt\/<binary>:<provider>:<name>/);
});

test("kernel-only kinds are recognised but marked not runnable in userspace", () => {
  const k = parseSectionName("kprobe/do_sys_openat2");
  assert.equal(k.progType, ProgType.Kprobe);
  assert.equal(k.userspace, false);
  assert.deepEqual(k.attach, { kind: "kprobe", retprobe: false, func: "do_sys_openat2", offset: 0 });
  assert.equal(parseSectionName("fentry/vfs_read").progType, ProgType.Tracing);
  assert.equal(parseSectionName("cgroup/connect4").progType, ProgType.CgroupSockAddr);
  assert.equal(parseSectionName("lsm.s/file_open").sleepable, true);
});

test("exact names match only exactly; xdp.frags and syscall", () => {
  assert.equal(parseSectionName("xdp").progType, ProgType.Xdp);
  assert.equal(parseSectionName("xdp.frags").progType, ProgType.Xdp);
  assert.equal(parseSectionName("xdp/foo").kind, "unknown");
  assert.equal(parseSectionName("socket").userspace, true);
  assert.equal(parseSectionName("syscall").progType, ProgType.Syscall);
});

test("a leading '?' disables auto-loading", () => {
  const info = parseSectionName("?uprobe/libc.so.6:free");
  assert.equal(info.autoload, false);
  assert.equal(info.section, "uprobe/libc.so.6:free");
  assert.equal(parseSectionName("socket").autoload, true);
});
