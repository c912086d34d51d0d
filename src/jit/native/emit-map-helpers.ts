// The map helpers programs call (bpf_map_lookup_elem, _update_elem, _delete_elem, _push_elem, _pop_elem,
// _peek_elem): each reads the map type from the region header and goes to that type's routine, returning
// what the TypeScript BpfMap subclass's prog* method returns for it. Types the native library does not
// implement (LPM trie) answer as a map without that operation would: NULL or -ENOTSUPP.
//
//   map_lookup_elem(rdi map, rsi key) -> rax value pointer or 0
//   map_update_elem(rdi map, rsi key, rdx value, rcx flags) -> rax 0 or -errno
//   map_delete_elem(rdi map, rsi key) -> rax
//   map_push_elem(rdi map, rsi value, rdx flags), map_pop_elem / map_peek_elem(rdi map, rsi value) -> rax

import { Errno } from "../../maps/errno.js";
import { Header } from "../../maps/header.js";
import { MapType } from "../../maps/map-types.js";
import { Cond } from "../x64/assembler/conditions.js";
import { RAX, RDI } from "../x64/assembler/registers.js";
import type { Asm } from "./asm.js";
import { M } from "./asm.js";

/** Map types the native library has no routine for; programs using them must run on the interpreter. */
export const NATIVE_UNSUPPORTED_MAP_TYPES: readonly number[] = [MapType.LPM_TRIE];

type Route = readonly [types: readonly number[], target: string | number];

/**
 * A dispatcher: compares the header's type with each route's types in order (the common types first) and
 * tail-jumps to the routine, or returns the route's constant. `otherwise` is returned for any other type.
 */
function dispatcher(a: Asm, name: string, routes: readonly Route[], otherwise: number): void {
  a.fn(name);
  a.ld(32, RAX, M(RDI, Header.type));
  const constants: { label: ReturnType<Asm["label"]>; value: number }[] = [];
  for (const [types, target] of routes) {
    for (const type of types) {
      a.cmpi(RAX, type, 32);
      if (typeof target === "string") {
        a.j(Cond.E, a.ref(target));
      } else {
        let entry = constants.find((c) => c.value === target);
        if (!entry) {
          entry = { label: a.label(), value: target };
          constants.push(entry);
        }
        a.j(Cond.E, entry.label);
      }
    }
  }
  a.li(RAX, otherwise);
  a.ret();
  for (const { label, value } of constants) {
    a.bind(label);
    a.li(RAX, value);
    a.ret();
  }
}

const HASHES = [MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH];
const ARRAYS = [MapType.ARRAY, MapType.PERCPU_ARRAY];
const QUEUES = [MapType.QUEUE, MapType.STACK];

export function emitMapHelpers(a: Asm): void {
  dispatcher(
    a,
    "map_lookup_elem",
    [
      [[MapType.ARRAY], "array_lookup"],
      [[MapType.HASH], "hash_lookup"],
      [[MapType.PERCPU_ARRAY], "array_lookup"],
      [[MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.HASH_OF_MAPS], "hash_lookup"],
      [[MapType.ARRAY_OF_MAPS], "array_of_maps_lookup"],
    ],
    0,
  );
  dispatcher(
    a,
    "map_update_elem",
    [
      [ARRAYS, "array_update"],
      [HASHES, "hash_update"],
      [NATIVE_UNSUPPORTED_MAP_TYPES, -Errno.ENOTSUPP],
    ],
    -Errno.EINVAL,
  );
  dispatcher(
    a,
    "map_delete_elem",
    [
      [HASHES, "hash_delete"],
      [[MapType.BLOOM_FILTER], -Errno.EOPNOTSUPP],
      [NATIVE_UNSUPPORTED_MAP_TYPES, -Errno.ENOTSUPP],
    ],
    -Errno.EINVAL,
  );
  dispatcher(
    a,
    "map_push_elem",
    [
      [QUEUES, "queue_push"],
      [[MapType.BLOOM_FILTER], "bloom_push"],
    ],
    -Errno.EINVAL,
  );
  dispatcher(
    a,
    "map_pop_elem",
    [
      [QUEUES, "queue_pop"],
      [[MapType.BLOOM_FILTER], -Errno.EOPNOTSUPP],
    ],
    -Errno.EINVAL,
  );
  dispatcher(
    a,
    "map_peek_elem",
    [
      [QUEUES, "queue_peek"],
      [[MapType.BLOOM_FILTER], "bloom_peek"],
    ],
    -Errno.EINVAL,
  );
}
