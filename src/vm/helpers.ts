// Helper functions callable from programs (`call N`), looked up by the kernel's helper id.

import type { AddressSpace } from "./address-space.js";

/** What a helper can reach besides its five arguments. */
export interface HelperContext {
  readonly memory: AddressSpace;
  /** Runs a bpf-to-bpf function (a code address from lddw src=4) with up to five arguments, e.g. for bpf_loop. */
  callFunction(address: bigint, args: readonly bigint[]): bigint;
  /** Slot index of the call instruction that invoked the helper. */
  readonly pc: number;
}

/**
 * A helper receives r1..r5 as unsigned 64-bit values and returns r0 (a number is taken as a signed
 * 64-bit integer, so `-1` means 0xffffffffffffffff). Throwing a VmError ends the run with that message.
 */
export type HelperFunction = (
  r1: bigint,
  r2: bigint,
  r3: bigint,
  r4: bigint,
  r5: bigint,
  context: HelperContext,
) => bigint | number;

export interface HelperDefinition {
  readonly id: number;
  readonly name: string;
  readonly fn: HelperFunction;
}

export class HelperRegistry {
  private readonly byId = new Map<number, HelperDefinition>();

  register(id: number, name: string, fn: HelperFunction): this {
    this.byId.set(id, { id, name, fn });
    return this;
  }

  get(id: number): HelperDefinition | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** A copy with this registry's helpers plus `other`'s (which win on conflicts). */
  merged(other: HelperRegistry): HelperRegistry {
    const out = new HelperRegistry();
    for (const h of [...this.byId.values(), ...other.byId.values()]) out.register(h.id, h.name, h.fn);
    return out;
  }

  [Symbol.iterator](): IterableIterator<HelperDefinition> {
    return this.byId.values();
  }
}
