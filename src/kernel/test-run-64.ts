// Runs an instruction array in the kernel and returns its full 64-bit r0: the kernel as an oracle for
// our own engines. One runner owns one result map and reuses it for every program it runs, so a batch
// of thousands of programs costs one load, one test run, one map read and one close each.

import type { Insn } from "../isa/instruction.js";
import { ProgType } from "../object/section-names.js";
import { BpfCommand, BpfMapType } from "../native/bpf-constants.js";
import { BpfError, closeFd, createMap, loadProgram, mapLookup, testRun } from "../native/bpf-syscall.js";
import { WRAPPER_OK, WRAPPER_SHORT_PACKET, wrapForTestRun } from "./wrap-64.js";

export type KernelRunResult =
  | {
      ok: true;
      r0: bigint;
      /** The input memory as the program left it (empty when no memory was given). */
      memory: Uint8Array;
      /** The kernel's own measurement of one run, in nanoseconds. */
      durationNs: number;
    }
  | { ok: false; log: string };

/** XDP test runs refuse packets shorter than an Ethernet header. */
const MIN_PACKET = 14;
const RESULT_KEY = new Uint8Array(4);

export class KernelRunner {
  private mapFd: number | undefined;

  constructor() {
    this.mapFd = createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "r0_result" });
  }

  /**
   * Loads `program` as the subprogram of an XDP wrapper, runs it once, and reads r0 back. With
   * `memory`, the program gets r1 = its bytes (padded to 14 in the packet) and r2 = its real length.
   * A verifier rejection is a result ({ ok: false, log }); anything else going wrong throws.
   */
  run(program: readonly Insn[], memory?: Uint8Array): KernelRunResult {
    const mapFd = this.requireMap();
    const insns = wrapForTestRun(program, memory === undefined ? { resultMapFd: mapFd } : { resultMapFd: mapFd, memoryLength: memory.length });
    let progFd: number;
    try {
      progFd = loadProgram({ type: ProgType.Xdp, insns, license: "GPL", name: "diff_test" });
    } catch (error) {
      if (error instanceof BpfError && error.command === BpfCommand.PROG_LOAD) {
        return { ok: false, log: error.log || error.message };
      }
      throw error;
    }
    try {
      const packet = new Uint8Array(Math.max(memory?.length ?? 0, MIN_PACKET));
      if (memory) packet.set(memory);
      const run = testRun({ progFd, dataIn: packet, repeat: 1 });
      if (run.retval === WRAPPER_SHORT_PACKET) throw new Error(`the kernel gave the program a packet shorter than ${memory?.length} bytes`);
      if (run.retval !== WRAPPER_OK) throw new Error(`the test-run wrapper returned ${run.retval}, not XDP_PASS`);
      const value = mapLookup(mapFd, RESULT_KEY, 8);
      const r0 = new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true);
      return { ok: true, r0, memory: run.dataOut.slice(0, memory?.length ?? 0), durationNs: run.durationNs };
    } finally {
      closeFd(progFd);
    }
  }

  /** Closes the result map; the runner cannot be used afterwards. */
  close(): void {
    if (this.mapFd !== undefined) closeFd(this.mapFd);
    this.mapFd = undefined;
  }

  private requireMap(): number {
    if (this.mapFd === undefined) throw new Error("this KernelRunner is closed");
    return this.mapFd;
  }
}

let shared: KernelRunner | undefined;

/** Runs one program on a runner shared by the whole process (created on first use). */
export function runInKernel64(program: readonly Insn[], memory?: Uint8Array): KernelRunResult {
  shared ??= new KernelRunner();
  return shared.run(program, memory);
}
