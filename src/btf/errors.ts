// Malformed or unusable BTF. One line naming what is wrong and where; the code is stable for callers.

export type BtfErrorCode =
  | "BTF_TRUNCATED"
  | "BTF_BAD_MAGIC"
  | "BTF_UNSUPPORTED"
  | "BTF_OUT_OF_BOUNDS"
  | "BTF_BAD_KIND"
  | "BTF_BAD_TYPE_ID"
  | "BTF_BAD_STRING"
  | "BTF_BAD_RECORD"
  | "BTF_NOT_SIZED"
  | "BTF_VALUE_TOO_SHORT";

export class BtfError extends Error {
  override name = "BtfError";
  constructor(
    readonly code: BtfErrorCode,
    message: string,
  ) {
    super(message);
  }
}
