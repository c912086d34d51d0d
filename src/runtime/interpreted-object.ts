// An ObjectSpec made live for the interpreter: its maps created, its programs relocated (CO-RE), linked to
// map addresses and run with the kernel's helpers. This is the engine behind `bpftime test-run`.

import { CORE_POISON_HELPER_ID } from "../core/poison.js";
import { ValidationError } from "../isa/errors.js";
import { registerCallbackHelpers } from "../helpers/callbacks.js";
import { currentProcessIdentity, type HelperEnvironment } from "../helpers/environment.js";
import { registerEventHelpers } from "../helpers/events.js";
import { registerMapHelpers, type ProgramMap } from "../helpers/maps.js";
import { registerMemoryHelpers } from "../helpers/memory.js";
import { registerOutputHelpers } from "../helpers/output.js";
import { registerProbeHelpers } from "../helpers/probe.js";
import { registerTaskHelpers } from "../helpers/task.js";
import { registerTimeHelpers } from "../helpers/time.js";
import type { TraceRecord } from "../helpers/trace.js";
import { HelperId, kernelHelperName } from "../helpers/ids.js";
import type { BpfMap } from "../maps/bpf-map.js";
import type { ObjectSpec, ProgramSpec } from "../object/spec.js";
import { AddressSpace, codeAddress } from "../vm/address-space.js";
import { ExecutionSignal, VmError } from "../vm/errors.js";
import { HelperRegistry, type HelperContext } from "../vm/helpers.js";
import { Interpreter } from "../vm/interpreter.js";
import { mapNamed, programNamed } from "./by-name.js";
import { relocatePrograms, type RelocatedProgram } from "./core-relocation.js";
import type { KconfigSource } from "./kconfig.js";
import { createObjectMaps, fillProgArrays, withKconfig, type LiveMap } from "./object-maps.js";
import { resolveImage } from "./program-image.js";

/** The kernel's MAX_TAIL_CALL_CNT. */
export const MAX_TAIL_CALLS = 33;

export interface InterpretedObjectOptions {
  /** BTF to resolve CO-RE against (default /sys/kernel/btf/vmlinux). */
  btf?: string;
  /** CPUs per-CPU maps keep values for (default: possible CPUs). */
  ncpus?: number;
  /** Instruction budget of one run. */
  budget?: number;
  /** Overrides of the helper environment (task identity, CPU, trace sink, ...). */
  environment?: Partial<HelperEnvironment>;
  /** Where .kconfig extern values come from (default: the running kernel). */
  kconfig?: KconfigSource;
}

class TailCall extends ExecutionSignal {
  constructor(readonly target: LoadedProgram) {
    super("tail call");
  }
}

export interface LoadedProgram {
  readonly spec: ProgramSpec;
  readonly relocated: RelocatedProgram;
  readonly interpreter: Interpreter;
  /** The id a prog_array stores for this program. */
  readonly id: number;
}

export class InterpretedObject {
  readonly memory = new AddressSpace();
  readonly maps: readonly LiveMap[];
  readonly programs: readonly LoadedProgram[];
  readonly traces: TraceRecord[] = [];
  readonly signals: number[] = [];
  readonly environment: HelperEnvironment;
  private readonly mapsByAddress = new Map<bigint, ProgramMap>();
  /** Tail calls taken in the current run. */
  private tailCallDepth = 0;

