// This machine's kernel BTF, parsed once per test process, or the reason it cannot be.

import { existsSync } from "node:fs";
import type { Btf } from "../../../src/btf/btf.js";
import { parseBtf } from "../../../src/btf/parse.js";
import { readBytes } from "./run.js";

export const VMLINUX_BTF = "/sys/kernel/btf/vmlinux";

export const vmlinuxSkip: string | false = existsSync(VMLINUX_BTF)
  ? false
  : `${VMLINUX_BTF} is absent (a kernel built without CONFIG_DEBUG_INFO_BTF)`;

let cached: Btf | undefined;

export function vmlinuxBtf(): Btf {
  cached ??= parseBtf(readBytes(VMLINUX_BTF));
  return cached;
}
