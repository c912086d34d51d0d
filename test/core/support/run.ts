// Runs a relocated fixture program in the reference interpreter, with the two helpers the fixtures need:
// bpf_probe_read_kernel (BPF_CORE_READ) and the CO-RE poison "helper", which ends the run with the message of
// the relocation whose instruction was hit (the interpreter reports the pc; the poison table names it).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseBtf } from "../../../src/btf/parse.js";
import type { Btf } from "../../../src/btf/btf.js";
import { CORE_POISON_HELPER_ID, CoreRelocator, type CorePoison, type CoreRelocationReport } from "../../../src/core/index.js";
import type { CoreTarget } from "../../../src/core/target.js";
import { HelperRegistry } from "../../../src/vm/helpers.js";
import { Interpreter } from "../../../src/vm/interpreter.js";
import { VmError } from "../../../src/vm/errors.js";
import { readTestObject, type TestObject, type TestProgram } from "./programs.js";

const PROBE_READ_KERNEL = 113;
const EFAULT = 14;

/** examples/core/<name>, resolved from the compiled test's location (dist/test/core/support). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../../examples/core/${name}`, import.meta.url));
}

export function readBytes(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function loadFixture(name: string): TestObject {
  return readTestObject(readBytes(fixturePath(name)));
}

export function loadTargetBtf(): Btf {
  return parseBtf(readBytes(fixturePath("target.btf")));
}

export interface RelocatedProgram {
  program: TestProgram;
  insns: TestProgram["insns"];
  report: CoreRelocationReport;
}

/** Relocates every program of the object with one relocator (as a loader would). */
export function relocateAll(object: TestObject, target: Btf | CoreTarget): Map<string, RelocatedProgram> {
  const relocator = new CoreRelocator(object.btf, target);
  const out = new Map<string, RelocatedProgram>();
  for (const program of object.programs) {
    const insns = [...program.insns];
    const report = relocator.apply(insns, object.coreRelos.get(program.section) ?? [], {
      sectionInsnOffset: program.sectionInsnOffset,
      programName: program.name,
    });
    out.set(program.name, { program, insns, report });
  }
  return out;
}

export type RunOutcome = { retval: bigint } | { poison: CorePoison } | { error: string };

export function runRelocated(relocated: RelocatedProgram): RunOutcome {
  const helpers = new HelperRegistry()
    .register(PROBE_READ_KERNEL, "probe_read_kernel", (dst, size, src, _r4, _r5, context) => {
      const out = context.memory.bytes(dst, Number(size), true);
      try {
        out.set(context.memory.bytes(src, Number(size)));
        return 0;
      } catch {
        out.fill(0);
        return -EFAULT;
      }
    })
    .register(CORE_POISON_HELPER_ID, "core_poison", () => {
      throw new VmError("poisoned CO-RE relocation");
    });
  try {
    return { retval: new Interpreter(relocated.insns, { helpers }).run() };
  } catch (error) {
    if (error instanceof VmError && error.pc !== undefined) {
      const poison = relocated.report.poisonByInsn.get(error.pc);
      if (poison !== undefined) return { poison };
    }
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
