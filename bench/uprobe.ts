// What a hooked call costs in a native process, side by side in one run: a C victim
// (test/session/victims/bench-calls.c) calls a function N times and times the loop itself with
// clock_gettime, while we put hooks in and take them out of it from here:
//   (a) no hook, (b) our uprobe with an empty program, (c) our uprobe counting calls per pid as
//   examples/malloc.bpf.c does (pid_tgid + hash lookup/add), (d) our uretprobe with an empty program,
//   (e) the kernel's uprobe with program (c), and the kernel's uretprobe with the empty one,
// on two functions: one that starts with `push %rbp` (the kernel emulates it) and one that starts with `lea`
// (the kernel single-steps it out of line). The programs are examples/uprobe_bench.bpf.o. The kernel's probes
// are loaded by our own bpf() wrappers and attached with perf_event_open on the uprobe PMU.
// Also: how long `attach` holds the victim stopped for one hook (its PauseReport), and where that time goes.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { InjectionSession } from "../src/inject/session.js";
import type { Insn } from "../src/isa/instruction.js";
import * as op from "../src/isa/opcodes.js";
import { kernelBpfAvailable } from "../src/native/bpf-available.js";
import { closeFd, createMap as createKernelMap, loadProgram, mapLookupOptional } from "../src/native/bpf-syscall.js";
import { lastErrno, syscall } from "../src/native/libc.js";
import { scratchSlices, type NativeSlice } from "../src/native/native-scratch.js";
import { SyscallError } from "../src/native/syscall-error.js";
import { ProgType } from "../src/object/section-names.js";
import type { ObjectSpec } from "../src/object/spec.js";
import { findModule, modulesOf, readMaps } from "../src/process/maps.js";
import { moduleElf } from "../src/process/module-file.js";
import { resolveSymbol } from "../src/process/symbols.js";
import { attachTarget, prepareForAttach, type HookRequest, type SessionInTarget } from "../src/session/attach-target.js";
import type { TargetRecord } from "../src/session/descriptor.js";
import { restoreHooks } from "../src/session/detach-target.js";
import { Session } from "../src/session/session.js";
import { Victim } from "../test/inject/victims.js";
import { example, injectSkipReason, SessionVictims } from "../test/session/support.js";
import { benchTable } from "./table.js";

const ROUNDS = 7;
/** Calls per round: enough for tens of milliseconds at each configuration's cost. */
const OUR_CALLS = 1_000_000;
const KERNEL_CALLS: Record<Kind, number> = { push: 20_000, step: 4_000 };
const PAUSE_SAMPLES = 7;

type Kind = "push" | "step";
const FUNCTION: Record<Kind, string> = { push: "push_target", step: "step_target" };
const KINDS: readonly Kind[] = ["push", "step"];

// ---- the victim ---------------------------------------------------------------------------------------

class BenchVictim {
  /** Calls made so far, per function (the maps are checked against it). */
  readonly calls: Record<Kind, number> = { push: 0, step: 0 };
  private tag = 0;

  private constructor(
    readonly path: string,
    private readonly victim: Victim,
  ) {}

  static async start(path: string): Promise<BenchVictim> {
    const victim = Victim.start(path);
    await victim.waitForLine(/^ready$/);
    return new BenchVictim(path, victim);
  }

  get pid(): number {
    return this.victim.pid;
  }

  /** Nanoseconds per call of `kind`, the median of ROUNDS loops of n calls timed inside the victim. */
  async nsPerCall(kind: Kind, n: number): Promise<number> {
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tag = `t${++this.tag}`;
      this.victim.send(`${kind} ${n} ${tag}\n`);
      const line = await this.victim.waitForLine(new RegExp(`^${tag} ns `), 120_000);
      const [, , ns, , ok] = line.split(" ");
      if (ok !== "1") throw new Error(`a hooked ${FUNCTION[kind]} returned a wrong result`);
      this.calls[kind] += n;
      samples.push(Number(ns) / n);
    }
    samples.sort((a, b) => a - b);
    return samples[ROUNDS >> 1]!;
  }

  async stop(): Promise<void> {
    const status = await this.victim.finish();
    if (status.code !== 0) throw new Error(`the benchmark victim ended with ${JSON.stringify(status)}: ${this.victim.stderr}`);
  }

  kill(): void {
    this.victim.kill();
  }
}

// ---- our hooks ----------------------------------------------------------------------------------------

interface PauseSample {
  /** The PauseReport's: from the first ptrace request until every thread ran again. */
  pauseMs: number;
  /** Until every thread was stopped. */
  stopMs: number;
  /** attachTarget: arena, image, hook. */
  attachMs: number;
  /** Preparation before the stop (symbols, image build): not part of the pause. */
  prepareMs: number;
}

