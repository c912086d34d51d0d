// Installs hooks into this process: one RWX region near the victim library holds the hook slices, program
// tables and their slots, the thread stack table, test programs and the counters they write. The generated
// code is the same a remote injector would write; only the way bytes reach memory differs.
//
// Code and data live in separate halves of the region: a store to a page the CPU is executing from is
// treated as self-modifying code and flushes the pipeline (it made a counting program cost ~40 ns).

import { X64Writer } from "../../../src/hook/emit/x64-writer.js";
import { findFreeRangeNear } from "../../../src/process/address-gaps.js";
import { readMaps } from "../../../src/process/maps.js";
import { prepareHook } from "../../../src/hook/prepare.js";
import type { PlanOptions, ProloguePlan } from "../../../src/hook/relocator/plan.js";
import { controlBlockWrites, HOOK_SLICE_MAX_SIZE, HookControl, type HookSlice, type HookSliceOptions } from "../../../src/hook/trampoline/hook-slice.js";
import { type AttachedProgram, encodeProgramTable } from "../../../src/hook/trampoline/program-table.js";
import { DEFAULT_THREAD_STACK_SHAPE, type ThreadStackConfig, type ThreadKeySource, threadStackTableSize } from "../../../src/hook/trampoline/thread-stacks.js";
import { mapExecutableAt, nativeBytes, writeCode } from "./local-process.js";

const REGION_SIZE = 8 << 20;

function alignUp(value: bigint, alignment: number): bigint {
  const a = BigInt(alignment);
  return ((value + a - 1n) / a) * a;
}

export interface InstalledHook {
  readonly plan: ProloguePlan;
  readonly slice: HookSlice;
  readonly control: bigint;
  setEntryPrograms(programs: readonly AttachedProgram[]): void;
  setReturnPrograms(programs: readonly AttachedProgram[]): void;
  /** Writes the original bytes back. */
  unpatch(): void;
}

export interface LabHookOptions extends PlanOptions {
  readonly slice?: Partial<Pick<HookSliceOptions, "vectors" | "restoreFlags" | "override">>;
  /** Give the slice a return stub (default true at the entry). */
  readonly returnProbes?: boolean;
  /** A thread stack table other than the lab's. */
  readonly threadStacks?: ThreadStackConfig;
}

export class HookLab {
  readonly base: bigint;
  private nextCode: bigint;
  private nextData: bigint;
  readonly threadStacks: ThreadStackConfig;

  constructor(near: bigint, key: ThreadKeySource) {
    const gap = findFreeRangeNear(readMaps(process.pid), near, REGION_SIZE);
    if (gap === undefined) throw new Error("no free region within ±2 GB of the victim library");
    this.base = mapExecutableAt(gap, REGION_SIZE);
    this.nextCode = this.base;
    this.nextData = this.base + BigInt(REGION_SIZE / 2);
    const tableSize = threadStackTableSize(DEFAULT_THREAD_STACK_SHAPE);
    this.threadStacks = { address: this.allocData(tableSize, 64), key, ...DEFAULT_THREAD_STACK_SHAPE };
  }

  /** A zeroed thread stack table of the given shape. */
  threadStackTable(shape: Pick<ThreadStackConfig, "slotCountLog2" | "slotSizeLog2" | "maxProbes">, key: ThreadKeySource): ThreadStackConfig {
    const size = threadStackTableSize(shape);
    const address = this.allocData(size, 64);
    nativeBytes(address, size).fill(0);
    return { address, key, ...shape };
  }

  private allocCode(size: number, alignment: number): bigint {
    const start = alignUp(this.nextCode, alignment);
    this.nextCode = start + BigInt(size);
    if (this.nextCode > this.base + BigInt(REGION_SIZE / 2)) throw new Error("hook lab code area exhausted");
    return start;
  }

  private allocData(size: number, alignment: number): bigint {
    const start = alignUp(this.nextData, alignment);
    this.nextData = start + BigInt(size);
    if (this.nextData > this.base + BigInt(REGION_SIZE)) throw new Error("hook lab data area exhausted");
    return start;
  }

  bytes(address: bigint, length: number): Uint8Array {
    return nativeBytes(address, length);
  }

  write(address: bigint, bytes: Uint8Array): void {
    nativeBytes(address, bytes.length).set(bytes);
  }

  u64(address: bigint): bigint {
    return new DataView(nativeBytes(address, 8).buffer).getBigUint64(0, true);
  }

  setU64(address: bigint, value: bigint): void {
    new DataView(nativeBytes(address, 8).buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  }

  /** A zeroed u64 cell for programs to write. */
  cell(): bigint {
    const address = this.allocData(8, 8);
    this.setU64(address, 0n);
    return address;
  }

  /** Generates native code with `emit` and returns its address. */
  code(emit: (w: X64Writer) => void, maxSize = 512): bigint {
    const address = this.allocCode(maxSize, 16);
    const w = new X64Writer(address);
    emit(w);
    const bytes = w.finish();
    if (bytes.length > maxSize) throw new Error("generated code larger than reserved");
    this.write(address, bytes);
    return address;
  }

  /** Writes a program table where the stubs can read it and returns its address. */
  table(programs: readonly AttachedProgram[]): bigint {
    const table = encodeProgramTable(programs);
    const address = this.allocData(table.length, 16);
    this.write(address, table);
    return address;
  }

  hook(name: string, address: bigint, size: number | undefined, options: LabHookOptions = {}): InstalledHook {
    const length = size ?? 64;
    const code = { name, address, bytes: nativeBytes(address, length).slice(), ...(size === undefined ? {} : { size }) };
    const control = this.allocData(HookControl.size, 64);
    const atEntry = (options.offset ?? 0) === 0;
    const withReturn = options.returnProbes ?? atEntry;
    const sliceAddress = this.allocCode(HOOK_SLICE_MAX_SIZE, 64);
    const { plan, slice, control: controlBytes, patch } = prepareHook({
      code,
      plan: options,
      sliceAddress,
      control,
      ...(withReturn ? { threadStacks: options.threadStacks ?? this.threadStacks } : {}),
      ...options.slice,
    });
    this.write(sliceAddress, slice.bytes);
    this.write(control, controlBytes);
    writeCode(plan.patchAddress, patch);
    let attached = { entryTable: 0n, returnTable: 0n };
    const update = (change: Partial<typeof attached>): void => {
      attached = { ...attached, ...change };
      for (const { offset, value } of controlBlockWrites(slice, attached)) this.setU64(control + BigInt(offset), value);
    };
    const tableOf = (programs: readonly AttachedProgram[]): bigint => (programs.length === 0 ? 0n : this.table(programs));
    return {
      plan,
      slice,
      control,
      setEntryPrograms: (programs) => update({ entryTable: tableOf(programs) }),
      setReturnPrograms: (programs) => update({ returnTable: tableOf(programs) }),
      unpatch: () => writeCode(plan.patchAddress, plan.originalBytes),
    };
  }
}
