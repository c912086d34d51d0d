// The bpf() wrappers against the real kernel: maps with their errnos, program loading with the
// verifier log, and BPF_PROG_TEST_RUN.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { insn, lddw } from "../../src/isa/instruction.js";
import * as op from "../../src/isa/opcodes.js";
import { kernelBpfAvailable } from "../../src/native/bpf-available.js";
import { BpfCommand, BpfMapType, BpfUpdateFlag } from "../../src/native/bpf-constants.js";
import {
  BpfError,
  closeFd,
  createMap,
  loadProgram,
  loadProgramWithLog,
  mapDelete,
  mapGetNextKey,
  mapKeys,
  mapLookup,
  mapLookupOptional,
  mapUpdate,
  testRun,
} from "../../src/native/bpf-syscall.js";
import { Errno } from "../../src/native/syscall-error.js";
import { ProgType } from "../../src/object/section-names.js";

const availability = kernelBpfAvailable();
const skip = availability.ok ? false : availability.reason;

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  return bytes;
}

function u64(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  return bytes;
}

function readU64(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

/** Asserts that `fn` throws a BpfError with the given errno. */
function assertErrno(fn: () => unknown, errno: number, command: number): BpfError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BpfError, `expected a BpfError, got ${String(caught)}`);
  assert.equal(caught.errno, errno, caught.message);
  assert.equal(caught.command, command);
  return caught;
}

const openFds: number[] = [];
function track(fd: number): number {
  openFds.push(fd);
  return fd;
}
after(() => {
  for (const fd of openFds.splice(0)) closeFd(fd);
});

const returnConstant = (value: number) => [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, value), insn(op.OP_EXIT)];

describe("bpf() maps", { skip }, () => {
  test("a hash map: update, lookup, NOEXIST/EXIST, delete, get_next_key", () => {
    const fd = track(createMap({ type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2, name: "test_hash" }));
    assert.ok(fd >= 0);
    assertErrno(() => mapLookup(fd, u32(1), 8), Errno.ENOENT, BpfCommand.MAP_LOOKUP_ELEM);
    assert.equal(mapLookupOptional(fd, u32(1), 8), undefined);

    mapUpdate(fd, u32(1), u64(0x1122334455667788n));
    assert.equal(readU64(mapLookup(fd, u32(1), 8)), 0x1122334455667788n);

    assertErrno(() => mapUpdate(fd, u32(1), u64(5n), BpfUpdateFlag.NOEXIST), Errno.EEXIST, BpfCommand.MAP_UPDATE_ELEM);
    assertErrno(() => mapUpdate(fd, u32(2), u64(5n), BpfUpdateFlag.EXIST), Errno.ENOENT, BpfCommand.MAP_UPDATE_ELEM);
    mapUpdate(fd, u32(1), u64(6n), BpfUpdateFlag.EXIST);
    assert.equal(readU64(mapLookup(fd, u32(1), 8)), 6n);

    mapUpdate(fd, u32(2), u64(7n), BpfUpdateFlag.NOEXIST);
    // The map is full: a third key does not fit.
    assertErrno(() => mapUpdate(fd, u32(3), u64(8n)), Errno.E2BIG, BpfCommand.MAP_UPDATE_ELEM);

    const keys = mapKeys(fd, 4).map((k) => new DataView(k.buffer).getUint32(0, true));
    assert.deepEqual(keys.sort(), [1, 2]);
    const first = mapGetNextKey(fd, undefined, 4);
    const second = mapGetNextKey(fd, first, 4);
    assert.notDeepEqual(first, second);
    assertErrno(() => mapGetNextKey(fd, second, 4), Errno.ENOENT, BpfCommand.MAP_GET_NEXT_KEY);

    mapDelete(fd, u32(1));
    assertErrno(() => mapDelete(fd, u32(1)), Errno.ENOENT, BpfCommand.MAP_DELETE_ELEM);
    assert.deepEqual(mapKeys(fd, 4), [u32(2)]);
  });

  test("an array map: zero-filled elements, E2BIG past the end, no delete", () => {
    const fd = track(createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 3 }));
    assert.deepEqual(mapLookup(fd, u32(2), 16), new Uint8Array(16));
    const value = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    mapUpdate(fd, u32(2), value);
    assert.deepEqual(mapLookup(fd, u32(2), 16), value);
    assertErrno(() => mapLookup(fd, u32(3), 16), Errno.ENOENT, BpfCommand.MAP_LOOKUP_ELEM);
    assertErrno(() => mapUpdate(fd, u32(3), value), Errno.E2BIG, BpfCommand.MAP_UPDATE_ELEM);
    assertErrno(() => mapUpdate(fd, u32(0), value, BpfUpdateFlag.NOEXIST), Errno.EEXIST, BpfCommand.MAP_UPDATE_ELEM);
    assertErrno(() => mapDelete(fd, u32(0)), Errno.EINVAL, BpfCommand.MAP_DELETE_ELEM);
    assert.deepEqual(
      mapKeys(fd, 4).map((k) => new DataView(k.buffer).getUint32(0, true)),
      [0, 1, 2],
    );
  });

  test("invalid map attributes fail with EINVAL, and a bad name is refused before the call", () => {
    assertErrno(() => createMap({ type: BpfMapType.ARRAY, keySize: 8, valueSize: 8, maxEntries: 1 }), Errno.EINVAL, BpfCommand.MAP_CREATE);
    assert.throws(() => createMap({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: "has-a-dash" }), RangeError);
  });
});

