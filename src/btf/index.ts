// BTF: parsing (.BTF, split BTF, .BTF.ext), type questions, C spellings and dumps, and value formatting.
export { Btf } from "./btf.js";
export * from "./errors.js";
export * from "./types.js";
export { BTF_MAGIC, parseBtf, parseBtfHeader, type BtfHeader, type ParseBtfOptions } from "./parse.js";
export {
  CORE_RELO_KINDS,
  parseBtfExt,
  type BtfExt,
  type BtfExtSection,
  type CoreRelo,
  type CoreReloKind,
  type FuncInfo,
  type LineInfo,
} from "./ext.js";
export {
  BTF_POINTER_SIZE,
  enumeratorName,
  findMember,
  isPacked,
  memberBits,
  resolveType,
  resolveTypeId,
  skipModifiers,
  typeAlignment,
  typeSize,
  type FoundMember,
  type MemberBits,
} from "./resolve.js";
export { declare, typeName, type DeclareOptions } from "./type-name.js";
export { fixupDatasecs, type DatasecLayout } from "./datasec.js";
export { dumpBtfRaw } from "./raw-dump.js";
export { dumpBtfC, type CDumpOptions } from "./c-dump.js";
export { decodeBtfValue, type BitsMeaning, type BtfValue } from "./value.js";
export {
  btfBytesToJson,
  btfValueToJson,
  formatBtfValue,
  formatMapDump,
  mapEntryToJson,
  type BpftoolFlavor,
  type FormatOptions,
  type JsonValue,
  type MapDumpEntry,
  type MapDumpLayout,
} from "./format.js";
