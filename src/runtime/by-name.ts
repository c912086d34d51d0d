// Finding a loaded object's programs and maps by name, with the error both engines give.

import type { BpfMap } from "../maps/bpf-map.js";
import { ObjectError } from "../object/errors.js";
import type { ProgramSpec } from "../object/spec.js";
import type { LiveMap } from "./object-maps.js";

export function programNamed<T extends { readonly spec: ProgramSpec }>(programs: readonly T[], name: string): T {
  const found = programs.find((p) => p.spec.name === name);
  if (!found) {
    throw new ObjectError(`no program '${name}' in the object (it has: ${programs.map((p) => p.spec.name).join(", ")})`, "OBJ_NO_SUCH_PROGRAM");
  }
  return found;
}

export function mapNamed(maps: readonly LiveMap[], name: string): BpfMap {
  const found = maps.find((m) => m.definition.name === name);
  if (!found) throw new ObjectError(`no map '${name}' in the object`, "OBJ_BAD_MAP");
  return found.map;
}
