// Resolving one relocation: find the target candidates, match the access in each, compute local and target
// values, and insist that every matching candidate agrees (bpf_core_calc_relo_insn).

import type { Btf } from "../btf/btf.js";
import type { CoreRelo } from "../btf/ext.js";
import { BTF_INT_SIGNED, type BtfInt } from "../btf/types.js";
import { NEEDS_TARGET, specValue, type SpecValue } from "./calc.js";
import { describeSpec } from "./describe.js";
import { CoreError } from "./errors.js";
import { reloFamily } from "./kinds.js";
import { essentialName } from "./names.js";
import { matchSpec, parseLocalSpec, type CoreSpec } from "./spec.js";
import type { Candidate, CoreTarget } from "./target.js";

export interface CoreResolution {
  /** The value the compiler wrote (what the instruction is checked against when `validate`). */
  localValue: bigint;
  /** The value to patch in (meaningless when `poison`). */
  targetValue: bigint;
  validate: boolean;
  /** The instruction must be poisoned; `reason` says why. */
  poison: boolean;
  reason: string | undefined;
  /** Load/store sizes of the field locally and in the target (0 when not a sized field access). */
  localMemSize: number;
  targetMemSize: number;
  /** A load/store of this field may not change size (the field is neither an unsigned integer nor a pointer). */
  memSizeChangeUnsafe: boolean;
  localSpec: CoreSpec;
  /** The first matching candidate's spec, when one matched. */
  targetSpec: CoreSpec | undefined;
}

/**
 * Candidate lists per local root type, shared by all relocations of one object against one target: a
 * candidate that fails to match one access of a type is dropped for the following ones, as libbpf does (so
 * that, among flavours, the one the program's accesses agree with wins).
 */
export type CandidateCache = Map<number, Candidate[]>;

export function resolveRelocation(relo: CoreRelo, local: Btf, target: CoreTarget, cache: CandidateCache): CoreResolution {
  const localSpec = parseLocalSpec(local, relo);
  if (relo.kind === "type_id_local") {
    const value = BigInt(relo.typeId);
    return outcome(localSpec, undefined, { value, validate: false, memSize: 0, memTypeId: 0 }, { value, validate: false, memSize: 0, memTypeId: 0 });
  }
  const localType = local.type(relo.typeId);
  if (localType.name === "") {
    throw new CoreError("CORE_ANONYMOUS_TYPE", `${relo.kind} relocation of an anonymous ${localType.kind} [${relo.typeId}]: candidates are found by name`);
  }
  let candidates = cache.get(relo.typeId);
  if (candidates === undefined) {
    candidates = target.candidates(localType);
    cache.set(relo.typeId, candidates);
  }

  const localValue = specValue(relo.kind, localSpec);
  if (localValue === NEEDS_TARGET) throw new CoreError("CORE_BAD_ACCESS", `the local access ${describeSpec(localSpec)} has no value`);

  let chosen: CoreResolution | undefined;
  const matching: Candidate[] = [];
  for (const candidate of candidates) {
    const targetSpec = matchSpec(localSpec, candidate.btf, candidate.id);
    if (targetSpec === undefined) continue;
    const result = outcome(localSpec, targetSpec, localValue, specValue(relo.kind, targetSpec));
    if (chosen === undefined) {
      chosen = result;
    } else if (targetSpec.bitOffset !== chosen.targetSpec!.bitOffset) {
      throw new CoreError(
        "CORE_AMBIGUOUS",
        `field offset ambiguity: ${describeSpec(chosen.targetSpec!)} and ${describeSpec(targetSpec)} both match`,
      );
    } else if (result.poison !== chosen.poison || result.targetValue !== chosen.targetValue) {
      throw new CoreError(
        "CORE_AMBIGUOUS",
        `relocation decision ambiguity: ${describeSpec(chosen.targetSpec!)} gives ${chosen.targetValue}, ${describeSpec(targetSpec)} gives ${result.targetValue}`,
      );
    }
    matching.push(candidate);
  }
  if (chosen !== undefined) {
    cache.set(relo.typeId, matching);
    return chosen;
  }

  const result = outcome(localSpec, undefined, localValue, specValue(relo.kind, undefined));
  if (result.poison) result.reason = notFoundReason(localSpec, candidates.length, target);
  return result;
}

function outcome(
  localSpec: CoreSpec,
  targetSpec: CoreSpec | undefined,
  local: SpecValue,
  target: SpecValue | typeof NEEDS_TARGET,
): CoreResolution {
  const poison = target === NEEDS_TARGET;
  const targetMemSize = poison ? 0 : target.memSize;
  const resolution: CoreResolution = {
    localValue: local.value,
    targetValue: poison ? 0n : target.value,
    validate: local.validate,
    poison,
    reason: undefined,
    localMemSize: local.memSize,
    targetMemSize,
    memSizeChangeUnsafe: false,
    localSpec,
    targetSpec,
  };
  if (!poison && targetSpec !== undefined && reloFamily(localSpec.kind) === "field" && local.memSize !== targetMemSize) {
    resolution.memSizeChangeUnsafe = !sizeChangeIsSafe(localSpec.btf, local.memTypeId, targetSpec.btf, target.memTypeId);
  }
  return resolution;
}

/**
 * A load may be narrowed or widened only where zero extension keeps the value: pointers (a 32-bit kernel
 * pointer read into a 64-bit register) and unsigned integers. Anything else would read a wrong value.
 */
function sizeChangeIsSafe(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): boolean {
  const local = localBtf.type(localId);
  const target = targetBtf.type(targetId);
  if (local.kind === "ptr" && target.kind === "ptr") return true;
  const unsigned = (t: BtfInt): boolean => t.encoding !== BTF_INT_SIGNED;
  return local.kind === "int" && target.kind === "int" && unsigned(local) && unsigned(target);
}

function notFoundReason(localSpec: CoreSpec, candidates: number, target: CoreTarget): string {
  const localType = localSpec.btf.type(localSpec.rootTypeId);
  const name = essentialName(localType.name);
  if (candidates === 0) return `${target.name} has no ${localType.kind} named '${name}'`;
  const missing = reloFamily(localSpec.kind) === "enumval" ? "no such enumerator" : "no such field (or only one of an incompatible type)";
  const plural = candidates === 1 ? "" : "s";
  return `${describeSpec(localSpec)}: ${missing} in ${candidates} candidate${plural} '${name}' of ${target.name}`;
}
