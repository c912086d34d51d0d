// bpf_core_types_match, the relation behind TYPE_MATCHES: stricter than compatibility. Below the root, names
// matter, ints must agree in size and signedness, arrays in length, every local member and enumerator must
// exist in the target (by essential name), and a struct behind a pointer may match a forward declaration.

import type { Btf } from "../btf/btf.js";
import { resolveTypeId } from "../btf/resolve.js";
import type { BtfComposite, BtfEnum, BtfType } from "../btf/types.js";
import { MAX_TYPE_DEPTH } from "./compat.js";
import { CoreError } from "./errors.js";
import { essentialNamesEqual } from "./names.js";
import { isAnyEnum } from "./target.js";

/** Does the local type match the target type? (The callers matched the root names already.) */
export function typesMatch(localBtf: Btf, localId: number, targetBtf: Btf, targetId: number): boolean {
  return new Matcher(localBtf, targetBtf).match(localId, targetId, false, MAX_TYPE_DEPTH);
}

class Matcher {
  constructor(
    private readonly localBtf: Btf,
    private readonly targetBtf: Btf,
  ) {}

  match(localId: number, targetId: number, behindPointer: boolean, level: number): boolean {
    if (level <= 0) throw this.tooDeep(localId, targetId);
    let l = localId;
    let t = targetId;
    let behind = behindPointer;
    for (let depth = 0; depth < MAX_TYPE_DEPTH; depth++) {
      const local = this.localBtf.type(resolveTypeId(this.localBtf, l));
      const target = this.targetBtf.type(resolveTypeId(this.targetBtf, t));
      if (!essentialNamesEqual(local.name, target.name)) return false;
      switch (local.kind) {
        case "void":
          return target.kind === "void";
        case "fwd":
          return this.forwardMatches(local.fwdKind, target, behind);
        case "enum":
        case "enum64":
          return isAnyEnum(target) && this.enumsMatch(local, target);
        case "struct":
        case "union":
          if (behind) {
            // Behind a pointer only the shape of the name matters; a forward declaration will do.
            return target.kind === local.kind || (target.kind === "fwd" && target.fwdKind === local.kind);
          }
          return target.kind === local.kind && this.compositesMatch(local, target as BtfComposite, behind, level);
        case "int":
          return target.kind === "int" && local.size === target.size && local.signed === target.signed;
        case "ptr":
          if (target.kind !== "ptr") return false;
          behind = true;
          l = local.type;
          t = target.type;
          break;
        case "array":
          if (target.kind !== "array" || local.nelems !== target.nelems) return false;
          l = local.type;
          t = target.type;
          break;
        case "func_proto": {
          if (target.kind !== "func_proto" || local.params.length !== target.params.length) return false;
          for (const [i, param] of local.params.entries()) {
            if (!this.match(param.type, target.params[i]!.type, behind, level - 1)) return false;
          }
          l = local.returnType;
          t = target.returnType;
          break;
        }
        default:
          // libbpf treats every other kind (float included) as "unexpected" and reports no match.
          return false;
      }
    }
    throw this.tooDeep(localId, targetId);
  }

  private forwardMatches(fwdKind: "struct" | "union", target: BtfType, behindPointer: boolean): boolean {
    if (target.kind === "fwd") return target.fwdKind === fwdKind;
    return behindPointer && target.kind === fwdKind;
  }

  /** Same size (enum and enum64 may mix), and every local enumerator name exists in the target. */
  private enumsMatch(local: BtfEnum, target: BtfEnum): boolean {
    if (local.size !== target.size || local.values.length > target.values.length) return false;
    return local.values.every((value) => target.values.some((t) => essentialNamesEqual(value.name, t.name)));
  }

  /** Every local member has a same-named target member whose type matches. */
  private compositesMatch(local: BtfComposite, target: BtfComposite, behindPointer: boolean, level: number): boolean {
    if (local.members.length > target.members.length) return false;
    return local.members.every((member) =>
      target.members.some(
        (t) => essentialNamesEqual(member.name, t.name) && this.match(member.type, t.type, behindPointer, level - 1),
      ),
    );
  }

  private tooDeep(localId: number, targetId: number): CoreError {
    return new CoreError(
      "CORE_BAD_BTF",
      `type match of local [${localId}] and target [${targetId}] nests deeper than ${MAX_TYPE_DEPTH}`,
    );
  }
}
