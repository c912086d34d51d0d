// One map twice: a kernel map made with bpf() and this runtime's map from the same spec, plus the check
// that compares what each did, op by op, with enough context in a failure to replay it.

import assert from "node:assert/strict";
import { tryCreateMap } from "../../../src/native/bpf-map-ops.js";
import { closeFd } from "../../../src/native/bpf-syscall.js";
import type { BpfMap } from "../../../src/maps/bpf-map.js";
import { createMap, mapRegionSize } from "../../../src/maps/create-map.js";
import { errnoName } from "../../../src/maps/errno.js";
import type { MapSpec } from "../../../src/maps/map-spec.js";
import { mapTypeName } from "../../../src/maps/map-types.js";
import { possibleCpus } from "../../../src/maps/possible-cpus.js";

export interface MapPair {
  spec: MapSpec;
  ours: BpfMap;
  fd: number;
  close(): void;
}

/** BPF_MAP_CREATE of a spec: the fd, or -errno. */
export function kernelCreateMap(spec: MapSpec): number {
  return tryCreateMap({
    type: spec.type,
    keySize: spec.keySize,
    valueSize: spec.valueSize,
    maxEntries: spec.maxEntries,
    flags: spec.flags,
    mapExtra: BigInt(spec.extra ?? 0),
  });
}

export function makePair(spec: MapSpec): MapPair {
  const ncpus = possibleCpus();
  const fd = kernelCreateMap(spec);
  if (fd < 0) throw new Error(`kernel refused ${describeSpec(spec)}: ${errnoName(-fd)}`);
  const ours = createMap(spec, new Uint8Array(mapRegionSize(spec, { ncpus })), { ncpus });
  return { spec, ours, fd, close: () => closeFd(fd) };
}

export function describeSpec(spec: MapSpec): string {
  const extra = spec.extra ? ` extra ${spec.extra}` : "";
  return `${mapTypeName(spec.type)} key ${spec.keySize} value ${spec.valueSize} max ${spec.maxEntries} flags 0x${spec.flags.toString(16)}${extra}`;
}

export const hex = (bytes: Uint8Array | undefined): string => (bytes ? Buffer.from(bytes).toString("hex") : "-");

/** An errno result as a name, so mismatches read well. */
export const rc = (result: number): string => (result === 0 ? "0" : result < 0 ? `-${errnoName(-result)}` : String(result));

/** Compares each operation's outcome on both maps, keeping the recent history for failure messages. */
export class Differential {
  operations = 0;
  private readonly recent: string[] = [];

  constructor(
    readonly label: string,
    readonly seed: number,
  ) {}

  check(what: string, ours: unknown, kernel: unknown): void {
    this.operations++;
    this.recent.push(what);
    if (this.recent.length > 25) this.recent.shift();
    assert.deepEqual(
      ours,
      kernel,
      `${this.label} (seed ${this.seed}), operation ${this.operations}: ${what}\n  ours:   ${JSON.stringify(ours)}\n  kernel: ${JSON.stringify(kernel)}\n  recent operations:\n    ${this.recent.join("\n    ")}`,
    );
  }
}
