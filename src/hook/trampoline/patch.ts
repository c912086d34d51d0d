// The bytes written over the function: `jmp rel32` to the hook's entry stub, or, when the stub is beyond
// ±2 GB and the plan displaced at least 14 bytes (planPrologue with patchSize 14), `jmp [rip+0]` followed by
// the stub's address. The rest of the displaced instructions is filled with int3, so that anything landing
// there traps instead of running half an instruction.

import { HookError, hex } from "../errors.js";
import type { ProloguePlan } from "../relocator/plan.js";

const JMP_REL32 = 0xe9;
const JMP_RIP_INDIRECT = [0xff, 0x25, 0x00, 0x00, 0x00, 0x00];
export const FAR_PATCH_SIZE = 14;
const INT3 = 0xcc;

export function buildPatch(plan: ProloguePlan, stubEntry: bigint): Uint8Array {
  if (plan.patchLength < 5) throw new HookError("HOOK_TOO_SHORT", `function ${plan.code.name}: too short to patch`);
  const bytes = new Uint8Array(plan.patchLength).fill(INT3);
  const view = new DataView(bytes.buffer);
  const delta = stubEntry - (plan.patchAddress + 5n);
  if (delta >= -0x80000000n && delta <= 0x7fffffffn) {
    bytes[0] = JMP_REL32;
    view.setInt32(1, Number(delta), true);
    return bytes;
  }
  if (plan.patchLength >= FAR_PATCH_SIZE) {
    bytes.set(JMP_RIP_INDIRECT);
    view.setBigUint64(JMP_RIP_INDIRECT.length, stubEntry, true);
    return bytes;
  }
  throw new HookError(
    "HOOK_OUT_OF_RANGE",
    `function ${plan.code.name}: the hook stub at ${hex(stubEntry)} is beyond ±2 GB of the patch at ${hex(plan.patchAddress)}; place it nearer`,
  );
}
