/**
 * The serve tests' (and bench/serve.mjs') processes: a Redis (Debian's redis-server, on 127.0.0.1, a free port, a temporary
 * folder; never the system's service) and `vq-diffusion serve` / `worker` processes from dist/ (built
 * by `npm test` before vitest runs), each with its stderr kept as lines to wait on. Everything they
 * start is stopped by `stopAll`, SIGKILL after a bounded wait.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = new URL("../../dist/cli/bin.js", import.meta.url).pathname;

const children = new Set();
const folders = [];

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

/** A temporary folder, removed by `stopAll`. */
export function tempFolder(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

function track(command, args, env) {
  const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  const lines = [];
  const waiters = [];
  let rest = "";
  child.stderr.setEncoding("utf8").on("data", (text) => {
    const parts = (rest + text).split("\n");
    rest = parts.pop();
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
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
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
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${ms} ms; stderr:\n${lines.join("\n")}`)), ms);
        const w = { pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) };
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
export function startCli(args, env = {}) {
  const merged = { ...process.env, ...env };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return track(process.execPath, [BIN, ...args], merged);
}

/**
 * Starts redis-server (`which redis-server`; .ci/run installs Debian's) on a free port of 127.0.0.1,
 * in a temporary folder, saving on shutdown (`--save 3600 1`: a SIGTERM writes dump.rdb).
 */
export async function startRedis() {
  const port = await freePort();
  const dir = tempFolder("vqd-redis-");
  let child;
  const start = async () => {
    child = track("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "3600 1", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning", "--logfile", ""], process.env);
    // redis-server logs to stdout; readiness is a successful connection.
    for (let i = 0; i < 200; i++) {
      const up = await new Promise((resolve) => {
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
    wipe() {
      rmSync(join(dir, "dump.rdb"), { force: true });
    },
  };
}

/** SIGTERM every process still running (SIGKILL after 10 s), then removes the temporary folders. */
export async function stopAll() {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => c.kill("SIGKILL"), 10_000);
          c.once("exit", () => (clearTimeout(timer), resolve()));
          c.kill("SIGTERM");
        }),
    ),
  );
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
}