describe("bpf() programs", { skip }, () => {
  test("a trivial XDP program loads and test-runs with its return value", () => {
    const fd = track(loadProgram({ type: ProgType.Xdp, insns: returnConstant(2), license: "GPL", name: "ret_two" }));
    const packet = Uint8Array.from({ length: 20 }, (_, i) => i);
    const run = testRun({ progFd: fd, dataIn: packet, repeat: 10 });
    assert.equal(run.retval, 2);
    assert.deepEqual(run.dataOut, packet);
    assert.ok(run.durationNs >= 0);
  });

  test("a SOCKET_FILTER program's retval is only 32 bits wide", () => {
    const program = [...lddw(0, 0x1122334455667788n), insn(op.OP_EXIT)];
    const fd = track(loadProgram({ type: ProgType.SocketFilter, insns: program, license: "GPL" }));
    assert.equal(testRun({ progFd: fd, dataIn: new Uint8Array(14) }).retval, 0x55667788);
  });

  test("a program can be given as encoded bytes, and log level 1 gives a log on success", () => {
    const bytes = new Uint8Array([0xb7, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const { fd, log } = loadProgramWithLog({ type: ProgType.Xdp, insns: bytes, license: "GPL", logLevel: 1 });
    track(fd);
    assert.match(log, /processed 2 insns/);
    assert.equal(testRun({ progFd: fd, dataIn: new Uint8Array(14) }).retval, 1);
  });

  test("a program the verifier rejects throws with the verifier log", () => {
    // r0 is never written before exit.
    const error = assertErrno(
      () => loadProgram({ type: ProgType.Xdp, insns: [insn(op.OP_EXIT)], license: "GPL" }),
      Errno.EACCES,
      BpfCommand.PROG_LOAD,
    );
    assert.match(error.log, /R0 !read_ok/);
    assert.match(error.message, /R0 !read_ok/);
  });

  test("a constant shift out of range is rejected with its reason", () => {
    const program = [insn(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, 0, 0, 0, 1), insn(op.BPF_ALU64 | op.BPF_LSH | op.BPF_K, 0, 0, 0, 64), insn(op.OP_EXIT)];
    const error = assertErrno(() => loadProgram({ type: ProgType.Xdp, insns: program, license: "GPL" }), Errno.EINVAL, BpfCommand.PROG_LOAD);
    assert.match(error.log, /invalid shift 64/);
  });

  test("a test run of a closed fd fails with EBADF", () => {
    const fd = loadProgram({ type: ProgType.Xdp, insns: returnConstant(2), license: "GPL" });
    closeFd(fd);
    assertErrno(() => testRun({ progFd: fd, dataIn: new Uint8Array(14) }), Errno.EBADF, BpfCommand.PROG_TEST_RUN);
  });
});

test("kernelBpfAvailable gives a reason whenever it says no", () => {
  const result = kernelBpfAvailable();
  if (!result.ok) assert.ok(result.reason.length > 0);
  assert.deepEqual(kernelBpfAvailable(), result);
});
