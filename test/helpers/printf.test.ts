import assert from "node:assert/strict";
import { test } from "node:test";
import { formatBpfPrintf, PrintfFormatError } from "../../src/helpers/printf.js";
import { formatTraceLine } from "../../src/helpers/trace.js";

const strings = new Map<bigint, string>([[0x1000n, "hello"]]);
const read = (a: bigint): string | undefined => strings.get(a);
const fmt = (f: string, ...args: bigint[]): string => formatBpfPrintf(f, args, read, 12);

test("integers: 32-bit without l, 64-bit with l/ll, signed and unsigned, hex", () => {
  assert.equal(fmt("%d %u %x %X", 0xffffffffn, 0xffffffffn, 255n, 255n), "-1 4294967295 ff FF");
  assert.equal(fmt("%d", 0x1_0000_0005n), "5"); // truncated to 32 bits, as the kernel does
  assert.equal(fmt("%lld %llu %lx", 0xffffffffffffffffn, 0xffffffffffffffffn, 0x1122334455667788n), "-1 18446744073709551615 1122334455667788");
  assert.equal(fmt("%ld %li", -5n, 7n), "-5 7");
});

test("flags and width", () => {
  assert.equal(fmt("[%5d][%-5d][%05d][%+d][% d]", 42n, 42n, -42n, 3n, 3n), "[   42][42   ][-0042][+3][ 3]");
  assert.equal(fmt("[%8s][%-8s]", 0x1000n, 0x1000n), "[   hello][hello   ]");
});

test("strings, chars, pointers, percent", () => {
  assert.equal(fmt("%s %c%c %% %p", 0x1000n, 0x41n, 0x42n, 0xdeadn), "hello AB % 000000000000dead");
  assert.equal(fmt("[%s]", 0x9999n), "[]"); // unreadable string: empty, like the kernel
  assert.equal(fmt("%px %pK", 1n, 2n), "0000000000000001 0000000000000002");
});

test("formats the kernel refuses", () => {
  assert.throws(() => fmt("%f", 1n), PrintfFormatError);
  assert.throws(() => fmt("%.2d", 1n), /unsupported conversion/);
  assert.throws(() => formatBpfPrintf("%d %d %d %d", [1n, 2n, 3n, 4n], read, 3), /more than 3 conversions/);
  assert.throws(() => fmt("abc %"), /ends inside a conversion/);
});

test("trace_pipe line layout", () => {
  const line = formatTraceLine({ timestampNs: 1_234_567_890_123n, pid: 42, tid: 43, cpu: 1, comm: "victim", text: "hi\n" });
  assert.equal(line, "          victim-43      [001] ....1  1234.567890: bpf_trace_printk: hi");
});
