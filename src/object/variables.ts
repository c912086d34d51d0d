// Setting global variables before load (libbpf's skeleton `rodata->x = ...`, cilium's VariableSpec.Set):
// the new value goes into the initial data of the variable's global-data map.

import { ObjectError } from "./errors.js";
import type { MapDefinition, ObjectSpec } from "./spec.js";

/** A value as bytes (exactly the variable's size) or as an integer stored little-endian in its size. */
export type VariableValue = bigint | Uint8Array;

function bytesOf(name: string, size: number, value: VariableValue): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new ObjectError(`variable '${name}' is ${size} bytes, the value given is ${value.length}`, "OBJ_NO_SUCH_VARIABLE");
    return value;
  }
  if (size > 8) throw new ObjectError(`variable '${name}' is ${size} bytes: give its value as bytes`, "OBJ_NO_SUCH_VARIABLE");
  const bits = BigInt(size * 8);
  if (value < -(1n << (bits - 1n)) || value >= 1n << bits) throw new ObjectError(`value ${value} does not fit variable '${name}' (${size} bytes)`, "OBJ_NO_SUCH_VARIABLE");
  const out = new Uint8Array(size);
  const unsigned = BigInt.asUintN(size * 8, value);
  for (let i = 0; i < size; i++) out[i] = Number((unsigned >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** A copy of `spec` whose global-data maps start with the given variable values. */
export function withVariables(spec: ObjectSpec, values: ReadonlyMap<string, VariableValue>): ObjectSpec {
  const maps: MapDefinition[] = [...spec.maps];
  for (const [name, value] of values) {
    const variable = spec.variables.find((v) => v.name === name);
    if (!variable) {
      throw new ObjectError(`no global variable '${name}' (the object has: ${spec.variables.map((v) => v.name).join(", ") || "none"})`, "OBJ_NO_SUCH_VARIABLE");
    }
    const map = maps[variable.mapIndex]!;
    const data = map.initialData!.slice();
    data.set(bytesOf(name, variable.size, value), variable.offset);
    maps[variable.mapIndex] = { ...map, initialData: data };
  }
  return { ...spec, maps };
}
