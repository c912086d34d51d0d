// Everything an injector writes for one hook, computed in one call. The order of the writes matters:
//   1. slice.bytes at slice.address (executable memory within ±2 GB of the function),
//   2. control at the control block (writable memory within ±2 GB of the slice),
//   3. with every thread stopped and threadsInsidePatch() clear: patch at plan.patchAddress.
// Programs are then attached by writing a program table and the control block's fields (see HookControl and
// dispatchTarget); detaching writes plan.originalBytes back. Keep the slice mapped after a detach: a thread
// may still be inside it, or have a return address pointing at its return stub.

import type { FunctionCode } from "./relocator/function-code.js";
import { planPrologue, type PlanOptions, type ProloguePlan } from "./relocator/plan.js";
import { buildHookSlice, type HookSlice, type HookSliceOptions, initialControlBlock } from "./trampoline/hook-slice.js";
import { buildPatch } from "./trampoline/patch.js";

export interface PrepareHookOptions extends Omit<HookSliceOptions, "plan" | "address"> {
  readonly code: FunctionCode;
  /** Where the slice goes (16-byte aligned; reserve HOOK_SLICE_MAX_SIZE bytes). */
  readonly sliceAddress: bigint;
  readonly plan?: PlanOptions;
}

export interface PreparedHook {
  readonly plan: ProloguePlan;
  readonly slice: HookSlice;
  /** Initial control block contents (no programs attached). */
  readonly control: Uint8Array;
  /** The bytes for plan.patchAddress. */
  readonly patch: Uint8Array;
}

export function prepareHook(options: PrepareHookOptions): PreparedHook {
  const { code, sliceAddress, plan: planOptions, ...sliceOptions } = options;
  const plan = planPrologue(code, planOptions);
  const slice = buildHookSlice({ ...sliceOptions, plan, address: sliceAddress });
  return { plan, slice, control: initialControlBlock(slice), patch: buildPatch(plan, slice.entry) };
}
