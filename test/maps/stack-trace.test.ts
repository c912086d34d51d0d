// BPF_MAP_TYPE_STACK_TRACE: stack ids from bpf_get_stackid, the kernel's EEXIST / REUSE_STACKID rules,
// and the control plane's view (lookup, delete, get_next_key; no update).

import assert from "node:assert/strict";
import { test } from "node:test";
import { createMap, mapRegionSize } from "../../src/maps/create-map.js";
import { MapType } from "../../src/maps/map-types.js";
import { StackIdFlag, StackTraceMap } from "../../src/maps/stack-trace-map.js";
import { AddressSpace } from "../../src/vm/address-space.js";
import { HelperRegistry } from "../../src/vm/helpers.js";
import { Interpreter } from "../../src/vm/interpreter.js";
import { registerProbeHelpers } from "../../src/helpers/probe.js";
import { callbacksEnv } from "../support/helper-env.js";
import { lddw, insn } from "../../src/isa/instruction.js";

const spec = { type: MapType.STACK_TRACE, keySize: 4, valueSize: 8 * 4, maxEntries: 8, flags: 0, name: "stacks" };
const make = (): StackTraceMap => createMap(spec, new Uint8Array(mapRegionSize(spec))) as StackTraceMap;
const key = (id: number): Uint8Array => new Uint8Array(new Uint32Array([id]).buffer);

function stackOf(map: StackTraceMap, id: number): bigint[] {
  const value = new Uint8Array(32);
  assert.equal(map.lookupElem(key(id), value), 0);
  return Array.from(new BigUint64Array(value.buffer));
}

test("the same stack gets the same id; its ips come back zero-padded and cut to the value size", () => {
  const map = make();
  const id = map.storeStack([0x401000n, 0x402000n], 0);
  assert.ok(id >= 0 && id < 8);
  assert.equal(map.storeStack([0x401000n, 0x402000n], 0), id);
  assert.deepEqual(stackOf(map, id), [0x401000n, 0x402000n, 0n, 0n]);
  const deep = map.storeStack([1n, 2n, 3n, 4n, 5n, 6n], StackIdFlag.REUSE_STACKID);
  assert.deepEqual(stackOf(map, deep), [1n, 2n, 3n, 4n]);
});

test("a different stack in a taken bucket is -EEXIST unless BPF_F_REUSE_STACKID replaces it", () => {
  const map = make();
  const ids = new Map<number, bigint>();
  let collision: bigint | undefined;
  for (let ip = 1n; ip < 200n && collision === undefined; ip++) {
    const id = map.storeStack([ip], 0);
    if (id === -17) collision = ip;
    else ids.set(id, ip);
  }
  assert.ok(collision !== undefined, "eight buckets must collide within 200 stacks");
  const id = map.storeStack([collision], StackIdFlag.REUSE_STACKID);
  assert.ok(id >= 0);
  assert.deepEqual(stackOf(map, id)[0], collision);
});

test("control plane: get_next_key walks the stored ids, delete frees one, update is EINVAL; no stack is -EFAULT", () => {
  const map = make();
  const a = map.storeStack([10n], 0);
  const b = map.storeStack([20n, 30n], 0);
  const seen: number[] = [];
  const next = new Uint8Array(4);
  let previous: Uint8Array | null = null;
  while (map.getNextKey(previous, next) === 0) {
    previous = next.slice();
    seen.push(new DataView(previous.buffer).getUint32(0, true));
  }
  assert.deepEqual(seen.sort(), [a, b].sort());
  assert.equal(map.deleteElem(key(a)), 0);
  assert.equal(map.deleteElem(key(a)), -2);
  assert.equal(map.updateElem(key(b), new Uint8Array(32)), -22);
  assert.equal(map.storeStack([], 0), -14);
  assert.equal(map.storeStack([1n], 1 << 12), -22);
});

test("bpf_get_stackid in the interpreter stores the probe's stack, skipping frames as asked", () => {
  const map = make();
  const memory = new AddressSpace();
  const address = memory.add("stacks", map.region);
  const env = { ...callbacksEnv(), probe: () => ({ funcIp: 0n, cookie: 0n, args: [], stack: [0xa0n, 0xb0n, 0xc0n] }) };
  const helpers = registerProbeHelpers(new HelperRegistry(), env, (a) => (a === address ? { map, address } : undefined));
  const program = [insn(0xb7, 3, 0, 0, 1), ...lddw(2, address), insn(0x85, 0, 0, 0, 27), insn(0x95)];
  const id = Number(new Interpreter(program, { helpers, memory }).run());
  assert.deepEqual(stackOf(map, id), [0xb0n, 0xc0n, 0n, 0n]);
});
