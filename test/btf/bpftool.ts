// Whether bpftool can serve as an oracle on this machine.

import { execFileSync } from "node:child_process";

let available: boolean | undefined;

/** false when bpftool runs, else the reason to skip. */
export function bpftoolSkip(): string | false {
  if (available === undefined) {
    try {
      execFileSync("bpftool", ["version"], { stdio: "ignore" });
      available = true;
    } catch {
      available = false;
    }
  }
  return available ? false : "bpftool is not installed (apt-get install -y bpftool)";
}
