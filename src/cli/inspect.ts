// `bpftime inspect OBJ`: what a BPF object holds (programs, maps, globals), as text or JSON.

import { typeName } from "../btf/type-name.js";
import { readObjectFile } from "../object/object-file.js";
import { DEFAULT_TARGET_BTF, relocatePrograms } from "../runtime/core-relocation.js";
import type { AttachTarget } from "../object/section-names.js";
import type { MapDefinition, ObjectSpec, ProgramSpec, VariableSpec } from "../object/spec.js";
import { mapTypeName, progTypeName } from "../object/type-names.js";
import { parseCommandLine, UsageError } from "./errors.js";
import { formatTable } from "./table.js";

export const INSPECT_USAGE = `usage: bpftime inspect OBJ [--json] [--btf FILE]

Shows the programs (section, kind, attach target, instruction count), maps (type, key/value sizes, max
entries, BTF types) and global variables of a BPF object, and resolves its CO-RE relocations. OBJ is a
.bpf.o file or a program that embeds one (such as Debian's libbpf-tools).
  --json       one JSON object instead of tables
  --btf FILE   resolve CO-RE against this BTF instead of ${DEFAULT_TARGET_BTF}`;

export interface CoreSummary {
  target: string;
  relocations: number;
  resolved: number;
  poisoned: string[];
}

export function coreSummary(spec: ObjectSpec, target: string | undefined): CoreSummary | undefined {
  const total = spec.programs.reduce((n, p) => n + p.coreRelocations.length, 0);
  if (total === 0) return undefined;
  const relocated = relocatePrograms(spec, target);
  const poisoned = [...relocated.values()].flatMap((r) => r.report?.poisoned.map((p) => p.message) ?? []);
  return { target: target ?? DEFAULT_TARGET_BTF, relocations: total, resolved: total - poisoned.length, poisoned };
}

export function describeAttach(target: AttachTarget | undefined): string {
  if (!target) return "-";
  switch (target.kind) {
    case "uprobe":
      return `${target.binary}:${target.func}${target.offset ? "+0x" + target.offset.toString(16) : ""}`;
    case "usdt":
      return `${target.binary}:${target.provider}:${target.name}`;
    case "tracepoint":
      return `${target.category}/${target.name}`;
    case "raw_tracepoint":
      return target.name;
    case "kprobe":
      return `${target.func}${target.offset ? "+0x" + target.offset.toString(16) : ""}`;
    case "ksyscall":
      return target.syscall;
    case "btf":
      return target.func;
  }
}

function btfTypeName(spec: ObjectSpec, id: number): string | undefined {
  return spec.btf && id !== 0 ? typeName(spec.btf, id) : undefined;
}

function programJson(program: ProgramSpec): Record<string, unknown> {
  return {
    name: program.name,
    section: program.section,
    kind: program.info.kind,
    type: progTypeName(program.info.progType),
    attach: program.info.attach ?? null,
    ...(program.attachError ? { attachError: program.attachError } : {}),
    userspace: program.info.userspace,
    autoload: program.info.autoload,
    sleepable: program.info.sleepable,
    instructions: program.insns.length,
    functions: program.functions.map((f) => f.name),
    coreRelocations: program.coreRelocations.length,
  };
}

function mapJson(spec: ObjectSpec, map: MapDefinition): Record<string, unknown> {
  return {
    name: map.name,
    kernelName: map.kernelName,
    type: mapTypeName(map.type),
    typeId: map.type,
    keySize: map.keySize,
    valueSize: map.valueSize,
    maxEntries: map.maxEntries,
    flags: map.flags,
    ...(map.extra ? { mapExtra: map.extra.toString() } : {}),
    ...(map.pinning ? { pinning: map.pinning } : {}),
    keyType: btfTypeName(spec, map.keyTypeId) ?? null,
    valueType: btfTypeName(spec, map.valueTypeId) ?? null,
    origin: map.origin,
    ...(map.innerMap ? { innerMap: mapJson(spec, map.innerMap) } : {}),
    ...(map.initialSlots.size ? { initialSlots: Object.fromEntries(map.initialSlots) } : {}),
  };
}

