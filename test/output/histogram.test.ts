import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLog2Histogram } from "../../src/output/histogram.js";

test("log2 histograms are drawn as bcc's print_log2_hist draws them", () => {
  assert.equal(
    formatLog2Histogram([0n, 3n, 40n, 12n, 0n, 1n, 0n, 0n], "usecs"),
    [
      "     usecs               : count    distribution",
      "         0 -> 1          : 0        |                                        |",
      "         2 -> 3          : 3        |***                                     |",
      "         4 -> 7          : 40       |****************************************|",
      "         8 -> 15         : 12       |************                            |",
      "        16 -> 31         : 0        |                                        |",
      "        32 -> 63         : 1        |*                                       |",
      "",
    ].join("\n"),
  );
});

test("an empty histogram prints nothing; a wide one uses 20-digit columns and 20 stars", () => {
  assert.equal(formatLog2Histogram([0n, 0n]), "");
  const slots = new Array<bigint>(40).fill(0n);
  slots[35] = 2n;
  const lines = formatLog2Histogram(slots, "nsecs").split("\n");
  assert.equal(lines[0], `${" ".repeat(15)}nsecs${" ".repeat(24)} : count    distribution`);
  assert.equal(lines[36], `${"34359738368".padStart(20)} -> ${"68719476735".padEnd(20)} : 2        |${"*".repeat(20)}|`);
});
