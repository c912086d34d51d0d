// Applying an object's CO-RE relocations to one program's instructions.
//
// .BTF.ext records address instructions by byte offset within their ELF section, and a section may hold
// several programs; the caller passes one program's slots together with the slot index, within the section,
// of its first instruction, and may pass the section's whole record list: records outside the program are
// skipped. A CoreRelocator shares the target's candidate lists between all the programs of one object.

import type { Btf } from "../btf/btf.js";
import { BtfError } from "../btf/errors.js";
import type { CoreRelo, CoreReloKind } from "../btf/ext.js";
import { INSN_SIZE, type Insn } from "../isa/instruction.js";
import { describeSpec, describeType } from "./describe.js";
import { CoreError } from "./errors.js";
import { patchInstruction } from "./patch.js";
import { poisonInstruction, type CorePoison } from "./poison.js";
import { resolveRelocation, type CandidateCache } from "./resolution.js";
import { CoreTarget } from "./target.js";

export interface CoreRelocationOptions {
  /** Slot index, within the ELF section, of `insns[0]` (the program's offset in the section / 8). */
  sectionInsnOffset?: number;
  /** Named in messages. */
  programName?: string;
}

/** What happened to one relocation. */
export interface CoreRelocationResult {
  /** Index of the record in the list given. */
  reloIndex: number;
  /** Slot index in `insns`. */
  insnIndex: number;
  kind: CoreReloKind;
  /** E.g. "struct task_struct___x". */
  localTypeName: string;
  accessString: string;
  /** libbpf-style description of the local access, e.g. "struct s.a[3] (0:1:3 @ offset 20)". */
  local: string;
  /** The same for the target candidate used, when one matched. */
  target: string | undefined;
  /** The value the compiler wrote and the one patched in (0 for a poisoned instruction). */
  localValue: bigint;
  targetValue: bigint;
  poisoned: boolean;
}

export interface CoreRelocationReport {
  /** One entry per relocation applied to this program, in record order. */
  results: CoreRelocationResult[];
  /** Relocations whose instruction was poisoned, in record order. */
  poisoned: CorePoison[];
  /** Poisoned slot index -> its poison (both slots of a poisoned LDDW), for the engine's poison handler. */
  poisonByInsn: Map<number, CorePoison>;
  /** Records of the list that address instructions outside this program. */
  skipped: number;
}

export class CoreRelocator {
  readonly target: CoreTarget;
  private readonly cache: CandidateCache = new Map();

  /** @param local the object's .BTF; @param target the BTF to resolve against (kernel or user file). */
  constructor(
    readonly local: Btf,
    target: Btf | CoreTarget,
  ) {
    this.target = target instanceof CoreTarget ? target : new CoreTarget(target);
  }

  /**
   * Patches the relocated instructions of one program in place (elements are replaced, not mutated) and
   * reports the outcome of each relocation. Throws a CoreError for the failures that make libbpf refuse the
   * object (ambiguity, an instruction that does not hold the expected value, a malformed access string).
   */
  apply(insns: Insn[], relos: readonly CoreRelo[], options: CoreRelocationOptions = {}): CoreRelocationReport {
    const first = options.sectionInsnOffset ?? 0;
    const report: CoreRelocationReport = { results: [], poisoned: [], poisonByInsn: new Map(), skipped: 0 };
    for (const [reloIndex, relo] of relos.entries()) {
      const context = (): string => this.context(options.programName, reloIndex, relo);
      if (relo.insnOff % INSN_SIZE !== 0) {
        throw new CoreError("CORE_BAD_INSN_OFFSET", `${context()}: instruction offset ${relo.insnOff} is not a multiple of ${INSN_SIZE}`);
      }
      const insnIndex = relo.insnOff / INSN_SIZE - first;
      if (insnIndex < 0 || insnIndex >= insns.length) {
        report.skipped++;
        continue;
      }
      try {
        this.applyOne(insns, insnIndex, reloIndex, relo, context, report);
      } catch (error) {
        if (error instanceof CoreError) throw error.withContext(context());
        if (error instanceof BtfError) throw new CoreError("CORE_BAD_BTF", `${context()}: ${error.message}`);
        throw error;
      }
    }
    return report;
  }

  private applyOne(
    insns: Insn[],
    insnIndex: number,
    reloIndex: number,
    relo: CoreRelo,
    context: () => string,
    report: CoreRelocationReport,
  ): void {
    const resolution = resolveRelocation(relo, this.local, this.target, this.cache);
    const outcome = patchInstruction(insns, insnIndex, resolution);
    const result: CoreRelocationResult = {
      reloIndex,
      insnIndex,
      kind: relo.kind,
      localTypeName: describeType(this.local, relo.typeId),
      accessString: relo.accessString,
      local: describeSpec(resolution.localSpec),
      target: resolution.targetSpec === undefined ? undefined : describeSpec(resolution.targetSpec),
      localValue: resolution.localValue,
      targetValue: outcome.poisoned ? 0n : resolution.targetValue,
      poisoned: outcome.poisoned,
    };
    report.results.push(result);
    if (!outcome.poisoned) return;
    const poison: CorePoison = {
      insnIndex,
      reloIndex,
      kind: relo.kind,
      localTypeName: result.localTypeName,
      accessString: relo.accessString,
      reason: outcome.reason,
      message: `${context()} at instruction ${insnIndex} could not be resolved: ${outcome.reason}`,
    };
    report.poisoned.push(poison);
    for (const index of poisonInstruction(insns, insnIndex)) report.poisonByInsn.set(index, poison);
  }

  private context(programName: string | undefined, reloIndex: number, relo: CoreRelo): string {
    const where = programName === undefined ? "" : `program '${programName}': `;
    return `${where}CO-RE relocation #${reloIndex} (${relo.kind} of ${describeType(this.local, relo.typeId)}, access "${relo.accessString}")`;
  }
}

/**
 * Applies CO-RE relocations to one program (see CoreRelocator.apply). For several programs of one object,
 * use one CoreRelocator so that they share candidate lists as they would under libbpf.
 */
export function applyCoreRelocations(
  insns: Insn[],
  relos: readonly CoreRelo[],
  local: Btf,
  target: Btf | CoreTarget,
  options: CoreRelocationOptions = {},
): CoreRelocationReport {
  return new CoreRelocator(local, target).apply(insns, relos, options);
}
