/**
 * Step thread pools for the thread tests: real worker_threads pools of 1–4 threads (running the built
 * package, `dist/`, which `npm test` builds first), started once per test file and closed after it,
 * and an in-process fake worker that answers each posted task as the test says.
 */
import { afterAll } from "vitest";
import { createNodeStepThreadPool } from "../../dist/node.js";
import type { StepThreadPool, StepWorkerEvent, StepWorkerLike } from "../../src/index.js";
import type { GuidanceTask } from "../../src/kernels/threads/guidanceTask.js";
import type { StepTask } from "../../src/kernels/threads/stepTask.js";

/** Starts pools of 1, 2, 3 and 4 threads (threads − 1 workers each), closed after the file's tests; returns the pool of a given size. */
export function testPools(): (threads: number) => StepThreadPool {
  const pools = new Map([2, 3, 4].map((threads) => [threads, createNodeStepThreadPool({ threads })]));
  const one = createNodeStepThreadPool({ threads: 1 });
  afterAll(async () => {
    await Promise.all([...pools.values(), one].map((p) => p.close()));
  });
  return (threads) => (threads === 1 ? one : pools.get(threads)!) as unknown as StepThreadPool;
}

/** What a fake worker does with a posted task: `emit` a message or an error event, or nothing. */
export type FakeAnswer = (task: StepTask | GuidanceTask, emit: (type: "message" | "error", event: StepWorkerEvent) => void) => void;

/** A worker that answers each posted task with `answer`, on a later macrotask (default: never answers). */
export function fakeWorker(answer: FakeAnswer = () => {}): StepWorkerLike {
  const listeners: Record<string, ((event: StepWorkerEvent) => void)[]> = { message: [], error: [] };
  const emit = (type: "message" | "error", event: StepWorkerEvent) => listeners[type].forEach((l) => l(event));
  return {
    postMessage: (task) => setTimeout(() => answer(task as StepTask | GuidanceTask, emit), 0),
    addEventListener: (type, listener) => listeners[type].push(listener),
    terminate: () => undefined,
  };
}
