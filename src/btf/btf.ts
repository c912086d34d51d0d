// A parsed BTF blob: its types by id and its strings. Split BTF (kernel module BTF) continues the id and string
// offset spaces of a base BTF; lookups below its first id or string offset go to the base.

import { hex } from "../elf/bytes.js";
import type { StringTable } from "../elf/string-table.js";
import { BtfError } from "./errors.js";
import type { BtfKind, BtfType, BtfTypeOfKind, BtfVoid } from "./types.js";

const VOID: BtfVoid = { id: 0, kind: "void", name: "" };

export class Btf {
  private nameIndex: Map<string, BtfType[]> | undefined;

  constructor(
    /** Types this blob defines, ids firstId, firstId+1, ... */
    private readonly own: readonly BtfType[],
    /** This blob's string section. */
    readonly strings: StringTable,
    readonly base?: Btf,
  ) {}

  /** Id of the first type this blob defines: 1, or the base's type count for split BTF. */
  get firstId(): number {
    return this.base === undefined ? 1 : this.base.typeCount;
  }

  /** One past the largest valid type id (id 0, void, is always valid). */
  get typeCount(): number {
    return this.firstId + this.own.length;
  }

  /** Offset at which this blob's own strings start in the combined string space. */
  get stringsStart(): number {
    return this.base === undefined ? 0 : this.base.stringsEnd;
  }

  get stringsEnd(): number {
    return this.stringsStart + this.strings.size;
  }

  /** The types this blob defines (not the base's), in id order. */
  get types(): readonly BtfType[] {
    return this.own;
  }

  type(id: number): BtfType {
    if (id === 0) return VOID;
    if (this.base !== undefined && id < this.firstId) return this.base.type(id);
    const type = this.own[id - this.firstId];
    if (type === undefined) {
      throw new BtfError("BTF_BAD_TYPE_ID", `type id ${id} is out of range (the BTF has ${this.typeCount} types)`);
    }
    return type;
  }

  /** The type with this id, which must be of one of the given kinds. */
  typeOfKind<K extends BtfKind>(id: number, ...kinds: K[]): BtfTypeOfKind<K> {
    const type = this.type(id);
    if (!(kinds as BtfKind[]).includes(type.kind)) {
      throw new BtfError("BTF_BAD_KIND", `type [${id}] is ${type.kind.toUpperCase()}, expected ${kinds.join(" or ").toUpperCase()}`);
    }
    return type as BtfTypeOfKind<K>;
  }

  /** The string at an offset of the combined (base + own) string space, or undefined when there is none. */
  stringAt(offset: number): string | undefined {
    if (this.base !== undefined && offset < this.stringsStart) return this.base.stringAt(offset);
    return this.strings.at(offset - this.stringsStart);
  }

  /** Like stringAt, but a missing string is a BtfError. */
  string(offset: number): string {
    const found = this.stringAt(offset);
    if (found === undefined) {
      throw new BtfError(
        "BTF_BAD_STRING",
        `string offset ${hex(offset)} is outside the BTF string section (${hex(this.stringsEnd)} bytes) or unterminated`,
      );
    }
    return found;
  }

  /** Every type (own and base) with this name, optionally of one kind. */
  findAll(name: string, kind?: BtfKind): readonly BtfType[] {
    const all = [...(this.base?.findAll(name) ?? []), ...(this.index().get(name) ?? [])];
    return kind === undefined ? all : all.filter((t) => t.kind === kind);
  }

  /** The first type with this name and kind (own types before base types, as module BTF shadows vmlinux). */
  find<K extends BtfKind>(name: string, kind: K): BtfTypeOfKind<K> | undefined {
    const own = this.index().get(name)?.find((t) => t.kind === kind);
    return (own ?? this.base?.find(name, kind)) as BtfTypeOfKind<K> | undefined;
  }

  private index(): Map<string, BtfType[]> {
    if (this.nameIndex === undefined) {
      const index = new Map<string, BtfType[]>();
      for (const type of this.own) {
        if (type.name === "") continue;
        const list = index.get(type.name);
        if (list === undefined) index.set(type.name, [type]);
        else list.push(type);
      }
      this.nameIndex = index;
    }
    return this.nameIndex;
  }
}
