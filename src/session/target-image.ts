// The code one target process runs: the native helper library built for that process's addresses, the
// stubs of poisoned instructions, and every program JIT-compiled against the session's maps (which sit at
// the same address in every process) and that library. Laid out as one image for one region of the target.
//
// Per-target data (a private region, never shared: a forked child gets its own copy):
//   +0x00   the native library's private block (PrivateBlock.size bytes)
//   +0x40   one prog-array table per prog_array map ({u32 max, pad, u64 entry[max]}), filled with this
//           target's tail-call entries for the programs the map names

import { kernelHelperName } from "../helpers/ids.js";
import { ValidationError } from "../isa/errors.js";
import type { Insn } from "../isa/instruction.js";
import * as op from "../isa/opcodes.js";
import { Asm } from "../jit/native/asm.js";
import { PrivateBlock, type CpuSource } from "../jit/native/emit-context.js";
import { buildNativeLibrary } from "../jit/native/native-library.js";
import { compileProgram } from "../jit/x64/compiler/compile.js";
import { validateProgram } from "../isa/validator.js";
import { CORE_POISON_HELPER_ID } from "../core/poison.js";
import { MapType } from "../maps/map-types.js";
import type { ObjectSpec, ProgramSpec } from "../object/spec.js";
import type { RelocatedProgram } from "../runtime/core-relocation.js";
import { keepFunctionReferences, resolveImage } from "../runtime/program-image.js";
import { buildProbeHelpers } from "./probe-helpers.js";

/** A session map as every process sees it. */
export interface MapAddresses {
  readonly name: string;
  readonly type: number;
  readonly maxEntries: number;
  readonly address: bigint;
  readonly valueAddress: bigint;
}

export interface TargetFacts {
  readonly cpu: CpuSource;
  /** The target's __vdso_clock_gettime, or undefined (system call). */
  readonly clockGettime: bigint | undefined;
  readonly tidOffset: number | undefined;
}

export interface TargetImageInput {
  readonly spec: ObjectSpec;
  readonly relocated: ReadonlyMap<ProgramSpec, RelocatedProgram>;
  readonly maps: readonly MapAddresses[];
  readonly traceRing: bigint;
  readonly facts: TargetFacts;
  /** Where the per-target data and code regions will be mapped in the target. */
  readonly dataBase: bigint;
  readonly codeBase: bigint;
}

export interface TargetImage {
  readonly data: Uint8Array;
  readonly code: Uint8Array;
  /** Entry address of each program (what hook program tables call). */
  readonly entries: ReadonlyMap<string, bigint>;
  /** Poisoned or kfunc instructions: the message of each stub, for diagnostics. */
  readonly poisonMessages: readonly string[];
}

const PROG_TABLE_HEADER = 8;
/** Poisoned instructions call private helper ids from here (one stub each). */
const POISON_HELPER_BASE = 1024;
const CODE_ALIGN = 16;

/** The size of the per-target data region for an object. */
export function targetDataSize(maps: readonly MapAddresses[]): number {
  return PrivateBlock.size + maps.filter((m) => m.type === MapType.PROG_ARRAY).reduce((n, m) => n + PROG_TABLE_HEADER + 8 * m.maxEntries, 0);
}


