import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Btf } from "../../src/btf/btf.js";
import { dumpBtfC } from "../../src/btf/c-dump.js";
import { parseBtf } from "../../src/btf/parse.js";
import { memberBits } from "../../src/btf/resolve.js";
import { BtfBuilder } from "./btf-builder.js";
import { fixtureObject } from "./fixtures.js";

function synthetic(): Btf {
  const b = new BtfBuilder();
  const int = b.int("int", 4, 1);
  const char = b.int("char", 1, 1);
  const long = b.int("long", 8, 1);
  const node = b.composite("struct", "node", 16, [["next", 5, 0], ["value", int, 64]]);
  b.ref("ptr", node);
  // `l` sits 8 bytes later than C would put it: padding must say so.
  b.composite("struct", "gap", 32, [["c", char, 0], ["l", long, 128], ["tail", char, 192]]);
  b.composite("struct", "packed_s", 5, [["c", char, 0], ["i", int, 8]]);
  b.composite("union", "u", 4, [["i", int, 0], ["c", b.array(char, int, 4), 0]]);
  b.ref("typedef", b.composite("struct", "", 4, [["x", int, 0]]), "anon_t");
  b.composite("struct", "node", 4, [["only", int, 0]]);
  const later = b.ref("ptr", b.type("fwd", "later", 0, 0));
  const callback = b.ref("ptr", b.type("func_proto", "", 2, 0, [b.str(""), int, 0, 0]));
  const unprototyped = b.ref("ptr", b.type("func_proto", "", 1, long, [0, 0]));
  const anonEnum = b.enum("", 4, [["A", 0], ["B", 1]]);
  const bits = b.composite("struct", "", 4, [["a", int, 0, 3], ["b", int, 3, 5]], true);
  b.composite("struct", "holder", 48, [
    ["l", later, 0],
    ["cb", callback, 64],
    ["clock", unprototyped, 128],
    ["e", anonEnum, 192],
    ["bits", bits, 224],
    ["n", node, 256],
  ]);
  b.enum("", 4, [["CONST_ONE", 1], ["A", 7]]);
  b.enum("small", 1, [["S", 1]]);
  return parseBtf(b.build());
}

const SYNTHETIC_C = `struct node {
	struct node *next;
	int value;
};

struct gap {
	char c;
	char: 8;
	short: 16;
	int: 32;
	long: 64;
	long l;
	char tail;
};

struct packed_s {
	char c;
	int i;
} __attribute__((packed));

union u {
	int i;
	char c[4];
};

typedef struct {
	int x;
} anon_t;

struct node___2 {
	int only;
};

struct later;

struct holder {
	struct later *l;
	void (*cb)(int, ...);
	long (*clock)();
	enum {
		A = 0,
		B = 1,
	} e;
	struct {
		int a: 3;
		int b: 5;
	} bits;
	struct node n;
};

enum {
	CONST_ONE = 1,
	A___2 = 7,
};

enum small {
	S = 1,
} __attribute__((packed));

`;

test("C declarations: dependencies first, padding, packed, inline anonymous types, renamed clashes", () => {
  assert.equal(dumpBtfC(synthetic(), { header: false }), SYNTHETIC_C);
});

test("a full dump is wrapped like bpftool's vmlinux.h", () => {
  const text = dumpBtfC(fixtureObject("values.bpf.o").btf);
  assert.ok(text.startsWith("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
  assert.ok(text.endsWith("#endif /* __VMLINUX_H__ */\n"));
  assert.ok(text.includes("struct bits {\n\tunsigned int a: 3;\n\tunsigned int b: 5;\n\tint c: 4;\n\tunsigned long long d: 40;\n\t_Bool e: 1;\n};"));
  assert.ok(text.includes("enum level {\n\tLOW = 1,\n\tHIGH = 200,\n} __attribute__((packed));"));
});

/** _Static_asserts of the size and member offsets of every struct/union whose name no other tag shares. */
function layoutAsserts(btf: Btf): string {
  const tagCounts = new Map<string, number>();
  for (const t of btf.types) {
    if (t.name !== "" && ["struct", "union", "enum", "enum64"].includes(t.kind)) tagCounts.set(t.name, (tagCounts.get(t.name) ?? 0) + 1);
  }
  const lines: string[] = [];
  for (const t of btf.types) {
    if ((t.kind !== "struct" && t.kind !== "union") || t.name === "" || tagCounts.get(t.name) !== 1) continue;
    const tag = `${t.kind} ${t.name}`;
    lines.push(`_Static_assert(sizeof(${tag}) == ${t.size}, "sizeof ${tag}");`);
    for (const m of t.members) {
      if (m.name === "" || memberBits(btf, m).isBitfield) continue;
      lines.push(`_Static_assert(__builtin_offsetof(${tag}, ${m.name}) == ${m.bitOffset / 8}, "${tag}.${m.name}");`);
    }
  }
  return lines.join("\n");
}

let clang: string | false | undefined;
function clangSkip(): string | false {
  if (clang === undefined) {
    try {
      execFileSync("clang", ["--version"], { stdio: "ignore" });
      clang = false;
    } catch {
      clang = "clang is not installed (apt-get install -y clang)";
    }
  }
  return clang;
}

/** Compiles the dump plus layout assertions; returns how many assertions held. */
function compileWithAsserts(btf: Btf, target: string[]): number {
  const dir = mkdtempSync(join(tmpdir(), "btf-c-"));
  try {
    writeFileSync(join(dir, "types.h"), dumpBtfC(btf));
    const asserts = layoutAsserts(btf);
    writeFileSync(join(dir, "check.c"), `#include "types.h"\n${asserts}\n`);
    execFileSync("clang", [...target, "-fsyntax-only", "-Wno-everything", join(dir, "check.c")], { stdio: ["ignore", "ignore", "pipe"] });
    return asserts.split("\n").length;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    assert.fail(stderr.split("\n").slice(0, 8).join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the fixtures' C declarations compile for BPF with every size and offset right", { skip: clangSkip() }, () => {
  for (const name of ["values.bpf.o", "core.bpf.o"]) {
    assert.ok(compileWithAsserts(fixtureObject(name).btf, ["-target", "bpf"]) >= 5, name);
  }
  assert.ok(compileWithAsserts(synthetic(), ["-target", "bpf"]) > 10);
});

const VMLINUX = "/sys/kernel/btf/vmlinux";
test(
  "this kernel's vmlinux.h compiles, and on x86-64 every struct has the kernel's size and offsets",
  {
    skip: !existsSync(VMLINUX)
      ? `${VMLINUX} is absent`
      : process.arch !== "x64"
        ? `the layout check compiles for x86-64, this kernel is ${process.arch}`
        : clangSkip(),
  },
  (t) => {
    const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    // x86-64, not BPF: va_list and friends then have the kernel's own layout.
    const checked = compileWithAsserts(btf, ["-target", "x86_64-linux-gnu", "-DBPF_NO_PRESERVE_ACCESS_INDEX"]);
    t.diagnostic(`${checked} size/offset assertions held`);
    assert.ok(checked > 10_000);
  },
);
