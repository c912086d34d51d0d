// Linking one program: its entry function, followed by every subprogram it reaches through calls and
// function addresses, with calls relinked to the new layout and object references turned into the
// fd_array-style LDDW encodings described in spec.ts.

import type { BtfExt } from "../btf/ext.js";
import type { Insn } from "../isa/instruction.js";
import * as op from "../isa/opcodes.js";
import { functionAt, type CodeLocation, type CodeSection, type ElfFunction, type Reference } from "./code.js";
import { ObjectError } from "./errors.js";
import type { CoreRelocation, FunctionRange } from "./spec.js";

/** Turns map and global-data references into (map index, offset). */
export interface ReferenceResolver {
  map(reference: Extract<Reference, { kind: "map" }>): number;
  data(reference: Extract<Reference, { kind: "data" }>): { mapIndex: number; offset: number };
  /** A .kconfig extern as (map index, offset), or undefined for a kernel symbol (.ksyms). */
  extern(reference: Extract<Reference, { kind: "extern" }>): { mapIndex: number; offset: number } | undefined;
}

export interface LinkedProgram {
  insns: Insn[];
  functions: FunctionRange[];
  coreRelocations: CoreRelocation[];
  kernelSymbols: Map<number, string>;
}

function callTarget(fn: ElfFunction, slot: number, ins: Insn, reference: Reference | undefined): CodeLocation | undefined {
  if (reference?.kind === "call" || reference?.kind === "function-address") return reference.target;
  if (ins.code === op.OP_CALL && ins.src === op.BPF_PSEUDO_CALL) return { section: fn.section.index, slot: slot + 1 + ins.imm };
  return undefined;
}

export function linkProgram(entry: ElfFunction, sections: readonly CodeSection[], resolver: ReferenceResolver, btfExt: BtfExt | undefined): LinkedProgram {
  // Lay out functions breadth-first from the entry.
  const order: ElfFunction[] = [entry];
  const base = new Map<ElfFunction, number>([[entry, 0]]);
  let size = entry.length;
  for (let f = 0; f < order.length; f++) {
    const fn = order[f]!;
    for (let slot = fn.start; slot < fn.start + fn.length; slot++) {
      const target = callTarget(fn, slot, fn.section.insns[slot]!, fn.section.references.get(slot));
      if (!target) continue;
      const callee = functionAt(sections, target);
      if (!callee) throw new ObjectError(`${fn.name}: instruction ${slot - fn.start} calls or takes the address of slot ${target.slot}, which is in no function`);
      if (!base.has(callee)) {
        base.set(callee, size);
        order.push(callee);
        size += callee.length;
      }
    }
  }

  const insns: Insn[] = [];
  const kernelSymbols = new Map<number, string>();
  // Offsets for LDDW second slots, patched once every slot of the program has been copied.
  const pendingSecondSlot = new Map<number, number>();
  for (const fn of order) {
    const fnBase = base.get(fn)!;
    for (let slot = fn.start; slot < fn.start + fn.length; slot++) {
      const at = fnBase + (slot - fn.start);
      const ins = { ...fn.section.insns[slot]! };
      insns.push(ins);
      const reference = fn.section.references.get(slot);
      const target = callTarget(fn, slot, ins, reference);
      if (target) {
        const callee = functionAt(sections, target)!;
        const combined = base.get(callee)! + (target.slot - callee.start);
        ins.imm = combined - (at + 1);
        if (ins.code === op.OP_LDDW) ins.src = op.BPF_PSEUDO_FUNC;
        continue;
      }
      if (!reference) continue;
      const second = (): Insn => {
        const next = fn.section.insns[slot + 1];
        if (ins.code !== op.OP_LDDW || !next) throw new ObjectError(`${fn.name}: relocated instruction ${slot - fn.start} is not a complete lddw`);
        return next;
      };
      switch (reference.kind) {
        case "map":
          second();
          ins.src = op.BPF_PSEUDO_MAP_IDX;
          ins.imm = resolver.map(reference);
          break;
        case "data": {
          second();
          const { mapIndex, offset } = resolver.data(reference);
          ins.src = op.BPF_PSEUDO_MAP_IDX_VALUE;
          ins.imm = mapIndex;
          pendingSecondSlot.set(at + 1, offset);
          break;
        }
        case "extern": {
          second();
          const resolved = resolver.extern(reference);
          if (resolved) {
            ins.src = op.BPF_PSEUDO_MAP_IDX_VALUE;
            ins.imm = resolved.mapIndex;
            pendingSecondSlot.set(at + 1, resolved.offset);
          } else {
            ins.src = op.BPF_PSEUDO_BTF_ID;
            kernelSymbols.set(at, reference.symbol.name);
          }
          break;
        }
        case "kfunc":
          ins.src = op.BPF_PSEUDO_KFUNC_CALL;
          kernelSymbols.set(at, reference.symbol.name);
          break;
      }
    }
  }
  for (const [slot, offset] of pendingSecondSlot) insns[slot]!.imm = offset;

  return {
    insns,
    functions: order.map((fn) => ({ name: fn.name, start: base.get(fn)!, length: fn.length })),
    coreRelocations: coreRelocationsOf(order, base, btfExt),
    kernelSymbols,
  };
}

function coreRelocationsOf(order: readonly ElfFunction[], base: ReadonlyMap<ElfFunction, number>, btfExt: BtfExt | undefined): CoreRelocation[] {
  if (!btfExt) return [];
  const out: CoreRelocation[] = [];
  for (const fn of order) {
    const records = btfExt.coreRelos.find((s) => s.section === fn.section.name)?.records ?? [];
    for (const relo of records) {
      const slot = relo.insnOff / 8;
      if (slot >= fn.start && slot < fn.start + fn.length) out.push({ index: base.get(fn)! + (slot - fn.start), relo });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}
