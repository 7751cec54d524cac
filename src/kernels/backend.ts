/**
 * Which implementation of the step's inner loops runs: WebAssembly SIMD where the platform has it,
 * plain TypeScript otherwise. Both give the same tokens; the choice only changes speed.
 *
 * Node.js and Web Workers compile the module synchronously on first use. A browser's main thread
 * refuses to compile modules over 4 KB synchronously: there, `await initKernels()` once before
 * sampling (until then the plain-TypeScript loops run).
 *
 * The choice is process-wide (as onnxruntime's `env` settings are), and deliberately so: both
 * implementations give the same tokens and leave the generator at the same draw, so no run can see
 * another's choice except in its speed. The compiled module is likewise shared (its workspace is
 * used by one synchronous step at a time).
 */
import { argumentError } from "../errors.js";
import { createPlainPrimitives } from "./plainPrimitives.js";
import type { StepPrimitives } from "./primitives.js";
import { createWasmPrimitives, kernelBytes } from "./wasm/wasmPrimitives.js";

/** `"wasm"`: WebAssembly SIMD; `"js"`: plain TypeScript; `"auto"`: WASM when it loads, else JS. */
export type KernelBackend = "auto" | "wasm" | "js";

let preference: KernelBackend = "auto";
let wasm: StepPrimitives | null = null;
let plain: StepPrimitives | null = null;
let wasmFailed = false;

function tryWasmSync(): StepPrimitives | null {
  if (wasm || wasmFailed) return wasm;
  try {
    const bytes = typeof WebAssembly === "object" ? kernelBytes() : null;
    if (bytes !== null && WebAssembly.validate(bytes)) wasm = createWasmPrimitives(new WebAssembly.Module(bytes));
    else wasmFailed = true;
  } catch {
    wasmFailed = true;
  }
  return wasm;
}

/** The primitives the scheduler's step uses now. */
export function stepPrimitives(): StepPrimitives {
  if (preference !== "js") {
    const w = tryWasmSync();
    if (w) return w;
    if (preference === "wasm") throw new Error("kernel backend: expected WebAssembly SIMD to load, got a platform without it");
  }
  plain ??= createPlainPrimitives();
  return plain;
}

/**
 * Chooses the implementation of the inner loops (default `"auto"`).
 *
 * @example
 * ```ts
 * setKernelBackend("js"); // plain TypeScript, e.g. to compare speeds
 * ```
 */
export function setKernelBackend(backend: KernelBackend): void {
  if (backend !== "auto" && backend !== "wasm" && backend !== "js") {
    throw argumentError("backend", '"auto", "wasm" or "js"', backend);
  }
  preference = backend;
}

/**
 * The implementation the next step uses, without loading anything: `"wasm"` or `"js"`, or
 * `"unloaded"` while WebAssembly is wanted but neither a step nor {@link initKernels} has tried to
 * compile it yet (the first step will).
 *
 * @example
 * ```ts
 * kernelBackend(); // "unloaded" before the first step in Node.js 20, then "wasm"
 * ```
 */
export function kernelBackend(): "wasm" | "js" | "unloaded" {
  if (preference === "js") return "js";
  if (wasm) return "wasm";
  return wasmFailed ? "js" : "unloaded";
}

/**
 * Compiles the WASM kernels asynchronously (what a browser's main thread needs); resolves to the
 * backend then in use.
 *
 * @example
 * ```ts
 * await initKernels(); // "wasm" where WebAssembly SIMD is available
 * ```
 */
export async function initKernels(): Promise<"wasm" | "js"> {
  if (!wasm && typeof WebAssembly === "object") {
    try {
      const bytes = kernelBytes();
      if (WebAssembly.validate(bytes)) {
        wasm = createWasmPrimitives(await WebAssembly.compile(bytes));
        wasmFailed = false;
      } else wasmFailed = true;
    } catch {
      wasmFailed = true;
    }
  } else if (!wasm) wasmFailed = true;
  return preference !== "js" && wasm ? "wasm" : "js";
}
