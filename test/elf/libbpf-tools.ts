// The executables of Debian's libbpf-tools package, each embedding one BPF object. Tests over them skip with
// this reason when the package is not installed.

import { execFileSync } from "node:child_process";

export interface LibbpfTools {
  paths: string[];
  skip: string | undefined;
}

export function libbpfTools(): LibbpfTools {
  let listing: string;
  try {
    listing = execFileSync("dpkg", ["-L", "libbpf-tools"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return { paths: [], skip: "Debian package libbpf-tools is not installed (apt-get install -y libbpf-tools)" };
  }
  const paths = listing
    .split("\n")
    .filter((line) => /^\/usr\/sbin\/[^/]+$/.test(line))
    .sort();
  return paths.length === 0
    ? { paths, skip: "libbpf-tools lists no executables in /usr/sbin" }
    : { paths, skip: undefined };
}
