// The three families of relocation kinds: they differ in what the access string means and in how a
// candidate is matched.

import type { CoreReloKind } from "../btf/ext.js";

export type CoreReloFamily = "field" | "type" | "enumval";

export function reloFamily(kind: CoreReloKind): CoreReloFamily {
  switch (kind) {
    case "field_byte_offset":
    case "field_byte_size":
    case "field_exists":
    case "field_signed":
    case "field_lshift_u64":
    case "field_rshift_u64":
      return "field";
    case "type_id_local":
    case "type_id_target":
    case "type_exists":
    case "type_size":
    case "type_matches":
      return "type";
    case "enumval_exists":
    case "enumval_value":
      return "enumval";
  }
}