/** The session with only `request` hooked. */
function hooking(session: Session, request: HookRequest): SessionInTarget {
  return { ...session.target, hooks: [request] };
}

function request(victim: BenchVictim, program: string, kind: Kind, retprobe: boolean): HookRequest {
  return { program, retprobe, binary: victim.path, func: FUNCTION[kind], offset: 0 };
}

/** Attaches the way `bpftime attach` does (image prepared while the victim runs, unless told not to). */
function attachOurs(pid: number, target: SessionInTarget, prepare: boolean): { record: TargetRecord; pause: PauseSample } {
  const preparing = performance.now();
  const prepared = prepare ? prepareForAttach(pid, target) : undefined;
  const prepareMs = performance.now() - preparing;
  const injection = InjectionSession.attach(pid);
  let record: TargetRecord;
  let attachMs: number;
  try {
    const attaching = performance.now();
    record = attachTarget(injection, target, prepared);
    attachMs = performance.now() - attaching;
  } finally {
    injection.detach();
  }
  const report = injection.pauseReport();
  return { record, pause: { pauseMs: report.pauseMs ?? 0, stopMs: report.stopMs, attachMs, prepareMs } };
}

function detachOurs(pid: number, record: TargetRecord): void {
  const injection = InjectionSession.attach(pid);
  try {
    restoreHooks(injection, record);
  } finally {
    injection.detach();
  }
}

function ourPidCount(session: Session, pid: number): bigint {
  const live = session.maps.find((m) => m.definition.name === "calls")!;
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, pid, true);
  const value = new Uint8Array(8);
  return live.map.lookupElem(key, value) === 0 ? new DataView(value.buffer).getBigUint64(0, true) : 0n;
}

// ---- the kernel's uprobes ----------------------------------------------------------------------------

const SYS_PERF_EVENT_OPEN = 298;
const SYS_IOCTL = 16;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_EVENT_IOC_ENABLE = 0x2400;
/** _IOW('$', 8, __u32) */
const PERF_EVENT_IOC_SET_BPF = 0x40042408;
/** struct perf_event_attr: the fields a uprobe needs (PERF_ATTR_SIZE_VER7 bytes, the rest zero). */
const PerfAttr = { type: 0, size: 4, config: 8, uprobePath: 56, probeOffset: 64, bytes: 128 } as const;
const UPROBE_PMU = "/sys/bus/event_source/devices/uprobe";

function uprobePmu(): { type: number; retprobeBit: bigint } {
  const type = Number(readFileSync(`${UPROBE_PMU}/type`, "utf8").trim());
  const format = readFileSync(`${UPROBE_PMU}/format/retprobe`, "utf8").trim(); // "config:0"
  const bit = /^config:(\d+)$/.exec(format);
  if (!bit) throw new Error(`unexpected uprobe retprobe format '${format}'`);
  return { type, retprobeBit: 1n << BigInt(bit[1]!) };
}

function ioctl(fd: number, request: number, argument: number): void {
  const result = Number(syscall(SYS_IOCTL, "int", fd, "unsigned long", request, "long", argument));
  if (result < 0) throw new SyscallError(`ioctl(0x${request.toString(16)})`, lastErrno());
}

/** A kernel uprobe on `path` at file offset `offset` in process `pid`, running program `progFd`. */
function openKernelUprobe(progFd: number, path: string, offset: number, pid: number, retprobe: boolean): number {
  const pmu = uprobePmu();
  const pathBytes = new TextEncoder().encode(path + "\0");
  const [attr, pathSlice] = scratchSlices([PerfAttr.bytes, pathBytes.length]) as [NativeSlice, NativeSlice];
  pathSlice.bytes.set(pathBytes);
  const v = attr.view;
  v.setUint32(PerfAttr.type, pmu.type, true);
  v.setUint32(PerfAttr.size, PerfAttr.bytes, true);
  v.setBigUint64(PerfAttr.config, retprobe ? pmu.retprobeBit : 0n, true);
  v.setBigUint64(PerfAttr.uprobePath, pathSlice.address, true);
  v.setBigUint64(PerfAttr.probeOffset, BigInt(offset), true);
  const fd = Number(syscall(SYS_PERF_EVENT_OPEN, "void *", attr.address, "int", pid, "int", -1, "int", -1, "unsigned long", PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) throw new SyscallError("perf_event_open(uprobe)", lastErrno());
  try {
    ioctl(fd, PERF_EVENT_IOC_SET_BPF, progFd);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  } catch (error) {
    closeFd(fd);
    throw error;
  }
  return fd;
}

/** Program `name` of the object for the kernel: its map references become the fds of kernel maps. */
function kernelProgram(spec: ObjectSpec, name: string, mapFds: readonly number[]): Insn[] {
  const program = spec.programs.find((p) => p.name === name);
  if (!program) throw new Error(`${spec.name} has no program '${name}'`);
  const insns = program.insns.map((ins) => ({ ...ins }));
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i]!;
    if (ins.code !== op.OP_LDDW) continue;
    if (ins.src === op.BPF_PSEUDO_MAP_IDX) insns[i] = { ...ins, src: op.BPF_PSEUDO_MAP_FD, imm: mapFds[ins.imm]! };
    else if (ins.src !== op.BPF_PSEUDO_IMM64) throw new Error(`program '${name}': lddw kind ${ins.src} is not handled here`);
    i++;
  }
  return insns;
}

