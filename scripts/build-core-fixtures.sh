#!/usr/bin/env bash
# Builds the CO-RE fixtures: examples/core/*.bpf.c -> *.bpf.o, and examples/core/target.btf, the raw BTF of
# target.bpf.o that the fixture programs are relocated against in tests (so that they do not depend on the
# running kernel's layout). The tests use the committed outputs and need no compiler.
#
#   scripts/build-core-fixtures.sh      # needs clang >= 15 (TYPE_MATCHES, ENUM64), llvm-strip, llvm-objcopy
#
# CLANG (default: clang-19 if installed, else clang) and LLVM_SUFFIX (default: the clang's version suffix,
# e.g. "-19") select the toolchain.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/examples/core"

if [[ -z "${CLANG:-}" ]]; then
  if command -v clang-19 >/dev/null; then CLANG=clang-19; else CLANG=clang; fi
fi
suffix="${LLVM_SUFFIX-${CLANG#clang}}"
strip="llvm-strip$suffix"
objcopy="llvm-objcopy$suffix"
command -v "$strip" >/dev/null || strip=llvm-strip
command -v "$objcopy" >/dev/null || objcopy=llvm-objcopy

major="$("$CLANG" -dumpversion | cut -d. -f1)"
if (( major < 15 )); then
  echo "error: $CLANG is version $major; the fixtures need clang >= 15 (bpf_core_type_matches, ENUM64)" >&2
  exit 1
fi

flags=(-target bpf -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu -I"$dir")
for src in "$dir"/*.bpf.c; do
  obj="${src%.c}.o"
  "$CLANG" "${flags[@]}" -c "$src" -o "$obj"
  # DWARF is not needed (BTF carries the types) and would only bloat the committed objects.
  "$strip" -g "$obj"
  echo "built ${obj#"$root"/}"
done

# The raw .BTF section is the same format as /sys/kernel/btf/vmlinux.
"$objcopy" --dump-section ".BTF=$dir/target.btf" "$dir/target.bpf.o" /dev/null
echo "built examples/core/target.btf"
