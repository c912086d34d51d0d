// The bytes written over the function: `jmp rel32` to the hook's entry stub, the rest of the displaced
// instructions filled with int3 so that anything landing there traps instead of running half an instruction.

import { HookError, hex } from "../errors.js";
import type { ProloguePlan } from "../relocator/plan.js";

const JMP_REL32 = 0xe9;
const INT3 = 0xcc;

export function buildPatch(plan: ProloguePlan, stubEntry: bigint): Uint8Array {
  if (plan.patchLength < 5) throw new HookError("HOOK_TOO_SHORT", `function ${plan.code.name}: too short to patch`);
  const delta = stubEntry - (plan.patchAddress + 5n);
  if (delta < -0x80000000n || delta > 0x7fffffffn) {
    throw new HookError(
      "HOOK_OUT_OF_RANGE",
      `function ${plan.code.name}: the hook stub at ${hex(stubEntry)} is beyond ±2 GB of the patch at ${hex(plan.patchAddress)}`,
    );
  }
  const bytes = new Uint8Array(plan.patchLength).fill(INT3);
  bytes[0] = JMP_REL32;
  new DataView(bytes.buffer).setInt32(1, Number(delta), true);
  return bytes;
}
