/**
 * One thread's share of a split step, as a message: what the calling thread posts to a helper
 * (`StepTask`), what comes back (`StepReply`), and `runStepTask`, which every thread (the calling
 * one included) runs on its share. The big arrays are views of SharedArrayBuffers, which
 * `postMessage` shares instead of copying; everything else is a few numbers.
 *
 * Shapes: B images, K classes (the mask included), N pixels; `logp` (B, K − 1, N) float32,
 * `tokens` and `out` (B, N) int32.
 */
import type { PosteriorRows } from "../../posterior/pixelPosterior.js";
import { MT_SAVED_LENGTH, skipSaved } from "../../random/mt19937.js";
import { TorchGenerator } from "../../random/torchGenerator.js";
import { fastCategoricalUnit } from "../fastStep.js";
import { fusedGumbelRange, type FusedStepStats } from "../fusedStep.js";
import { createPlainPrimitives } from "../plainPrimitives.js";
import type { StepPrimitives } from "../primitives.js";
import type { PixelRange, StepProblem } from "../stepProblem.js";
import { stepWorkspace } from "../sweep.js";
import { createWasmPrimitives, kernelBytes } from "../wasm/wasmPrimitives.js";

/** How long a helper waits for rows of the model output before it gives up (ms). */
const ROWS_TIMEOUT_MS = 120_000;

/** A helper's share of one step. */
export interface StepTask {
  /** Matches the reply to the task. */
  readonly id: number;
  readonly mode: "reference" | "fast";
  /** The inner loops the calling thread uses (both give the same tokens; this keeps speeds alike). */
  readonly backend: "wasm" | "js";
  readonly B: number;
  readonly K: number;
  readonly N: number;
  readonly range: PixelRange;
  readonly posterior: PosteriorRows | null;
  /** The generator at the step's start (625 words). */
  readonly start: Int32Array;
  /** Model output, (B, K − 1, N), shared: the range's columns are readable up to `progress`. */
  readonly logp: Float32Array;
  /** x_t, (B, N). */
  readonly tokens: Int32Array;
  /** x_{t−1}, (B, N), shared: the helper writes its range's pixels. */
  readonly out: Int32Array;
  /**
   * Shared word 0: rows of the model output copied so far, counted over the whole batch
   * (b·(K − 1) + r); the calling thread raises it and notifies (Atomics). Null: all readable.
   */
  readonly progress: Int32Array | null;
}

/** What a helper sends back. */
export interface StepReply {
  readonly id: number;
  /** False when the range's model output failed the value check. */
  readonly ok: boolean;
  /** Fast mode: draws taken by each batch item's unit (see `fastCategoricalUnit`). */
  readonly draws: number[];
  readonly survivors: number;
  readonly nearTies: number;
  /** Set when the share threw: its message. */
  readonly error?: string;
}

/** The outcome of {@link runStepTask}. */
export interface StepShare {
  readonly ok: boolean;
  readonly draws: number[];
  readonly stats: FusedStepStats;
  /** Reference mode: the stream after the step (the start advanced by the step's draws). */
  readonly end: Int32Array;
}

/** The generator state `count` draws after `start` (a copy; `start` is not modified). */
export function stateAfter(start: Int32Array, count: number): Int32Array {
  const s = start.slice();
  skipSaved(s, count);
  return s;
}

/**
 * Runs one share: the reference step for the range's pixels of every batch item, or fast mode's unit
 * of each batch item with its generator placed at 2·(b·N + n0) draws after the start (as if no
 * earlier pixel had been rejected; the calling thread checks that).
 */
export function runStepTask(task: Omit<StepTask, "id" | "backend">, prims: StepPrimitives): StepShare {
  const { mode, B, K, N, range, posterior, start, logp, tokens, out, progress } = task;
  const awaitRows = progress === null ? undefined : (b: number, rows: number) => waitForRows(progress, b * (K - 1) + rows);
  const generator = new TorchGenerator();
  const p: StepProblem = { prims, logp, tokens, B, K, N, posterior, generator, awaitRows };
  const stats: FusedStepStats = { survivors: 0, nearTies: 0 };
  const end = new Int32Array(MT_SAVED_LENGTH);
  const draws: number[] = [];
  if (mode === "reference") {
    const ok = fusedGumbelRange(p, range, start, end, out, stats);
    return { ok, draws, stats, end };
  }
  const layout = stepWorkspace(p, true, range);
  for (let b = 0; b < B; b++) {
    generator.setState(stateAfter(start, 2 * (b * N + range.n0)));
    const d = fastCategoricalUnit(p, layout, b, generator, out);
    if (d < 0) return { ok: false, draws, stats, end };
    draws.push(d);
  }
  return { ok: true, draws, stats, end };
}

/** Blocks (a helper thread only: Atomics.wait) until `progress[0]` reaches `rows`. */
function waitForRows(progress: Int32Array, rows: number): void {
  const deadline = Date.now() + ROWS_TIMEOUT_MS;
  for (let seen = Atomics.load(progress, 0); seen < rows; seen = Atomics.load(progress, 0)) {
    if (Date.now() > deadline) throw new Error(`step worker: expected ${rows} rows of the model output within ${ROWS_TIMEOUT_MS} ms, got ${seen}`);
    Atomics.wait(progress, 0, seen, 1000);
  }
}

let wasm: StepPrimitives | null = null;
let wasmFailed = false;
let plain: StepPrimitives | null = null;

/**
 * A helper thread's inner loops for `backend`: its own WASM instance (compiled synchronously, which
 * workers may do), or plain TypeScript where WebAssembly SIMD does not load (the same tokens).
 */
export function helperPrimitives(backend: "wasm" | "js"): StepPrimitives {
  if (backend === "wasm" && !wasmFailed) {
    try {
      wasm ??= createWasmPrimitives(new WebAssembly.Module(kernelBytes()));
      return wasm;
    } catch {
      wasmFailed = true;
    }
  }
  plain ??= createPlainPrimitives();
  return plain;
}

/**
 * Answers one posted task on a helper thread (what `serveStepWorker` and the Node.js worker run).
 *
 * @example
 * ```ts
 * declare const task: StepTask;
 * const reply = answerStepTask(task); // post it back to the calling thread
 * ```
 */
export function answerStepTask(task: StepTask): StepReply {
  try {
    const share = runStepTask(task, helperPrimitives(task.backend));
    return { id: task.id, ok: share.ok, draws: share.draws, survivors: share.stats.survivors, nearTies: share.stats.nearTies };
  } catch (e) {
    return { id: task.id, ok: false, draws: [], survivors: 0, nearTies: 0, error: (e as Error)?.message ?? String(e) };
  }
}