export function buildTargetImage(input: TargetImageInput): TargetImage {
  const { spec, maps, dataBase, codeBase } = input;
  const data = new Uint8Array(targetDataSize(maps));
  // Prog-array tables after the private block.
  const tables = new Map<number, { address: bigint; offset: number; max: number }>();
  let offset = PrivateBlock.size;
  maps.forEach((m, index) => {
    if (m.type !== MapType.PROG_ARRAY) return;
    tables.set(index, { address: dataBase + BigInt(offset), offset, max: m.maxEntries });
    new DataView(data.buffer).setUint32(offset, m.maxEntries, true);
    offset += PROG_TABLE_HEADER + 8 * m.maxEntries;
  });

  const library = buildNativeLibrary({
    cpu: input.facts.cpu,
    privateBlock: dataBase,
    clockGettime: input.facts.clockGettime,
    tidOffset: input.facts.tidOffset,
    traceRing: input.traceRing,
    faultGuard: undefined, // no signal handlers in someone else's process: probe reads use process_vm_readv
  });
  const helpers = new Map<number, bigint>();
  for (const [id, at] of library.helperOffsets) helpers.set(id, codeBase + BigInt(at));
  // In a target every program runs in a hook frame: the probe helpers read it (replacing the library's
  // "outside a probe" answers).
  const probeHelpers = buildProbeHelpers();
  const probeAt = Math.ceil(library.code.length / CODE_ALIGN) * CODE_ALIGN;
  for (const [id, at] of probeHelpers.helperOffsets) helpers.set(id, codeBase + BigInt(probeAt + at));

  // Program images: maps as constants, poisoned calls redirected to private ids with one stub each.
  const poisonMessages: string[] = [];
  const images = spec.programs.map((program) => {
    const relocated = input.relocated.get(program)!;
    const insns = relocated.insns.map((ins) => ({ ...ins }));
    const unrunnable = resolveImage(insns, program, {
      mapAddress: (i) => tables.get(i)?.address ?? maps[i]!.address,
      mapValueAddress: (i) => maps[i]!.valueAddress,
      codeAddress: () => 0n,
    });
    keepFunctionReferences(relocated.insns, insns);
    for (const [slot, poison] of relocated.report?.poisonByInsn ?? []) unrunnable.set(slot, poison.message);
    for (const [slot, message] of unrunnable) {
      const ins = insns[slot];
      if (ins?.code !== op.OP_CALL || ins.imm !== CORE_POISON_HELPER_ID) continue;
      insns[slot] = { ...ins, imm: POISON_HELPER_BASE + poisonMessages.push(message) - 1 };
    }
    return { program, insns };
  });

  // The library first, then the probe helpers, the poison stubs, and the programs.
  const codeChunks: { at: number; bytes: Uint8Array }[] = [
    { at: 0, bytes: library.code },
    { at: probeAt, bytes: probeHelpers.code },
  ];
  let codeSize = Math.ceil((probeAt + probeHelpers.code.length) / CODE_ALIGN) * CODE_ALIGN;
  if (poisonMessages.length > 0) {
    // A poisoned instruction ends the run (abort_run) with its message number; the control plane cannot
    // report it from inside another process, so the run just stops there, as the interpreter's would.
    const a = new Asm();
    const abortRun = codeBase + BigInt(library.offsets.get("abort_run") ?? 0);
    poisonMessages.forEach((_, n) => {
      a.fn(`poison_${n}`);
      a.li(0, n);
      a.li(1, abortRun);
      a.callReg(1);
    });
    const stubs = a.bytes();
    poisonMessages.forEach((_, n) => helpers.set(POISON_HELPER_BASE + n, codeBase + BigInt(codeSize + a.offsetOf(`poison_${n}`))));
    codeChunks.push({ at: codeSize, bytes: stubs });
    codeSize = Math.ceil((codeSize + stubs.length) / CODE_ALIGN) * CODE_ALIGN;
  }

  const entries = new Map<string, bigint>();
  const tailEntries = new Map<string, bigint>();
  for (const { program, insns } of images) {
    try {
      validateProgram(insns, { allowPseudoLddw: true, isHelperKnown: (id) => helpers.has(id) || id === 12, helperName: kernelHelperName });
    } catch (error) {
      throw error instanceof ValidationError ? error.inProgram(program.name) : error;
    }
    const compiled = compileProgram(insns, { helpers, tailCalls: true });
    const at = codeSize;
    codeChunks.push({ at, bytes: compiled.code });
    entries.set(program.name, codeBase + BigInt(at + compiled.entryOffset));
    tailEntries.set(program.name, codeBase + BigInt(at + compiled.tailCallEntryOffset));
    codeSize = Math.ceil((at + compiled.code.length) / CODE_ALIGN) * CODE_ALIGN;
  }

  const code = new Uint8Array(codeSize);
  for (const chunk of codeChunks) code.set(chunk.bytes, chunk.at);

  // Tail-call tables point at this target's programs.
  const view = new DataView(data.buffer);
  for (const [index, table] of tables) {
    const definition = spec.maps[index]!;
    for (const [slot, name] of definition.initialSlots) {
      const target = tailEntries.get(name);
      if (target !== undefined && slot < table.max) view.setBigUint64(table.offset + PROG_TABLE_HEADER + 8 * slot, target, true);
    }
  }
  return { data, code, entries, poisonMessages };
}
