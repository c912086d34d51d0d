// The BTF that relocations resolve against: the kernel's vmlinux BTF (or a file the user names), and
// optionally module BTFs that are searched only when the main BTF has no candidate, as libbpf does.
//
// Candidates are found through an index from essential name to types, built once per target BTF on first
// use (vmlinux has ~130k types; a linear scan per relocated type, libbpf's approach, would dominate).

import type { Btf } from "../btf/btf.js";
import type { BtfType } from "../btf/types.js";
import { essentialName } from "./names.js";

/** A target type that may correspond to a local type: same essential name, compatible kind. */
export interface Candidate {
  readonly btf: Btf;
  readonly id: number;
}

/** Kinds are compatible when equal, and enum and enum64 stand in for each other (btf_kind_core_compat). */
export function kindsCompatible(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

export function isAnyEnum(type: BtfType): type is Extract<BtfType, { kind: "enum" | "enum64" }> {
  return type.kind === "enum" || type.kind === "enum64";
}

/** Named types of one BTF blob (its own types, not its base's), grouped by essential name, in id order. */
class EssentialNameIndex {
  private readonly byName = new Map<string, BtfType[]>();

  constructor(btf: Btf) {
    for (const type of btf.types) {
      if (type.name === "") continue;
      const key = essentialName(type.name);
      const list = this.byName.get(key);
      if (list === undefined) this.byName.set(key, [type]);
      else list.push(type);
    }
  }

  get(name: string): readonly BtfType[] {
    return this.byName.get(name) ?? [];
  }
}

const indexes = new WeakMap<Btf, EssentialNameIndex>();

function indexOf(btf: Btf): EssentialNameIndex {
  let index = indexes.get(btf);
  if (index === undefined) {
    index = new EssentialNameIndex(btf);
    indexes.set(btf, index);
  }
  return index;
}

export class CoreTarget {
  /**
   * @param btf the main target, e.g. /sys/kernel/btf/vmlinux parsed.
   * @param modules split BTFs of kernel modules (based on `btf`), consulted only when `btf` has no candidate.
   * @param name how messages call the main target ("vmlinux", a file name).
   */
  constructor(
    readonly btf: Btf,
    readonly modules: readonly Btf[] = [],
    readonly name = "target BTF",
  ) {}

  /** Builds the name indexes now rather than on the first relocation (e.g. to time them separately). */
  prepare(): this {
    indexOf(this.btf);
    for (const module of this.modules) indexOf(module);
    return this;
  }

  /** Target types whose essential name equals that of `local` and whose kind is compatible, in id order. */
  candidates(local: BtfType): Candidate[] {
    const name = essentialName(local.name);
    const found = this.search(this.btf, name, local);
    if (found.length > 0) return found;
    return this.modules.flatMap((module) => this.search(module, name, local));
  }

  private search(btf: Btf, name: string, local: BtfType): Candidate[] {
    const found: Candidate[] = [];
    for (const type of indexOf(btf).get(name)) {
      if (kindsCompatible(type, local)) found.push({ btf, id: type.id });
    }
    return found;
  }
}