function variableJson(spec: ObjectSpec, variable: VariableSpec): Record<string, unknown> {
  return {
    name: variable.name,
    map: spec.maps[variable.mapIndex]?.name,
    offset: variable.offset,
    size: variable.size,
    type: btfTypeName(spec, variable.typeId) ?? null,
    readOnly: variable.readOnly,
  };
}

export function inspectJson(path: string, spec: ObjectSpec, embeddedAt: number | undefined, core: CoreSummary | undefined): Record<string, unknown> {
  return {
    path,
    ...(embeddedAt !== undefined ? { embeddedAt } : {}),
    name: spec.name,
    license: spec.license,
    btf: spec.btf !== undefined,
    programs: spec.programs.map(programJson),
    maps: spec.maps.map((m) => mapJson(spec, m)),
    globals: spec.variables.map((v) => variableJson(spec, v)),
    kconfig: spec.kconfig.map((k) => ({ name: k.name, offset: k.offset, size: k.size, weak: k.weak })),
    core: core ?? null,
  };
}

function inspectText(path: string, spec: ObjectSpec, embeddedAt: number | undefined, core: CoreSummary | undefined): string {
  const lines: string[] = [];
  const where = embeddedAt === undefined ? "" : ` (embedded at 0x${embeddedAt.toString(16)})`;
  lines.push(`${path}${where}: license "${spec.license}", ${spec.programs.length} programs, ${spec.maps.length} maps, ${spec.variables.length} globals${spec.btf ? "" : ", no BTF"}`);
  lines.push("", "programs:");
  lines.push(
    formatTable(
      ["name", "section", "kind", "attach", "insns", "userspace"],
      spec.programs.map((p) => [p.name, p.section, p.info.kind, p.attachError ? `invalid: ${p.attachError}` : describeAttach(p.info.attach), String(p.insns.length), p.info.userspace ? "yes" : "no"]),
      { indent: 2, alignRight: [4] },
    ),
  );
  lines.push("", "maps:");
  lines.push(
    formatTable(
      ["name", "type", "key", "value", "max_entries", "flags", "key type", "value type"],
      spec.maps.map((m) => [
        m.name,
        mapTypeName(m.type),
        String(m.keySize),
        String(m.valueSize),
        String(m.maxEntries),
        "0x" + m.flags.toString(16),
        btfTypeName(spec, m.keyTypeId) ?? "-",
        btfTypeName(spec, m.valueTypeId) ?? "-",
      ]),
      { indent: 2, alignRight: [2, 3, 4] },
    ),
  );
  if (spec.variables.length > 0) {
    lines.push("", "globals:");
    lines.push(
      formatTable(
        ["name", "map", "offset", "size", "type"],
        spec.variables.map((v) => [v.name, spec.maps[v.mapIndex]?.name ?? "?", String(v.offset), String(v.size), (btfTypeName(spec, v.typeId) ?? "-") + (v.readOnly ? " (read-only)" : "")]),
        { indent: 2, alignRight: [2, 3] },
      ),
    );
  }
  if (spec.kconfig.length > 0) lines.push("", "kconfig externs: " + spec.kconfig.map((k) => k.name + (k.weak ? " (weak)" : "")).join(", "));
  if (core) {
    lines.push("", `CO-RE: ${core.relocations} relocations against ${core.target}: ${core.resolved} resolved, ${core.poisoned.length} poisoned`);
    for (const message of core.poisoned) lines.push(`  poisoned: ${message}`);
  }
  return lines.join("\n") + "\n";
}

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: "boolean", default: false },
      btf: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(INSPECT_USAGE + "\n");
    return 0;
  }
  const path = positionals[0];
  if (path === undefined || positionals.length > 1) throw new UsageError(`expected one object file\n${INSPECT_USAGE}`);
  const object = readObjectFile(path);
  const core = coreSummary(object.spec, values.btf);
  process.stdout.write(values.json ? JSON.stringify(inspectJson(path, object.spec, object.embeddedAt, core)) + "\n" : inspectText(path, object.spec, object.embeddedAt, core));
  return 0;
}
