/**
 * The serve tests' processes: a Redis (Debian's redis-server, on 127.0.0.1, a free port, a temporary
 * folder; never the system's service) and `vq-diffusion serve` / `worker` processes from dist/ (built
 * by `npm test` before vitest runs), each with its stderr kept as lines to wait on. Everything they
 * start is stopped by `stopAll`, SIGKILL after a bounded wait.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = new URL("../../dist/cli/bin.js", import.meta.url).pathname;

/** A started process and its stderr. */
export interface Child {
  readonly process: ChildProcess;
  /** stderr so far, split in lines. */
  readonly lines: string[];
  /** Resolves with the first line (so far or to come) matching `pattern`; rejects after `ms` or at exit. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

const children = new Set<ChildProcess>();
const folders: string[] = [];

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A temporary folder, removed by `stopAll`. */
export function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

function track(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (l: string) => void }[] = [];
  let rest = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => {
    children.delete(child);
    resolve(code ?? signal ?? -1);
  }));
  return {
    process: child,
    lines,
    exited,
    waitFor(pattern, ms = 60_000) {
      const found = lines.find((l) => pattern.test(l));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${ms} ms; stderr:\n${lines.join("\n")}`)), ms);
        const w = { pattern, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
        waiters.push(w);
        void exited.then((code) => {
          if (!waiters.includes(w)) return;
          clearTimeout(timer);
          reject(new Error(`exited (${code}) before a line matching ${pattern}; stderr:\n${lines.join("\n")}`));
        });
      });
    },
  };
}

/** Starts `vq-diffusion …args` (dist/cli/bin.js) with `env` added to this process's environment (an undefined value removes the variable). */
export function startCli(args: readonly string[], env: Record<string, string | undefined> = {}): Child {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return track(process.execPath, [BIN, ...args], merged);
}

/** A Redis on 127.0.0.1 that the tests start, stop and restart (its data kept in its folder across a restart). */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGTERM (Redis saves its data to the folder and exits), then waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (loading the saved data). */
  start(): Promise<void>;
}

/**
 * Starts redis-server (`which redis-server`; .ci/run installs Debian's) on a free port of 127.0.0.1,
 * in a temporary folder, saving on shutdown (`--save 3600 1`: a SIGTERM writes dump.rdb).
 */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = tempFolder("vqd-redis-");
  let child: Child;
  const start = async () => {
    child = track("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "3600 1", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning", "--logfile", ""], process.env);
    // redis-server logs to stdout; readiness is a successful connection.
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(true)));
        socket.once("error", () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not listen on 127.0.0.1:${port} within 10 s`);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    async stop() {
      child.process.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** SIGTERM every process still running (SIGKILL after 10 s), then removes the temporary folders. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
          c.once("exit", () => (clearTimeout(timer), resolve()));
          c.kill("SIGTERM");
        }),
    ),
  );
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}
