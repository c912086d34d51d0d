// Turning a program's spec encodings (fd_array-style LDDW, see object/spec.ts) into plain constants once
// its maps have addresses, and recording why an instruction cannot run (CO-RE poison, kernel symbols).

import { poisonInstruction } from "../core/poison.js";
import type { Insn } from "../isa/instruction.js";
import * as op from "../isa/opcodes.js";
import type { ProgramSpec } from "../object/spec.js";

/** Addresses the program's references resolve to. */
export interface ImageAddresses {
  /** Address of the map itself (what helpers receive as the map argument). */
  mapAddress(mapIndex: number): bigint;
  /** Address of the first byte of the value of a single-value map (global data). */
  mapValueAddress(mapIndex: number): bigint;
  /** Address of a slot of this program (a function pointer). */
  codeAddress(slot: number): bigint;
}

function setLddw(insns: Insn[], at: number, value: bigint): void {
  const bits = BigInt.asUintN(64, value);
  insns[at] = { ...insns[at]!, src: op.BPF_PSEUDO_IMM64, imm: Number(BigInt.asIntN(32, bits & 0xffffffffn)) };
  insns[at + 1] = { ...insns[at + 1]!, imm: Number(BigInt.asIntN(32, bits >> 32n)) };
}

/**
 * Replaces every map, map-value and function LDDW with its constant. Instructions that reference kernel
 * symbols become poisoned calls (as failed CO-RE relocations do) and are returned with a message, for the
 * engine to stop at if they run.
 */
export function resolveImage(insns: Insn[], program: ProgramSpec, addresses: ImageAddresses): Map<number, string> {
  const unrunnable = new Map<number, string>();
  for (let i = 0; i < insns.length; i++) {
    const ins = insns[i]!;
    if (ins.code !== op.OP_LDDW) continue;
    switch (ins.src) {
      case op.BPF_PSEUDO_MAP_IDX:
        setLddw(insns, i, addresses.mapAddress(ins.imm));
        break;
      case op.BPF_PSEUDO_MAP_IDX_VALUE: {
        const offset = BigInt(insns[i + 1]!.imm >>> 0);
        setLddw(insns, i, addresses.mapValueAddress(ins.imm) + offset);
        break;
      }
      case op.BPF_PSEUDO_FUNC:
        setLddw(insns, i, addresses.codeAddress(i + 1 + ins.imm));
        break;
      case op.BPF_PSEUDO_BTF_ID: {
        const message = `program '${program.name}' reads kernel symbol '${program.kernelSymbols.get(i) ?? "?"}', which does not exist in userspace`;
        for (const slot of poisonInstruction(insns, i)) unrunnable.set(slot, message);
        break;
      }
    }
    i++; // the second slot
  }
  for (const [slot, name] of program.kernelSymbols) {
    if (insns[slot]?.code !== op.OP_CALL) continue;
    const message = `program '${program.name}' calls kernel function '${name}' (a kfunc), which does not exist in userspace`;
    for (const poisoned of poisonInstruction(insns, slot)) unrunnable.set(poisoned, message);
  }
  return unrunnable;
}

/** Restores the function-address lddws (BPF_PSEUDO_FUNC) of `original` that resolveImage made constants: the JIT resolves them itself. */
export function keepFunctionReferences(original: readonly Insn[], insns: Insn[]): void {
  for (let i = 0; i < original.length; i++) {
    const ins = original[i]!;
    if (ins.code !== op.OP_LDDW) continue;
    if (ins.src === op.BPF_PSEUDO_FUNC) {
      insns[i] = { ...ins };
      insns[i + 1] = { ...original[i + 1]! };
    }
    i++;
  }
}
