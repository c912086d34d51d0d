// `bpftime run OBJ -- CMD ARGS`: load + start in one command. The object's uprobes and uretprobes are in
// place before CMD's main runs; its reports print as they come, and its maps when CMD exits.

import type { ChildProcess } from "node:child_process";
import { InjectionSession } from "../inject/session.js";
import { attachTarget } from "../session/attach-target.js";
import { removeTargetRecord, writeTargetRecord } from "../session/descriptor.js";
import { Session } from "../session/session.js";
import { exitStatus, parseCommandLine, UsageError } from "./errors.js";
import { intervalOption, REPORTING_OPTIONS, startReporting, type OutputOptions } from "./session-output.js";

export const RUN_USAGE = `usage: bpftime run OBJ [--json] [--interval S] -- CMD [ARGS...]

Runs CMD with the uprobe/uretprobe programs of OBJ attached before its main, prints what they report
(trace_printk lines, ring/perf buffer events) and the maps when CMD exits.
  --json         every stdout line is one JSON object (trace, event, map); CMD's stdout goes to stderr
  --interval S   also print the maps every S seconds`;

export async function run(argv: string[]): Promise<number> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  const { values, positionals } = parseCommandLine({
    args: own,
    allowPositionals: true,
    options: REPORTING_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(RUN_USAGE + "\n");
    return 0;
  }
  const object = positionals[0];
  if (object === undefined || positionals.length > 1 || command.length === 0) throw new UsageError(`expected OBJ -- CMD\n${RUN_USAGE}`);
  const interval = intervalOption(values.interval);

  const session = Session.create(object, values.btf === undefined ? {} : { btf: values.btf });
  const out: OutputOptions = { json: values.json, write: (line) => process.stdout.write(line + "\n") };
  try {
    // Under --json the command's stdout goes to our stderr, so stdout holds only JSON lines.
    const injection = InjectionSession.spawn(command, { stdio: values.json ? ["inherit", 2, "inherit"] : ["inherit", "inherit", "inherit"] });
    const child = injection.child;
    let attached = false;
    try {
      writeTargetRecord(attachTarget(injection, session.target));
      attached = true;
    } finally {
      injection.detach();
      if (!attached) child?.kill("SIGKILL");
    }
    return await superviseChild(session, child, out, interval);
  } finally {
    removeTargetRecord(session.descriptor.id, process.pid);
    session.close();
  }
}

/** Prints reports until the child exits; then the last reports and the maps. Returns the child's status. */
async function superviseChild(session: Session, child: ChildProcess | undefined, out: OutputOptions, interval: number | undefined): Promise<number> {
  const exited = new Promise<number>((resolveExit) => {
    if (!child || child.exitCode !== null) resolveExit(child?.exitCode ?? 0);
    child?.once("exit", (code, signal) => resolveExit(exitStatus(code, signal)));
  });
  const stop = startReporting(session, out, interval);
  // Ctrl-C goes to the command (it shares our terminal); the maps print once it has exited.
  const forward = (signal: NodeJS.Signals): void => {
    child?.kill(signal);
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    return await exited;
  } finally {
    stop(true);
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}
