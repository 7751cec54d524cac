/**
 * What the page says about the backend that runs the model, when it is not the one chosen: WebGPU
 * chosen in a browser that gives no WebGPU adapter (or has no WebGPU at all) runs on WASM, and the page
 * says so where the user looks (not only onnxruntime's console warning). No DOM types: the tests call
 * it on plain values.
 */

/**
 * The notice for a load, or null when the chosen backend runs the model.
 *
 * @param chosen - the backend menu's value.
 * @param webgpu - what the browser gave: "none" (no `navigator.gpu`), "no-adapter" (`requestAdapter()`
 *   gave null), or "adapter".
 * @example
 * ```ts
 * backendNotice("webgpu", "no-adapter"); // "WebGPU was chosen, but this browser gave no WebGPU adapter: the model runs on WASM (slower)."
 * ```
 */
export function backendNotice(chosen: "wasm" | "webgpu", webgpu: "none" | "no-adapter" | "adapter"): string | null {
  if (chosen !== "webgpu" || webgpu === "adapter") return null;
  const why = webgpu === "none" ? "this browser has no WebGPU" : "this browser gave no WebGPU adapter";
  return `WebGPU was chosen, but ${why}: the model runs on WASM (slower).`;
}