/** The file offset of `func` in `path` as mapped in `pid` (what a kernel uprobe is given). */
function fileOffsetOf(pid: number, path: string, func: string): number {
  const module = findModule(modulesOf(readMaps(pid)), path, pid);
  const symbol = resolveSymbol(moduleElf(module, pid), module, func);
  if (symbol.fileOffset === undefined) throw new Error(`${func} in ${path} has no file offset`);
  return symbol.fileOffset;
}

interface KernelPrograms {
  readonly countPid: number;
  readonly emptyReturn: number;
  readonly mapFd: number;
  close(): void;
}

function loadKernelPrograms(spec: ObjectSpec): KernelPrograms {
  const mapFds = spec.maps.map((m) => createKernelMap({ type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, name: m.kernelName }));
  const load = (name: string): number => loadProgram({ type: ProgType.Kprobe, insns: kernelProgram(spec, name, mapFds), license: spec.license, name });
  const countPid = load("count_pid");
  const emptyReturn = load("empty_return");
  return {
    countPid,
    emptyReturn,
    mapFd: mapFds[spec.maps.findIndex((m) => m.name === "calls")]!,
    close: () => [countPid, emptyReturn, ...mapFds].forEach(closeFd),
  };
}

function kernelPidCount(mapFd: number, pid: number): bigint {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, pid, true);
  const value = mapLookupOptional(mapFd, key, 8);
  return value ? new DataView(value.buffer, value.byteOffset).getBigUint64(0, true) : 0n;
}

/** Why the kernel's uprobes cannot be measured here, or undefined. */
function kernelSkipReason(): string | undefined {
  const bpf = kernelBpfAvailable();
  if (!bpf.ok) return bpf.reason;
  try {
    uprobePmu();
  } catch (error) {
    return `no uprobe PMU (${(error as Error).message})`;
  }
  return undefined;
}

// ---- the benchmark ------------------------------------------------------------------------------------

