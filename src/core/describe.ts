// Human-readable names for relocations and specs, in libbpf's log notation so that messages can be compared
// with `bpftool -d` output: "struct task_struct.mm->... (0:12:3 @ offset 40)".

import type { Btf } from "../btf/btf.js";
import { reloFamily } from "./kinds.js";
import type { CoreSpec } from "./spec.js";

/** "struct task_struct___x", "enum bpf_map_type", "typedef pid_t", "struct <anon>". */
export function describeType(btf: Btf, id: number): string {
  const type = btf.type(id);
  return `${type.kind} ${type.name === "" ? "<anon>" : type.name}`;
}

/** The access in C syntax plus raw indices and offset, e.g. "struct s.a[3].b (0:1:3:2 @ offset 20)". */
export function describeSpec(spec: CoreSpec): string {
  const root = describeType(spec.btf, spec.rootTypeId);
  switch (reloFamily(spec.kind)) {
    case "type":
      return root;
    case "enumval": {
      const accessor = spec.accessors[0];
      return accessor === undefined ? root : `${root}::${accessor.name ?? "?"}`;
    }
    case "field": {
      let path = "";
      for (const [i, accessor] of spec.accessors.entries()) {
        if (accessor.name !== undefined) path += `.${accessor.name}`;
        else if (i > 0 || accessor.idx > 0) path += `[${accessor.idx}]`;
      }
      const bits = spec.bitOffset % 8;
      const offset = bits === 0 ? `${spec.bitOffset / 8}` : `${Math.floor(spec.bitOffset / 8)}.${bits}`;
      return `${root}${path} (${spec.raw.join(":")} @ offset ${offset})`;
    }
  }
}
