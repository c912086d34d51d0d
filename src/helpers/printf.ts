// The format language of bpf_trace_printk and bpf_snprintf, with the kernel's rules: conversions d i u
// x X c s p (px, pK), length modifiers l and ll, flags "0+- " and a width, and no precision. Without `l`
// an integer argument is 32 bits wide. A format the kernel would refuse gives a PrintfFormatError, which
// the helpers turn into -EINVAL.

export class PrintfFormatError extends Error {
  override name = "PrintfFormatError";
}

/** Reads a NUL-terminated string for %s; returns undefined where the kernel's probe read would fail. */
export type StringReader = (address: bigint) => string | undefined;

interface Spec {
  flags: string;
  width: number;
}

function pad(text: string, spec: Spec, numeric: boolean): string {
  if (text.length >= spec.width) return text;
  if (spec.flags.includes("-")) return text.padEnd(spec.width, " ");
  if (numeric && spec.flags.includes("0")) {
    const sign = /^[+\- ]/.test(text) ? text[0]! : "";
    return sign + text.slice(sign.length).padStart(spec.width - sign.length, "0");
  }
  return text.padStart(spec.width, " ");
}

function formatInteger(value: bigint, conversion: string, wide: boolean, spec: Spec): string {
  const bits = wide ? 64 : 32;
  const unsigned = BigInt.asUintN(bits, value);
  switch (conversion) {
    case "d":
    case "i": {
      const signed = BigInt.asIntN(bits, value);
      const sign = signed < 0n ? "-" : spec.flags.includes("+") ? "+" : spec.flags.includes(" ") ? " " : "";
      return sign + (signed < 0n ? -signed : signed).toString();
    }
    case "u":
      return unsigned.toString();
    case "x":
      return unsigned.toString(16);
    default: // "X"
      return unsigned.toString(16).toUpperCase();
  }
}

/**
 * Formats `format` with `args` (raw 64-bit argument registers or array slots). Throws PrintfFormatError
 * for a conversion the kernel rejects or for more conversions than `maxArgs`.
 */
export function formatBpfPrintf(format: string, args: readonly bigint[], readString: StringReader, maxArgs: number): string {
  let out = "";
  let used = 0;
  const nextArg = (): bigint => {
    if (used >= maxArgs) throw new PrintfFormatError(`the format has more than ${maxArgs} conversions`);
    return args[used++] ?? 0n;
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    i++;
    if (format[i] === "%") {
      out += "%";
      continue;
    }
    let flags = "";
    while (i < format.length && "0+- ".includes(format[i]!)) flags += format[i++];
    let width = 0;
    while (i < format.length && format[i]! >= "0" && format[i]! <= "9") width = width * 10 + Number(format[i++]);
    const spec: Spec = { flags, width };
    const conversion = format[i];
    if (conversion === undefined) throw new PrintfFormatError("the format ends inside a conversion");
    if (conversion === "s") {
      out += pad(readString(nextArg()) ?? "", spec, false);
      continue;
    }
    if (conversion === "c") {
      out += pad(String.fromCharCode(Number(nextArg() & 0xffn)), spec, false);
      continue;
    }
    if (conversion === "p") {
      // %p, %px and %pK all print the raw pointer here: there is no kernel address to hide in userspace.
      if (format[i + 1] === "x" || format[i + 1] === "K") i++;
      out += pad(BigInt.asUintN(64, nextArg()).toString(16).padStart(16, "0"), spec, false);
      continue;
    }
    let wide = false;
    if (format[i] === "l") {
      wide = true;
      i++;
      if (format[i] === "l") i++;
    }
    const integer = format[i];
    if (integer === undefined || !"diuxX".includes(integer)) {
      throw new PrintfFormatError(`unsupported conversion '%${format.slice(i - (wide ? 1 : 0), i + 1)}' at offset ${i}`);
    }
    out += pad(formatInteger(nextArg(), integer, wide, spec), spec, true);
  }
  return out;
}
