// Values of `.kconfig` externs, as libbpf supplies them: LINUX_KERNEL_VERSION from the running kernel's
// release, LINUX_HAS_* features, and CONFIG_* options from the kernel config (/proc/config.gz or
// /boot/config-<release>). Encoded by each extern's BTF type: bool, tristate enum, char, integer, string.

import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { gunzipSync } from "node:zlib";
import type { Btf } from "../btf/btf.js";
import { resolveType } from "../btf/resolve.js";
import { ObjectError } from "../object/errors.js";
import type { KconfigExtern, ObjectSpec } from "../object/spec.js";

export interface KconfigSource {
  /** The kernel release, e.g. "6.18.44-fc-v669" (default: the running kernel's). */
  readonly kernelRelease?: string;
  /** The text of a kernel config file (default: /proc/config.gz, then /boot/config-<release>). */
  readonly config?: string;
}

/** (major << 16) | (minor << 8) | patch, with the patch level capped at 255 as the kernel does. */
export function kernelVersionCode(kernelRelease: string): number {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(kernelRelease);
  if (!match) return 0;
  return (Number(match[1]) << 16) | (Number(match[2]) << 8) | Math.min(255, Number(match[3] ?? 0));
}

function readKernelConfig(kernelRelease: string): string | undefined {
  if (existsSync("/proc/config.gz")) return gunzipSync(readFileSync("/proc/config.gz")).toString("utf8");
  const boot = `/boot/config-${kernelRelease}`;
  return existsSync(boot) ? readFileSync(boot, "utf8") : undefined;
}

/** CONFIG_X=value lines; "# CONFIG_X is not set" means n. */
export function parseKernelConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set) values.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, "n");
  }
  return values;
}

/** Features of this runtime that programs test through LINUX_HAS_* externs. */
const FEATURES: ReadonlyMap<string, string> = new Map([
  ["LINUX_HAS_BPF_COOKIE", "y"],
  ["LINUX_HAS_SYSCALL_WRAPPER", "y"],
]);

function encode(btf: Btf, extern: KconfigExtern, raw: string, out: DataView): void {
  const type = resolveType(btf, extern.typeId);
  const fail = (why: string): never => {
    throw new ObjectError(`.kconfig extern ${extern.name}: value '${raw}' ${why}`, "OBJ_MALFORMED");
  };
  const tristate = raw === "y" ? 1 : raw === "m" ? 2 : raw === "n" ? 0 : undefined;
  if (type.kind === "int" && type.isBool) {
    if (tristate === undefined || tristate === 2) fail("is not a boolean (y/n)");
    out.setUint8(0, tristate!);
  } else if (type.kind === "enum" && type.name === "libbpf_tristate") {
    if (tristate === undefined) fail("is not a tristate (y/n/m)");
    out.setInt32(0, tristate!, true);
  } else if (type.kind === "int" && type.isChar && extern.size === 1) {
    out.setUint8(0, raw.charCodeAt(0));
  } else if (type.kind === "array") {
    const text = /^".*"$/.test(raw) ? raw.slice(1, -1) : fail("is not a string");
    const bytes = new TextEncoder().encode(text).subarray(0, extern.size - 1);
    new Uint8Array(out.buffer, out.byteOffset, extern.size).set(bytes);
  } else if (type.kind === "int" || type.kind === "enum") {
    if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(raw)) fail("is not a number");
    const value = BigInt.asUintN(64, BigInt(raw));
    for (let i = 0; i < extern.size; i++) out.setUint8(i, Number((value >> BigInt(8 * i)) & 0xffn));
  } else {
    fail(`cannot be stored in a ${type.kind}`);
  }
}

/** Writes every extern's value into `data` (the .kconfig map's value). Unresolved strong externs fail. */
export function fillKconfig(spec: ObjectSpec, data: Uint8Array, source: KconfigSource = {}): void {
  if (spec.kconfig.length === 0 || !spec.btf) return;
  const kernelRelease = source.kernelRelease ?? release();
  let config: Map<string, string> | undefined;
  const configValue = (name: string): string | undefined => {
    config ??= parseKernelConfig(source.config ?? readKernelConfig(kernelRelease) ?? "");
    return config.get(name);
  };
  for (const extern of spec.kconfig) {
    const view = new DataView(data.buffer, data.byteOffset + extern.offset, extern.size);
    if (extern.name === "LINUX_KERNEL_VERSION") {
      view.setUint32(0, kernelVersionCode(kernelRelease), true);
      continue;
    }
    const raw = FEATURES.get(extern.name) ?? (extern.name.startsWith("CONFIG_") ? configValue(extern.name) : undefined);
    if (raw === undefined) {
      if (extern.weak) continue; // an unresolved weak extern is 0, as in libbpf
      throw new ObjectError(`.kconfig extern ${extern.name} has no value on this system and is not declared __weak`, "OBJ_MALFORMED");
    }
    encode(spec.btf, extern, raw, view);
  }
}
