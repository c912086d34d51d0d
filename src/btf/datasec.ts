// clang leaves DATASEC sizes and variable offsets at 0 in object files: only the ELF section and symbol
// tables know them. A loader fills them in (libbpf's btf_fixup_datasec) before BTF describes real memory, e.g.
// before a .data map's value can be formatted variable by variable.

import { Btf } from "./btf.js";
import { BtfError } from "./errors.js";
import type { BtfDatasec, BtfType, BtfVarSecinfo } from "./types.js";

export interface DatasecLayout {
  /** Size of the ELF section with this name, or undefined when the object has no such section. */
  sectionSize(section: string): number | undefined;
  /** st_value of the global variable symbol with this name in that section, or undefined. */
  variableOffset(section: string, variable: string): number | undefined;
}

function fixDatasec(btf: Btf, datasec: BtfDatasec, layout: DatasecLayout): BtfDatasec {
  const size = datasec.size !== 0 ? datasec.size : layout.sectionSize(datasec.name);
  if (size === undefined) {
    throw new BtfError("BTF_BAD_RECORD", `DATASEC '${datasec.name}' [${datasec.id}]: the object has no section of that name`);
  }
  const vars: BtfVarSecinfo[] = datasec.vars.map((info) => {
    const variable = btf.type(info.type);
    // Externs (.kconfig, .ksyms) and functions have no symbol in the section; the loader places them.
    if (variable.kind !== "var" || variable.linkage === "extern") return info;
    const offset = layout.variableOffset(datasec.name, variable.name);
    if (offset === undefined) {
      if (variable.linkage === "static") return info;
      throw new BtfError(
        "BTF_BAD_RECORD",
        `DATASEC '${datasec.name}': variable '${variable.name}' has no symbol in that section`,
      );
    }
    return { ...info, offset };
  });
  vars.sort((a, b) => a.offset - b.offset);
  return { ...datasec, size, vars };
}

/** A copy of `btf` whose DATASEC types carry real section sizes and variable offsets. */
export function fixupDatasecs(btf: Btf, layout: DatasecLayout): Btf {
  const types: BtfType[] = btf.types.map((type) => (type.kind === "datasec" ? fixDatasec(btf, type, layout) : type));
  return new Btf(types, btf.strings, btf.base);
}
