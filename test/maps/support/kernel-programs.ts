// Tiny raw_tracepoint programs that call map helpers on a kernel map, run with BPF_PROG_TEST_RUN on a
// chosen CPU (BPF_F_TEST_RUN_ON_CPU): the kernel side of "a program did this on CPU c". The context is
// an array of u64 arguments: key bytes in args[0..1], value bytes in args[2..3], flags in args[4].

import { insn, lddw, type Insn } from "../../../src/isa/instruction.js";
import { ProgType } from "../../../src/object/section-names.js";
import { closeFd, createMap, loadProgram, mapLookup, testRun } from "../../../src/native/bpf-syscall.js";

const BPF_PSEUDO_MAP_FD = 1;
const TEST_RUN_ON_CPU = 1;
const HELPER = { lookup: 1, update: 2, delete: 3 } as const;
const CTX_BYTES = 40;

const ldxdw = (dst: number, src: number, off: number): Insn => insn(0x79, dst, src, off);
const stxdw = (dst: number, src: number, off: number): Insn => insn(0x7b, dst, src, off);
const movReg = (dst: number, src: number): Insn => insn(0xbf, dst, src);
const addImm = (dst: number, imm: number): Insn => insn(0x07, dst, 0, 0, imm);
const movImm = (dst: number, imm: number): Insn => insn(0xb7, dst, 0, 0, imm);
const call = (id: number): Insn => insn(0x85, 0, 0, 0, id);
const EXIT = insn(0x95);

/** Copies ctx args[first], args[first+1] (16 bytes) to the stack at r10+slot. */
const argsToStack = (first: number, slot: number): Insn[] => [
  ldxdw(2, 1, first * 8),
  stxdw(10, 2, slot),
  ldxdw(2, 1, first * 8 + 8),
  stxdw(10, 2, slot + 8),
];

export class KernelHelpers {
  private readonly lookupFd: number;
  private readonly updateFd: number;
  private readonly deleteFd: number;
  /** Receives the value a lookup found, so the test can read it back. */
  private readonly outFd: number;

  constructor(
    mapFd: number,
    private readonly valueSize: number,
  ) {
    this.outFd = createMap({ type: 2, keySize: 4, valueSize, maxEntries: 1 });
    const mapRef = (): Insn[] => lddw(1, BigInt(mapFd), BPF_PSEUDO_MAP_FD);
    const lookup: Insn[] = [
      movReg(6, 1),
      ...argsToStack(0, -16),
      movReg(2, 10),
      addImm(2, -16),
      ...mapRef(),
      call(HELPER.lookup),
      insn(0x55, 0, 0, 2, 0), // if r0 != 0 goto +2
      movImm(0, 0),
      EXIT,
      movReg(3, 0),
      movImm(2, 0),
      stxdw(10, 2, -24),
      movReg(2, 10),
      addImm(2, -24),
      ...lddw(1, BigInt(this.outFd), BPF_PSEUDO_MAP_FD),
      movImm(4, 0),
      call(HELPER.update),
      movImm(0, 1),
      EXIT,
    ];
    const update: Insn[] = [
      ...argsToStack(0, -16),
      ...argsToStack(2, -32),
      ldxdw(4, 1, 32),
      movReg(2, 10),
      addImm(2, -16),
      movReg(3, 10),
      addImm(3, -32),
      ...mapRef(),
      call(HELPER.update),
      EXIT,
    ];
    const remove: Insn[] = [...argsToStack(0, -16), movReg(2, 10), addImm(2, -16), ...mapRef(), call(HELPER.delete), EXIT];
    const load = (insns: Insn[]): number => loadProgram({ type: ProgType.RawTracepoint, insns, license: "GPL" });
    this.lookupFd = load(lookup);
    this.updateFd = load(update);
    this.deleteFd = load(remove);
  }

  private run(progFd: number, cpu: number, key: Uint8Array, value?: Uint8Array, flags = 0): number {
    const ctx = new Uint8Array(CTX_BYTES);
    ctx.set(key, 0);
    if (value) ctx.set(value, 16);
    new DataView(ctx.buffer).setUint32(32, flags, true);
    return testRun({ progFd, ctxIn: ctx, ctxSizeOut: 0, flags: TEST_RUN_ON_CPU, cpu }).retval | 0;
  }

  /** bpf_map_lookup_elem on `cpu`: the value found (this CPU's slot for per-CPU maps), or undefined. */
  lookup(cpu: number, key: Uint8Array): Uint8Array | undefined {
    if (this.run(this.lookupFd, cpu, key) === 0) return undefined;
    return mapLookup(this.outFd, new Uint8Array(4), this.valueSize);
  }

  /** bpf_map_update_elem on `cpu`; its return value (0 or -errno). */
  update(cpu: number, key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.run(this.updateFd, cpu, key, value, flags);
  }

  /** bpf_map_delete_elem on `cpu`. */
  delete(cpu: number, key: Uint8Array): number {
    return this.run(this.deleteFd, cpu, key);
  }

  close(): void {
    for (const fd of [this.lookupFd, this.updateFd, this.deleteFd, this.outFd]) closeFd(fd);
  }
}
