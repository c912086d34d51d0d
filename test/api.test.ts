// The package entry point exposes what the README shows, and the README's example works as written.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as api from "../src/index.js";

test("the README's library example returns 42", () => {
  const { assemble, Interpreter, HelperRegistry } = api;
  const helpers = new HelperRegistry().register(1, "my_helper", (r1) => r1 * 2n);
  const vm = new Interpreter(assemble("mov %r1, 21\ncall 1\nexit"), { helpers });
  assert.equal(vm.run(), 42n);
});

test("the entry point exports the assembler, disassembler, validator and interpreter", () => {
  for (const name of ["assemble", "disassemble", "validateProgram", "decodeProgram", "encodeProgram", "Interpreter", "runProgram", "VmError", "ValidationError"]) {
    assert.equal(typeof (api as Record<string, unknown>)[name], "function", name);
  }
});
