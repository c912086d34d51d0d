// Poisoned instructions. A relocation that finds nothing in the target does not fail the load: its
// instruction becomes a call to a helper id no kernel has (libbpf's 0xbad2310, "bad relo"), so the program
// is rejected (by the kernel's verifier) or stopped (by our interpreter) only if that instruction can run,
// which lets programs guard optional fields with bpf_core_field_exists() and the like.

import type { Insn } from "../isa/instruction.js";
import { OP_CALL, OP_LDDW } from "../isa/opcodes.js";
import type { CoreReloKind } from "../btf/ext.js";

/** The helper id of a poisoned instruction: 0xbad2310 = 195896080, libbpf's value. */
export const CORE_POISON_HELPER_ID = 0xbad2310;

/** What an engine needs to stop a run at a poisoned instruction with a message naming the relocation. */
export interface CorePoison {
  /** Slot index of the poisoned instruction in the program array given to applyCoreRelocations. */
  insnIndex: number;
  /** Index of the relocation record in the list given (libbpf's "relo #N" when that is a section's list). */
  reloIndex: number;
  kind: CoreReloKind;
  /** E.g. "struct task_struct___old". */
  localTypeName: string;
  accessString: string;
  reason: string;
  /** One line for the user, e.g. for a VmError when the instruction executes. */
  message: string;
}

export function poisonedCall(): Insn {
  return { code: OP_CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_HELPER_ID };
}

export function isPoisonedCall(insn: Insn): boolean {
  return insn.code === OP_CALL && insn.src === 0 && insn.imm === CORE_POISON_HELPER_ID;
}

/** Replaces the instruction (both slots of an LDDW, as libbpf does) with the poisoned call. */
export function poisonInstruction(insns: Insn[], index: number): number[] {
  const indices = insns[index]?.code === OP_LDDW && index + 1 < insns.length ? [index, index + 1] : [index];
  for (const i of indices) insns[i] = poisonedCall();
  return indices;
}
