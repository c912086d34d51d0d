// A child process for the fault guard's tests, which must not disturb the test runner's own signal
// handlers: `node fault-child.js <case>` installs the guard and then
//   crash:  faults outside the guard (a genuine crash must still kill the process with SIGSEGV)
//   chain:  had a handler of its own installed first; a fault outside the guard must reach it
// and prints what happened.

import koffi from "koffi";
import { loadCode, nativeFunction } from "../../../src/jit/executable-memory.js";
import { Asm, M } from "../../../src/jit/native/asm.js";
import { NativeRuntime } from "../../../src/jit/native/native-runtime.js";
import { SharedMemory } from "../../../src/jit/native/shared-memory.js";
import { syscall } from "../../../src/native/libc.js";

const UCONTEXT_RIP = 40 + 16 * 8;
const what = process.argv[2];
// `node --test dist/test/` also loads this file directly: only a named case does anything.
if (what === "crash" || what === "chain") runCase(what);

function runCase(what: string): void {
  const counter = SharedMemory.shared(4096);

  // fault(rdi address) -> rax: a 3-byte load (48 8b 07) that faults for a bad address.
  const code = new Asm();
  code.fn("fault");
  code.ld(64, 0, M(7));
  code.ret();
  // A SIGSEGV handler of "the application": counts, and skips the faulting 3-byte load with rax = 77.
  const handlerCode = new Asm();
  handlerCode.fn("app_handler");
  handlerCode.li(1, counter.address);
  handlerCode.li(0, 1);
  handlerCode.lockAdd(M(1), 0);
  handlerCode.ld(64, 0, M(2, UCONTEXT_RIP));
  handlerCode.addi(0, 3);
  handlerCode.st(64, M(2, UCONTEXT_RIP), 0);
  handlerCode.li(0, 77);
  handlerCode.st(64, M(2, 40 + 13 * 8), 0); // gregs[REG_RAX]
  handlerCode.ret();
  handlerCode.fn("restorer");
  handlerCode.li(0, 15);
  handlerCode.syscall();

  const faultCode = loadCode(code.bytes());
  const fault = nativeFunction(faultCode.address + BigInt(code.offsetOf("fault")), 1);

  if (what === "chain") {
    const handlers = loadCode(handlerCode.bytes());
    const action = counter.bytes(64, 32);
    const view = new DataView(action.buffer, action.byteOffset, 32);
    view.setBigUint64(0, handlers.address + BigInt(handlerCode.offsetOf("app_handler")), true);
    view.setBigUint64(8, BigInt(4 | 0x04000000), true); // SA_SIGINFO | SA_RESTORER
    view.setBigUint64(16, handlers.address + BigInt(handlerCode.offsetOf("restorer")), true);
    if (Number(syscall(13, "int", 11, "void *", counter.address + 64n, "void *", null, "unsigned long", 8)) !== 0) throw new Error("rt_sigaction");
  }

  const runtime = NativeRuntime.create({ faultGuard: "signal" });
  const scratch = SharedMemory.shared(4096);
  // The guard works: a bad probe read is -EFAULT.
  console.log(`probe_read: ${BigInt.asIntN(64, runtime.call("probe_read", scratch.address, 8n, 16n))}`);
  const result = fault(16n);
  console.log(`fault returned ${result}, handler ran ${new BigInt64Array(koffi.view(counter.address, 8))[0]} time(s)`);
}
