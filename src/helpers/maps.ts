// Map helpers: the program side of every map operation. A map argument is the address of the map's
// region (what the loader put in the program's LDDW); values are returned as addresses inside it.

import type { BpfMap } from "../maps/bpf-map.js";
import type { AddressSpace } from "../vm/address-space.js";
import { VmError } from "../vm/errors.js";
import type { HelperContext, HelperRegistry } from "../vm/helpers.js";
import type { HelperEnvironment } from "./environment.js";
import { EINVAL } from "./errno.js";
import { HelperId } from "./ids.js";

/** A map as programs see it: its object and the address its region is registered at. */
export interface ProgramMap {
  readonly map: BpfMap;
  readonly address: bigint;
}

/** Finds the map whose region starts at an address (the map argument of a helper call). */
export type MapResolver = (address: bigint) => ProgramMap | undefined;

function mapArgument(resolve: MapResolver, address: bigint): ProgramMap {
  const found = resolve(address);
  if (!found) throw new VmError(`0x${address.toString(16)} is not a map`);
  return found;
}

function keyBytes(memory: AddressSpace, map: BpfMap, address: bigint): Uint8Array {
  return map.keySize === 0 ? new Uint8Array(0) : memory.bytes(address, map.keySize);
}

/** Kernel flags of bpf_for_each_map_elem: none are defined. */
const FOR_EACH_FLAGS = 0n;

export function registerMapHelpers(registry: HelperRegistry, env: HelperEnvironment, resolve: MapResolver, scratch: { address: bigint; bytes: Uint8Array }): HelperRegistry {
  const lookup = (mapAddress: bigint, key: bigint, ctx: HelperContext): bigint => {
    const { map, address } = mapArgument(resolve, mapAddress);
    const offset = map.progLookup(keyBytes(ctx.memory, map, key), 0, env.cpu());
    return offset < 0 ? 0n : address + BigInt(offset);
  };
  return registry
    .register(HelperId.mapLookupElem, "bpf_map_lookup_elem", (m, key, _r3, _r4, _r5, ctx) => lookup(m, key, ctx))
    .register(HelperId.mapUpdateElem, "bpf_map_update_elem", (m, key, value, flags, _r5, ctx) => {
      const { map } = mapArgument(resolve, m);
      return map.progUpdate(keyBytes(ctx.memory, map, key), 0, ctx.memory.bytes(value, map.valueSize), 0, Number(flags), env.cpu());
    })
    .register(HelperId.mapDeleteElem, "bpf_map_delete_elem", (m, key, _r3, _r4, _r5, ctx) => {
      const { map } = mapArgument(resolve, m);
      return map.progDelete(keyBytes(ctx.memory, map, key), 0, env.cpu());
    })
    .register(HelperId.mapPushElem, "bpf_map_push_elem", (m, value, flags, _r4, _r5, ctx) => {
      const { map } = mapArgument(resolve, m);
      return map.progPush(ctx.memory.bytes(value, map.valueSize), 0, Number(flags), env.cpu());
    })
    .register(HelperId.mapPopElem, "bpf_map_pop_elem", (m, value, _r3, _r4, _r5, ctx) => {
      const { map } = mapArgument(resolve, m);
      return map.progPop(ctx.memory.bytes(value, map.valueSize, true), 0, env.cpu());
    })
    .register(HelperId.mapPeekElem, "bpf_map_peek_elem", (m, value, _r3, _r4, _r5, ctx) => {
      const { map } = mapArgument(resolve, m);
      return map.progPeek(ctx.memory.bytes(value, map.valueSize, true), 0, env.cpu());
    })
    .register(HelperId.forEachMapElem, "bpf_for_each_map_elem", (m, callback, callbackCtx, flags, _r5, ctx) => {
      if (flags !== FOR_EACH_FLAGS) return EINVAL;
      const { map, address } = mapArgument(resolve, m);
      // The callback gets (map, &key, &value, ctx); keys live in a scratch region the loader registered.
      const key = scratch.bytes.subarray(0, map.keySize);
      const next = new Uint8Array(map.keySize);
      let visited = 0n;
      let previous: Uint8Array | null = null;
      while (map.getNextKey(previous, next) === 0) {
        key.set(next);
        previous = key.slice();
        const offset = map.progLookup(key, 0, env.cpu());
        if (offset < 0) continue;
        visited++;
        if (ctx.callFunction(callback, [address, scratch.address, address + BigInt(offset), callbackCtx]) !== 0n) break;
      }
      return visited;
    });
}
