// Function names in a mapped module turned into runtime addresses.
//
// Names are looked up in .symtab first (it also has static functions) and then in .dynsym. A name may carry a
// GNU version: `malloc@@GLIBC_2.2.5` asks for the default version, `memcpy@GLIBC_2.2.5` for that exact
// version, default or not; a bare name prefers the default version. The runtime address is the symbol's
// value moved by the module's load bias (0 for a non-PIE executable).
//
// STT_GNU_IFUNC symbols (libc's memcpy, strlen, ...) are reported with `ifunc: true` and the address of the
// *resolver*; the function that actually runs is what the resolver returns inside the target, which an
// injection session obtains by calling it there (InjectionSession.resolveFunction).

import { SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE, PT_LOAD } from "../elf/constants.js";
import type { ElfFile } from "../elf/file.js";
import { vaddrToFileOffset } from "../elf/segments.js";
import type { ElfSymbol } from "../elf/symbols.js";
import { alignDown, PAGE_SIZE } from "./address-gaps.js";
import { ProcessError } from "./errors.js";
import type { ProcessModule } from "./maps.js";

export interface SymbolMatch {
  symbol: ElfSymbol;
  table: ".symtab" | ".dynsym";
}

export interface ResolvedSymbol extends SymbolMatch {
  /** The name as asked for. */
  name: string;
  module: ProcessModule;
  /** Runtime address of the symbol: the function, or for an IFUNC its resolver. */
  address: bigint;
  ifunc: boolean;
  /** The symbol's offset in the file (what kernel uprobes are given), when a PT_LOAD segment covers it. */
  fileOffset: number | undefined;
}

interface NameSpec {
  base: string;
  version?: string;
  /** `@@VER`: only the default version will do. */
  defaultOnly: boolean;
}

function parseName(name: string): NameSpec {
  const at = name.indexOf("@");
  if (at < 0) return { base: name, defaultOnly: false };
  const defaultOnly = name[at + 1] === "@";
  return { base: name.slice(0, at), version: name.slice(at + (defaultOnly ? 2 : 1)), defaultOnly };
}

const CODE_TYPES = new Set([STT_FUNC, STT_GNU_IFUNC, STT_NOTYPE]);

function isDefinedCode(symbol: ElfSymbol): boolean {
  return symbol.sectionIndex !== SHN_UNDEF && CODE_TYPES.has(symbol.type) && symbol.name !== "";
}

/** The version a symbol carries: from .gnu.version for .dynsym, from an `@`/`@@` suffix in .symtab names. */
function symbolVersion(symbol: ElfSymbol): { base: string; version?: string; isDefault: boolean } {
  if (symbol.version !== undefined) return { base: symbol.name, version: symbol.version.name, isDefault: !symbol.version.hidden };
  const spec = parseName(symbol.name);
  if (spec.version === undefined) return { base: spec.base, isDefault: true };
  return { base: spec.base, version: spec.version, isDefault: spec.defaultOnly };
}

function matches(symbol: ElfSymbol, spec: NameSpec): boolean {
  const version = symbolVersion(symbol);
  if (version.base !== spec.base) return false;
  if (spec.version === undefined) return true;
  return version.version === spec.version && (!spec.defaultOnly || version.isDefault);
}

function describe(symbol: ElfSymbol): string {
  const version = symbolVersion(symbol);
  return version.version === undefined ? version.base : `${version.base}${version.isDefault ? "@@" : "@"}${version.version}`;
}

/** Among several definitions of one name, the one to use; throws when they are different functions. */
function pick(found: SymbolMatch[], name: string, file: string): SymbolMatch | undefined {
  if (found.length <= 1) return found[0];
  // Prefer what the dynamic linker would bind: default versions, then non-local symbols.
  const ranked = [...found].sort((a, b) => rank(a.symbol) - rank(b.symbol));
  const best = ranked.filter((m) => rank(m.symbol) === rank(ranked[0]!.symbol));
  const addresses = new Set(best.map((m) => m.symbol.value));
  if (addresses.size === 1) return best[0];
  const list = best.map((m) => `${describe(m.symbol)} at 0x${m.symbol.value.toString(16)}`).join(", ");
  throw new ProcessError("PROC_SYMBOL_AMBIGUOUS", `${name} names several functions in ${file}: ${list}`);
}

function rank(symbol: ElfSymbol): number {
  return (symbolVersion(symbol).isDefault ? 0 : 2) + (symbol.bind === STB_LOCAL ? 1 : 0);
}

/** Finds a function symbol by (possibly versioned) name: .symtab first, then .dynsym. */
export function findFunctionSymbol(elf: ElfFile, name: string, file = "the file"): SymbolMatch | undefined {
  const spec = parseName(name);
  const tables: [SymbolMatch["table"], readonly ElfSymbol[]][] = [
    [".symtab", elf.symbols()],
    [".dynsym", elf.dynamicSymbols()],
  ];
  for (const [table, symbols] of tables) {
    const found = symbols.filter((s) => isDefinedCode(s) && matches(s, spec)).map((symbol) => ({ symbol, table }));
    const chosen = pick(found, name, file);
    if (chosen !== undefined) return chosen;
  }
  return undefined;
}

/**
 * How far the module was moved from the addresses its file was linked at. The mapping holding the first
 * PT_LOAD segment's page starts at bias + that segment's page-aligned vaddr.
 */
export function loadBias(elf: ElfFile, module: ProcessModule): bigint {
  const first = elf.segments.find((s) => s.type === PT_LOAD);
  if (first === undefined) throw new ProcessError("PROC_NOT_LOADED", `${module.path} has no loadable segment`);
  const pageOffset = alignDown(BigInt(first.offset), PAGE_SIZE);
  const mapping = module.mappings.find((m) => m.offset === pageOffset) ?? module.mappings[0];
  return (mapping?.start ?? module.base) - alignDown(BigInt(first.vaddr), PAGE_SIZE);
}

/** Runtime address of link-time address `vaddr` of the module. */
export function runtimeAddress(elf: ElfFile, module: ProcessModule, vaddr: number | bigint): bigint {
  return loadBias(elf, module) + BigInt(vaddr);
}

function notFound(elf: ElfFile, module: ProcessModule, name: string): ProcessError {
  const spec = parseName(name);
  const stripped = elf.symbols().length === 0;
  if (spec.version !== undefined) {
    const others = [...elf.symbols(), ...elf.dynamicSymbols()].filter((s) => isDefinedCode(s) && symbolVersion(s).base === spec.base).map(describe);
    if (others.length > 0) {
      return new ProcessError("PROC_SYMBOL_NOT_FOUND", `${name} is not in ${module.path} (it has ${[...new Set(others)].join(", ")})`);
    }
  }
  const hint = stripped ? " (the file is stripped: it has no .symtab, and its .dynsym does not export the name)" : "";
  return new ProcessError("PROC_SYMBOL_NOT_FOUND", `no function ${name} in ${module.path}${hint}`);
}

/** Resolves a function name in a mapped module; throws ProcessError PROC_SYMBOL_NOT_FOUND/AMBIGUOUS. */
export function resolveSymbol(elf: ElfFile, module: ProcessModule, name: string): ResolvedSymbol {
  const match = findFunctionSymbol(elf, name, module.path);
  if (match === undefined) throw notFound(elf, module, name);
  return {
    ...match,
    name,
    module,
    address: runtimeAddress(elf, module, match.symbol.value),
    ifunc: match.symbol.type === STT_GNU_IFUNC,
    fileOffset: vaddrToFileOffset(elf.segments, match.symbol.value),
  };
}
