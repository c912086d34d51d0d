// `bpftime load`, `start`, `attach` and `detach`: a session in the foreground, and the commands that put it
// into processes and take it out again.

import { InjectionSession } from "../inject/session.js";
import { attachTarget, prepareForAttach } from "../session/attach-target.js";
import { liveSessions, readTargetRecords, removeTargetRecord, writeTargetRecord, type SessionDescriptor } from "../session/descriptor.js";
import { detachTarget } from "../session/detach-target.js";
import { Session, sessionInTarget, sessionNotFound } from "../session/session.js";
import { exitStatus, parseCommandLine, UsageError } from "./errors.js";
import { intervalOption, REPORTING_OPTIONS, startReporting, type OutputOptions } from "./session-output.js";

export const LOAD_USAGE = `usage: bpftime load OBJ [--json] [--interval S] [--btf FILE]

Creates a session for OBJ and stays in the foreground as its user-space half: prints trace_printk lines,
ring/perf buffer events and (every --interval seconds, and at exit) the maps. Processes join it with
'bpftime start CMD' or 'bpftime attach PID'. Ctrl-C detaches everything and removes the session.`;

export const START_USAGE = `usage: bpftime start [--session ID] [--] CMD [ARGS...]
Runs CMD with the session's uprobes attached before its main; exits with CMD's status.`;

export const ATTACH_USAGE = `usage: bpftime attach PID [--session ID]
Injects the session's uprobes into the running process PID.`;

export const DETACH_USAGE = `usage: bpftime detach [PID] [--session ID]
Restores PID (or every process of the session) and lets it run unhooked.`;

function findSession(id: string | undefined): SessionDescriptor {
  const sessions = liveSessions();
  const found = id === undefined ? sessions[0] : sessions.find((s) => s.id === id);
  if (!found) throw id === undefined ? sessionNotFound() : new UsageError(`no running session '${id}' (running: ${sessions.map((s) => s.id).join(", ") || "none"})`, 1);
  return found;
}

export async function load(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: REPORTING_OPTIONS,
  });
  if (values.help) {
    process.stdout.write(LOAD_USAGE + "\n");
    return 0;
  }
  const object = positionals[0];
  if (object === undefined || positionals.length > 1) throw new UsageError(`expected one object file\n${LOAD_USAGE}`);
  const interval = intervalOption(values.interval);
  const session = Session.create(object, values.btf === undefined ? {} : { btf: values.btf });
  const out: OutputOptions = { json: values.json, write: (line) => process.stdout.write(line + "\n") };
  process.stderr.write(`bpftime: session ${session.descriptor.id} loaded ${object}; run 'bpftime start CMD' or 'bpftime attach PID', Ctrl-C to end\n`);
  const stop = startReporting(session, out, interval);
  await new Promise<void>((resolveStop) => {
    process.once("SIGINT", () => resolveStop());
    process.once("SIGTERM", () => resolveStop());
  });
  try {
    for (const record of readTargetRecords(session.descriptor.id)) {
      try {
        detachTarget(record);
      } catch (error) {
        process.stderr.write(`bpftime: detaching process ${record.pid}: ${(error as Error).message}\n`);
      }
      removeTargetRecord(session.descriptor.id, record.pid);
    }
    stop(true);
  } finally {
    session.close();
  }
  return 0;
}

export async function start(argv: string[]): Promise<number> {
  // The command's own options must reach it untouched, so only a leading --session ID and -- are ours.
  let rest = argv;
  let sessionId: string | undefined;
  if (rest[0] === "--help" || rest[0] === "-h") {
    process.stdout.write(START_USAGE + "\n");
    return 0;
  }
  if (rest[0] === "--session") {
    sessionId = rest[1];
    if (sessionId === undefined) throw new UsageError(`--session needs an id\n${START_USAGE}`);
    rest = rest.slice(2);
  }
  const command = rest[0] === "--" ? rest.slice(1) : rest;
  if (command.length === 0) throw new UsageError(`expected a command\n${START_USAGE}`);
  const descriptor = findSession(sessionId);
  const target = sessionInTarget(descriptor);
  const injection = InjectionSession.spawn(command, { stdio: "inherit" });
  const child = injection.child;
  let attached = false;
  try {
    writeTargetRecord(attachTarget(injection, target));
    attached = true;
  } finally {
    injection.detach();
    if (!attached) child?.kill("SIGKILL");
  }
  const status = await new Promise<number>((resolveExit) => {
    if (!child || child.exitCode !== null) resolveExit(child?.exitCode ?? 0);
    child?.once("exit", (code, signal) => resolveExit(exitStatus(code, signal)));
  });
  removeTargetRecord(descriptor.id, injection.pid);
  return status;
}

export async function attach(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: { session: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(ATTACH_USAGE + "\n");
    return 0;
  }
  const pid = Number(positionals[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError(`expected a process id\n${ATTACH_USAGE}`);
  const descriptor = findSession(values.session);
  if (readTargetRecords(descriptor.id).some((r) => r.pid === pid)) throw new UsageError(`process ${pid} is already attached to session ${descriptor.id}`, 1);
  const target = sessionInTarget(descriptor);
  const prepared = prepareForAttach(pid, target);
  const injection = InjectionSession.attach(pid);
  try {
    writeTargetRecord(attachTarget(injection, target, prepared));
  } finally {
    injection.detach();
  }
  const pause = injection.pauseReport();
  process.stderr.write(`bpftime: attached to process ${pid} (${pause.threads} threads, paused ${(pause.pauseMs ?? 0).toFixed(1)} ms)\n`);
  return 0;
}

export async function detach(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: { session: { type: "string" }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(DETACH_USAGE + "\n");
    return 0;
  }
  const pid = positionals[0] === undefined ? undefined : Number(positionals[0]);
  if (pid !== undefined && (!Number.isInteger(pid) || pid <= 0)) throw new UsageError(`expected a process id\n${DETACH_USAGE}`);
  const sessions = values.session === undefined ? liveSessions() : [findSession(values.session)];
  let detached = 0;
  for (const descriptor of sessions) {
    for (const record of readTargetRecords(descriptor.id)) {
      if (pid !== undefined && record.pid !== pid) continue;
      detachTarget(record);
      removeTargetRecord(descriptor.id, record.pid);
      detached++;
    }
  }
  if (pid !== undefined && detached === 0) throw new UsageError(`process ${pid} is not attached to any bpftime session`, 1);
  process.stderr.write(`bpftime: detached ${detached} process${detached === 1 ? "" : "es"}\n`);
  return 0;
}
