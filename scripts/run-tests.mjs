#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner. Node 20's `--test DIR`
// would also run the support modules next to the tests, and it has no glob support, so the files are listed
// here. Extra arguments are passed to node (e.g. --test-name-pattern).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

const files = testFiles("dist/test").sort();
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...process.argv.slice(2), ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
