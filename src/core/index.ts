// CO-RE: relocating a BPF object's field offsets, sizes, type and enum facts to the kernel (or BTF) it runs on.
export { CoreError, type CoreErrorCode } from "./errors.js";
export { essentialName, essentialNameLength } from "./names.js";
export { CoreTarget, type Candidate } from "./target.js";
export { typesAreCompatible, fieldsAreCompatible } from "./compat.js";
export { typesMatch } from "./match.js";
export { parseLocalSpec, matchSpec, type CoreSpec, type Accessor } from "./spec.js";
export { describeSpec, describeType } from "./describe.js";
export { resolveRelocation, type CoreResolution, type CandidateCache } from "./resolution.js";
export { CORE_POISON_HELPER_ID, isPoisonedCall, poisonedCall, poisonInstruction, type CorePoison } from "./poison.js";
export {
  applyCoreRelocations,
  CoreRelocator,
  type CoreRelocationOptions,
  type CoreRelocationReport,
  type CoreRelocationResult,
} from "./relocate.js";
