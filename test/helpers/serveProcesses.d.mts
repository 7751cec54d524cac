/** Types of serveProcesses.mjs. */
import type { ChildProcess } from "node:child_process";

/** A started process and its stderr. */
export interface Child {
  readonly process: ChildProcess;
  /** stderr so far, split in lines. */
  readonly lines: string[];
  /** Resolves with the first line (so far or to come) matching `pattern`; rejects after `ms` (default 60 s) or at exit. */
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
}

/** A Redis on 127.0.0.1 that the tests start, stop and restart (its data kept in its folder across a restart). */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGTERM (Redis saves its data to the folder and exits), then waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder (loading the saved data). */
  start(): Promise<void>;
  /** Deletes the saved data (while stopped): the next start is a Redis that lost everything. */
  wipe(): void;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number>;
/** A temporary folder, removed by `stopAll`. */
export function tempFolder(prefix: string): string;
/** Starts `vq-diffusion …args` (dist/cli/bin.js) with `env` added to this process's environment (an undefined value removes the variable). */
export function startCli(args: readonly string[], env?: Record<string, string | undefined>): Child;
/** Starts redis-server on a free port of 127.0.0.1 in a temporary folder, saving on shutdown. */
export function startRedis(): Promise<TestRedis>;
/** SIGTERM every process still running (SIGKILL after 10 s), then removes the temporary folders. */
export function stopAll(): Promise<void>;
