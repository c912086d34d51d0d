// bpf_override_return in a uprobe: the hooked function is skipped and its caller sees the program's value.

import assert from "node:assert/strict";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../support/cli.js";
import { injectSkipReason, SessionVictims } from "./support.js";

const fixture = fileURLToPath(new URL("../../../test/fixtures/objects/override.bpf.o", import.meta.url));
const skip = injectSkipReason();
const victims = skip ? undefined : new SessionVictims();
after(() => victims?.remove());

test("bpf_override_return skips hot_function(7) and returns 1000 to its caller; other calls run", { skip }, () => {
  const r = runCli(["run", fixture, "--", victims!.overrideVictim()]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n").filter((l) => / -> /.test(l));
  assert.deepEqual(lines, ["5 -> 16 ran 1", "6 -> 19 ran 1", "7 -> 1000 ran 0", "8 -> 25 ran 1"]);
});
