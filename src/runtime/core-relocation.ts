// CO-RE at load time: the object's relocations resolved against the running kernel's BTF (or a BTF file
// the user names). This is where a spec meets the machine, so it lives in the runtime, not in object/.

import { readFileSync } from "node:fs";
import type { Btf } from "../btf/btf.js";
import { parseBtf } from "../btf/parse.js";
import { CoreRelocator, type CoreRelocationReport } from "../core/relocate.js";
import { CoreTarget } from "../core/target.js";
import type { Insn } from "../isa/instruction.js";
import { ObjectError } from "../object/errors.js";
import type { ObjectSpec, ProgramSpec } from "../object/spec.js";

export const DEFAULT_TARGET_BTF = "/sys/kernel/btf/vmlinux";

const targets = new Map<string, CoreTarget>();

/** The target BTF at `path`, parsed once per process (vmlinux takes a while and never changes). */
export function coreTarget(path = DEFAULT_TARGET_BTF): CoreTarget {
  let target = targets.get(path);
  if (!target) {
    let btf: Btf;
    try {
      btf = parseBtf(new Uint8Array(readFileSync(path)));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file (the kernel has no BTF? pass --btf FILE)" : (error as Error).message;
      throw new ObjectError(`CO-RE target BTF ${path}: ${why}`, code === "ENOENT" ? "OBJ_READ" : "OBJ_MALFORMED");
    }
    target = new CoreTarget(btf);
    targets.set(path, target);
  }
  return target;
}

export interface RelocatedProgram {
  readonly insns: Insn[];
  readonly report: CoreRelocationReport | undefined;
}

/** Copies of each program's instructions with CO-RE applied; objects without relocations need no target. */
export function relocatePrograms(spec: ObjectSpec, targetPath?: string): Map<ProgramSpec, RelocatedProgram> {
  const out = new Map<ProgramSpec, RelocatedProgram>();
  const needsTarget = spec.programs.some((p) => p.coreRelocations.length > 0);
  const relocator = needsTarget && spec.btf ? new CoreRelocator(spec.btf, coreTarget(targetPath)) : undefined;
  for (const program of spec.programs) {
    const insns = program.insns.map((ins) => ({ ...ins }));
    if (!relocator || program.coreRelocations.length === 0) {
      out.set(program, { insns, report: undefined });
      continue;
    }
    // The spec already maps every record to a slot of the linked program; hand them over as offsets in it.
    const relos = program.coreRelocations.map((c) => ({ ...c.relo, insnOff: c.index * 8 }));
    // A CoreError (CORE_* code) here means libbpf would refuse the object too; it propagates as is.
    out.set(program, { insns, report: relocator.apply(insns, relos, { programName: program.name }) });
  }
  return out;
}