  constructor(
    readonly spec: ObjectSpec,
    options: InterpretedObjectOptions = {},
  ) {
    this.environment = {
      task: currentProcessIdentity,
      cpu: () => 0,
      trace: (record) => this.traces.push(record),
      sendSignal: (signal) => this.signals.push(signal),
      probe: () => undefined,
      ...options.environment,
    };
    this.maps = createObjectMaps(withKconfig(spec, options.kconfig), this.memory, options.ncpus === undefined ? {} : { ncpus: options.ncpus });
    for (const live of this.maps) this.mapsByAddress.set(live.address, { map: live.map, address: live.address });
    const relocated = relocatePrograms(spec, options.btf);
    const helpers = this.helpers();
    this.programs = spec.programs.map((program, index) => {
      const r = relocated.get(program)!;
      const insns = r.insns;
      const unrunnable = resolveImage(insns, program, {
        mapAddress: (i) => this.mapAt(i).address,
        mapValueAddress: (i) => this.mapAt(i).valueAddress,
        codeAddress: (slot) => codeAddress(slot),
      });
      for (const [slot, poison] of r.report?.poisonByInsn ?? []) unrunnable.set(slot, poison.message);
      let interpreter: Interpreter;
      try {
        interpreter = new Interpreter(insns, {
          helpers: unrunnable.size ? helpers.merged(poisonHelper(unrunnable)) : helpers,
          memory: this.memory,
          ...(options.budget === undefined ? {} : { budget: options.budget }),
          validate: { helperName: kernelHelperName },
        });
      } catch (error) {
        throw error instanceof ValidationError ? error.inProgram(program.name) : error;
      }
      return { spec: program, relocated: r, interpreter, id: index + 1 };
    });
    fillProgArrays(this.maps, (name) => this.programs.find((p) => p.spec.name === name)?.id);
  }

  program(name: string): LoadedProgram {
    return programNamed(this.programs, name);
  }

  map(name: string): BpfMap {
    return mapNamed(this.maps, name);
  }

  /** Runs a program with r1 = `context` (already registered memory or a plain value), following tail calls. */
  run(name: string, context: bigint, extraArgs: readonly bigint[] = []): bigint {
    let program = this.program(name);
    this.tailCallDepth = 0;
    for (let tailCalls = 0; ; tailCalls++) {
      try {
        return program.interpreter.runWithArgs([context, ...extraArgs]);
      } catch (signal) {
        if (!(signal instanceof TailCall)) throw signal;
        program = signal.target;
      }
    }
  }

  private mapAt(index: number): LiveMap {
    const live = this.maps[index];
    if (!live) throw new VmError(`map index ${index} is outside the object's ${this.maps.length} maps`);
    return live;
  }

  private helpers(): HelperRegistry {
    const env = this.environment;
    const registry = new HelperRegistry();
    registerTimeHelpers(registry);
    registerMemoryHelpers(registry);
    registerTaskHelpers(registry, env);
    registerOutputHelpers(registry, env);
    registerProbeHelpers(registry, env, (address) => this.mapsByAddress.get(address));
    registerCallbackHelpers(registry);
    const scratch = new Uint8Array(512);
    const byAddress = (address: bigint): ProgramMap | undefined => this.mapsByAddress.get(address);
    registerMapHelpers(registry, env, byAddress, { address: this.memory.add("map key scratch", scratch), bytes: scratch });
    registerEventHelpers(registry, env, byAddress, (sample) => this.mapsByAddress.get(BigInt.asUintN(64, sample) & ~0xffffffffn));
    registry.register(HelperId.tailCall, "bpf_tail_call", (_ctx, mapAddress, index) => this.tailCall(mapAddress, index));
    return registry;
  }

  /** bpf_tail_call: on success the current program is replaced (the signal unwinds it); on failure returns. */
  private tailCall(mapAddress: bigint, index: bigint): number {
    const live = this.mapsByAddress.get(mapAddress);
    if (!live) throw new VmError(`bpf_tail_call: 0x${mapAddress.toString(16)} is not a map`);
    if (index >= BigInt(live.map.maxEntries)) return EINVAL_TAIL;
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, Number(index), true);
    const value = new Uint8Array(4);
    if (live.map.lookupElem(key, value) !== 0) return EINVAL_TAIL;
    const id = new DataView(value.buffer).getUint32(0, true);
    const target = this.programs.find((p) => p.id === id);
    if (!target) return EINVAL_TAIL;
    if (++this.tailCallDepth > MAX_TAIL_CALLS) return EINVAL_TAIL;
    throw new TailCall(target);
  }
}

/** A failed tail call: the program continues after the call with r0 = a negative value. */
const EINVAL_TAIL = -22;

/** The helper poisoned instructions call: it ends the run with the message of the slot that called it. */
function poisonHelper(messages: ReadonlyMap<number, string>): HelperRegistry {
  return new HelperRegistry().register(CORE_POISON_HELPER_ID, "poisoned instruction", (_a, _b, _c, _d, _e, ctx: HelperContext) => {
    throw new VmError(messages.get(ctx.pc) ?? "a poisoned instruction was executed");
  });
}
