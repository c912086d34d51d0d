#!/usr/bin/env bash
# Builds the BTF test fixtures (test/fixtures/btf/*.bpf.c -> *.bpf.o) and, with --capture, records what the
# real kernel + bpftool print for them, so the tests can compare the formatter against bpftool without root.
#
#   scripts/build-btf-fixtures.sh            # compile only (needs clang, llvm-strip)
#   scripts/build-btf-fixtures.sh --capture  # also load values.bpf.o, run its fill program, dump its maps
#                                            # (needs root, bpftool, a kernel with BPF)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/test/fixtures/btf"
clang_flags=(-target bpf -O2 -g -Wall -Werror -I/usr/include/x86_64-linux-gnu)

for src in "$dir"/*.bpf.c; do
  obj="${src%.c}.o"
  clang "${clang_flags[@]}" -c "$src" -o "$obj"
  # DWARF is not needed (BTF carries the types) and would only bloat the committed objects.
  llvm-strip -g "$obj"
  echo "built ${obj#$root/}"
done

[[ "${1:-}" == "--capture" ]] || exit 0

# libbpf turns every "." of a pin path into "_", so the work directory must not contain one.
work="$(mktemp -d /tmp/btf_fixtures_XXXXXX)"
bpffs="$work/bpffs"
mkdir -p "$bpffs"
mount -t bpf bpf "$bpffs"
cleanup() {
  umount "$bpffs" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$bpffs/maps"
bpftool prog loadall "$dir/values.bpf.o" "$bpffs/progs" pinmaps "$bpffs/maps"
head -c 64 /dev/zero >"$work/packet"
bpftool prog run pinned "$bpffs/progs/fill" data_in "$work/packet" repeat 1 >/dev/null

out="$dir/captured"
rm -rf "$out"
mkdir -p "$out"
bpftool version >"$out/bpftool-version.txt"
for pin in "$bpffs"/maps/*; do
  name="$(basename "$pin")"
  bpftool map dump pinned "$pin" >"$out/$name.plain.txt"
  bpftool -j map dump pinned "$pin" >"$out/$name.json"
  echo "captured map $name"
done
bpftool btf dump file "$dir/values.bpf.o" >"$out/values.btf-raw.txt"
bpftool btf dump file "$dir/values.bpf.o" format c >"$out/values.btf-c.txt"
