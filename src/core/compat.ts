// The two compatibility relations libbpf uses while matching (callers have already matched the root names):
// - types are "compatible" for the type-based relocations (exists, size, target id): same kinds all the way
//   down, names ignored below the root, sizes and signedness ignored;
// - fields are "compatible" when a field found by name in the target can stand in for the local one: any two
//   structs/unions, any two pointers, ints regardless of size, enums and forward declarations of the same
//   essential name.

import type { Btf } from "../btf/btf.js";
import { resolveTypeId } from "../btf/resolve.js";
import { CoreError } from "./errors.js";
import { essentialNameLength } from "./names.js";
import { kindsCompatible } from "./target.js";

/** libbpf's recursion limits: deeper type graphs only come from corrupt (looping) BTF. */
export const MAX_TYPE_DEPTH = 32;

function tooDeep(what: string, localId: number, targetId: number): CoreError {
  return new CoreError("CORE_BAD_BTF", `${what} of local [${localId}] and target [${targetId}] nests deeper than ${MAX_TYPE_DEPTH}`);
}

/** bpf_core_types_are_compat: the relation behind TYPE_EXISTS, TYPE_SIZE and TYPE_ID_TARGET. */
export function typesAreCompatible(
  localBtf: Btf,
  localId: number,
  targetBtf: Btf,
  targetId: number,
  level = MAX_TYPE_DEPTH,
): boolean {
  if (!kindsCompatible(localBtf.type(localId), targetBtf.type(targetId))) return false;
  let l = localId;
  let t = targetId;
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    l = resolveTypeId(localBtf, l);
    t = resolveTypeId(targetBtf, t);
    const local = localBtf.type(l);
    const target = targetBtf.type(t);
    if (!kindsCompatible(local, target)) return false;
    switch (local.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        // Only the deprecated bitfield-style ints (a value offset inside the storage) are refused.
        return local.bitOffset === 0 && target.kind === "int" && target.bitOffset === 0;
      case "ptr":
      case "array":
        l = local.type;
        t = (target as typeof local).type;
        break;
      case "func_proto": {
        if (target.kind !== "func_proto" || local.params.length !== target.params.length) return false;
        for (const [i, param] of local.params.entries()) {
          if (level <= 0) throw tooDeep("type compatibility", localId, targetId);
          const targetParam = target.params[i]!;
          if (!typesAreCompatible(localBtf, resolveTypeId(localBtf, param.type), targetBtf, resolveTypeId(targetBtf, targetParam.type), level - 1)) {
            return false;
          }
        }
        l = local.returnType;
        t = target.returnType;
        break;
      }
      default:
        return false;
    }
  }
  throw tooDeep("type compatibility", localId, targetId);
}

/** bpf_core_fields_are_compat: can the target field found under the local field's name stand in for it? */
export function fieldsAreCompatible(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): boolean {
  let l = localId;
  let t = targetId;
  for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
    const local = localBtf.type(resolveTypeId(localBtf, l));
    const target = targetBtf.type(resolveTypeId(targetBtf, t));
    const composite = (k: string): boolean => k === "struct" || k === "union";
    if (composite(local.kind) && composite(target.kind)) return true;
    if (!kindsCompatible(local, target)) return false;
    switch (local.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64": {
        // Either side anonymous, or the same essential name.
        const localLength = essentialNameLength(local.name);
        const targetLength = essentialNameLength(target.name);
        return (
          localLength === 0 ||
          targetLength === 0 ||
          (localLength === targetLength && local.name.slice(0, localLength) === target.name.slice(0, targetLength))
        );
      }
      case "int":
        return local.bitOffset === 0 && target.kind === "int" && target.bitOffset === 0;
      case "array":
        l = local.type;
        t = (target as typeof local).type;
        break;
      default:
        return false;
    }
  }
  throw tooDeep("field compatibility", localId, targetId);
}