interface Row {
  readonly name: string;
  readonly ns: Partial<Record<Kind, number>>;
  readonly target?: string;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

export interface UprobeBenchmark {
  readonly unhooked: Record<Kind, number>;
  readonly rows: readonly Row[];
  readonly prepared: readonly PauseSample[];
  readonly unprepared: readonly PauseSample[];
  readonly kernelSkipped: string | undefined;
}

export async function measureUprobes(): Promise<UprobeBenchmark> {
  const victims = new SessionVictims();
  const session = Session.create(example("uprobe_bench.bpf.o"));
  let victim: BenchVictim | undefined;
  try {
    victim = await BenchVictim.start(victims.benchCalls());
    const pid = victim.pid;
    const unhooked = { push: 0, step: 0 };
    const ours: Row[] = [
      { name: "(b) our uprobe, empty program", ns: {}, target: "<= 20" },
      { name: "(c) our uprobe, pid_tgid + hash update", ns: {}, target: "<= 50" },
      { name: "(d) our uretprobe, empty program", ns: {}, target: "<= 30" },
    ];
    const kernel: Row[] = [
      { name: "(e) kernel uprobe, pid_tgid + hash update", ns: {} },
      { name: "    kernel uretprobe, empty program", ns: {} },
    ];
    const prepared: PauseSample[] = [];
    const unprepared: PauseSample[] = [];
    const kernelSkipped = kernelSkipReason();
    const kernelPrograms = kernelSkipped ? undefined : loadKernelPrograms(session.spec);
    try {
      for (const kind of KINDS) {
        await victim.nsPerCall(kind, OUR_CALLS); // warm up
        unhooked[kind] = await victim.nsPerCall(kind, OUR_CALLS);
        const configurations: [Row, string, boolean][] = [
          [ours[0]!, "empty_entry", false],
          [ours[1]!, "count_pid", false],
          [ours[2]!, "empty_return", true],
        ];
        for (const [row, program, retprobe] of configurations) {
          const countedBefore = ourPidCount(session, pid);
          const callsBefore = victim.calls[kind];
          const { record, pause } = attachOurs(pid, hooking(session, request(victim, program, kind, retprobe)), true);
          prepared.push(pause);
          try {
            row.ns[kind] = await victim.nsPerCall(kind, OUR_CALLS);
          } finally {
            detachOurs(pid, record);
          }
          // The counting program must have seen every call, or its timing means nothing.
          const counted = ourPidCount(session, pid) - countedBefore;
          const expected = program === "count_pid" ? BigInt(victim.calls[kind] - callsBefore) : 0n;
          if (counted !== expected) throw new Error(`our ${program} on ${FUNCTION[kind]} counted ${counted} calls, expected ${expected}`);
        }
        if (kernelPrograms) {
          const offset = fileOffsetOf(pid, victim.path, FUNCTION[kind]);
          const probes: [Row, number, boolean][] = [
            [kernel[0]!, kernelPrograms.countPid, false],
            [kernel[1]!, kernelPrograms.emptyReturn, true],
          ];
          for (const [row, progFd, retprobe] of probes) {
            const countedBefore = kernelPidCount(kernelPrograms.mapFd, pid);
            const callsBefore = victim.calls[kind];
            const fd = openKernelUprobe(progFd, victim.path, offset, pid, retprobe);
            try {
              row.ns[kind] = await victim.nsPerCall(kind, KERNEL_CALLS[kind]);
            } finally {
              closeFd(fd);
            }
            const counted = kernelPidCount(kernelPrograms.mapFd, pid) - countedBefore;
            const expected = progFd === kernelPrograms.countPid ? BigInt(victim.calls[kind] - callsBefore) : 0n;
            if (counted !== expected) throw new Error(`the kernel's uprobe on ${FUNCTION[kind]} counted ${counted} calls, expected ${expected}`);
          }
        }
      }
      // The pause alone: attach one hook and take it out again, with the image prepared or built while stopped.
      for (const [samples, prepare] of [
        [prepared, true],
        [unprepared, false],
      ] as const) {
        for (let i = 0; i < PAUSE_SAMPLES; i++) {
          const { record, pause } = attachOurs(pid, hooking(session, request(victim, "empty_entry", "push", false)), prepare);
          samples.push(pause);
          detachOurs(pid, record);
        }
      }
    } finally {
      kernelPrograms?.close();
    }
    await victim.stop();
    return { unhooked, rows: [...ours, ...kernel], prepared, unprepared, kernelSkipped };
  } finally {
    victim?.kill();
    session.close();
    victims.remove();
  }
}

export async function printUprobeBenchmarks(): Promise<void> {
  const skip = injectSkipReason();
  if (skip) {
    console.log(`Uprobe cost in a native process: skipped (${skip})`);
    return;
  }
  const result = await measureUprobes();
  const ns = (value: number | undefined): string => (value === undefined ? "-" : value.toFixed(1));
  const over = (value: number | undefined, kind: Kind): string => (value === undefined ? "-" : "+" + (value - result.unhooked[kind]).toFixed(1));
  console.log(`Uprobe cost in a native process (ns per call, timed inside the victim; median of ${ROUNDS} loops of ${OUR_CALLS} calls, kernel: ${KERNEL_CALLS.push} / ${KERNEL_CALLS.step})`);
  console.log(
    benchTable(
      ["hook", "push %rbp first", "over unhooked", "lea first", "over unhooked", "target (over)"],
      [
        ["(a) no hook", ns(result.unhooked.push), "", ns(result.unhooked.step), "", ""],
        ...result.rows.map((row) => [row.name, ns(row.ns.push), over(row.ns.push, "push"), ns(row.ns.step), over(row.ns.step, "step"), row.target ?? ""]),
      ],
    ),
  );
  if (result.kernelSkipped) console.log(`kernel uprobes: skipped (${result.kernelSkipped})`);
  // The breakdown is the median sample's own, so its parts add up to its pause.
  const pauseRow = (name: string, samples: readonly PauseSample[]): string[] => {
    const byPause = [...samples].sort((a, b) => a.pauseMs - b.pauseMs);
    const middle = byPause[byPause.length >> 1]!;
    return [
      name,
      middle.pauseMs.toFixed(1),
      byPause[byPause.length - 1]!.pauseMs.toFixed(1),
      middle.stopMs.toFixed(1),
      middle.attachMs.toFixed(1),
      (middle.pauseMs - middle.stopMs - middle.attachMs).toFixed(1),
      median(samples.map((s) => s.prepareMs)).toFixed(1),
    ];
  };
  console.log(`\nTarget paused by attach, one hook, 1-thread victim (ms; PauseReport; target <= 10)`);
  console.log(
    benchTable(
      ["attach", "pause median", "max", "of which: stopping threads", "attachTarget", "the rest", "prepared before the stop (median)"],
      [pauseRow(`image prepared first (bpftime attach), ${result.prepared.length}x`, result.prepared), pauseRow(`image built while stopped, ${result.unprepared.length}x`, result.unprepared)],
    ),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await printUprobeBenchmarks();
