// Inline hooks for x86-64 functions: the length decoder, the prologue planner and relocator, and the
// position-dependent code (patch, entry/return stubs, per-thread shadow stacks) an injector writes into a
// target. Nothing here touches a process; callers read and write the bytes.
export { HookError, type HookErrorCode } from "./errors.js";
export { decodeInstruction, decodeSequence, InstructionDecodeError, startsWithEndbr64 } from "./x86-decoder/decode.js";
export type { ControlFlow, Encoding, Field, LegacyPrefixes, ModRm, OpcodeMap, X86Instruction } from "./x86-decoder/instruction.js";
export { MAX_INSTRUCTION_LENGTH } from "./x86-decoder/instruction.js";
export type { FunctionCode } from "./relocator/function-code.js";
export { NEAR_PATCH_SIZE, planPrologue, type PlanOptions, type ProloguePlan } from "./relocator/plan.js";
export type { BranchScanExtent } from "./relocator/branch-scan.js";
export { emitRelocatedPrologue, relocatePrologue } from "./relocator/relocate.js";
export { FRAME_SIZE, Invocation, NO_SYSCALL, PT_REGS_SIZE, PtRegs, RED_ZONE_SIZE, USER_CS, USER_SS } from "./trampoline/frame-layout.js";
export {
  buildHookSlice,
  controlBlockWrites,
  dispatchTarget,
  type HookAttachment,
  HOOK_SLICE_MAX_SIZE,
  HookControl,
  type HookSlice,
  type HookSliceOptions,
  type HookVariants,
  initialControlBlock,
} from "./trampoline/hook-slice.js";
export { buildPatch, FAR_PATCH_SIZE } from "./trampoline/patch.js";
export { type AttachedProgram, decodeProgramTable, encodeProgramTable, programTableSize } from "./trampoline/program-table.js";
export type { VectorPolicy } from "./trampoline/register-frame.js";
export {
  compactThreadStacks,
  DEFAULT_THREAD_STACK_SHAPE,
  readThreadStacks,
  threadSlotIndex,
  type ThreadKeySource,
  type ThreadStackConfig,
  threadStackDepth,
  type ThreadStackSlot,
  threadStackTableSize,
  validateThreadStackConfig,
} from "./trampoline/thread-stacks.js";
export { auxvValue, fsgsbaseEnabled, threadKeySourceFor } from "./trampoline/thread-key.js";
export { threadsInsidePatch } from "./patch-safety.js";
export { prepareHook, type PrepareHookOptions, type PreparedHook } from "./prepare.js";
