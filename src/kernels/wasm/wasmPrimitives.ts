/**
 * `StepPrimitives` backed by the WebAssembly SIMD module compiled from `assembly/kernels.ts`.
 * Workspace arrays are views into the module's memory; the routines receive their byte offsets.
 */
import { MT_SAVED_LENGTH } from "../../random/mt19937.js";
import type { StepPrimitives, Workspace, WorkspaceShape } from "../primitives.js";
import { KERNELS_WASM_BASE64 } from "./kernelsWasm.js";

interface KernelExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  mtFill(state: number, out: number, count: number): void;
  mtFillColumns(state: number, out: number, rows: number, N: number, n0: number, W: number): void;
  chunkMax(y: number, rows: number, N: number, out: number): void;
  raiseRef(cmax: number, ref: number, acc: number, N: number): void;
  expSum(y: number, rows: number, N: number, ref: number, acc: number, block: number, part: number): void;
  screen(
    y: number, u: number, rows: number, N: number, A: number, Bb: number, thr: number, force: number, rowBase: number,
    slack: number, surv: number,
  ): number;
}

/** The module's bytes. */
export function kernelBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the kernels from a compiled module (compile it with `new WebAssembly.Module(kernelBytes())`,
 * or asynchronously with `WebAssembly.compile`, which browsers require on their main thread).
 */
export function createWasmPrimitives(module: WebAssembly.Module): StepPrimitives {
  const k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  let ws: Workspace | null = null;
  let wsShape: WorkspaceShape | null = null;
  let wsBuffer: ArrayBuffer | null = null;
  let partOffset = 0;

  function allocate(shape: WorkspaceShape): Workspace {
    const { N, rows, blocks } = shape;
    const chunk = rows * N;
    const sizes = {
      y: chunk * 4, u: Math.max(chunk, N) * 4, surv: chunk * 4, cmax: N * 4, ref: N * 4, acc: N * 8,
      skip: N * 4, A: N * 4, Bb: N * 4, thr: N * 4, blockSum: blocks * N * 8, blockRef: blocks * N * 4,
      mtState: MT_SAVED_LENGTH * 4, part: N * 4,
    };
    const offsets: Record<string, number> = {};
    let at = (k.heapBase() + 15) & ~15;
    for (const [name, bytes] of Object.entries(sizes)) {
      offsets[name] = at;
      at += (bytes + 15) & ~15;
    }
    const need = at - k.memory.buffer.byteLength;
    if (need > 0) k.memory.grow(Math.ceil(need / 65536));
    const buf = k.memory.buffer;
    wsBuffer = buf;
    partOffset = offsets.part;
    return {
      y: new Float32Array(buf, offsets.y, chunk),
      u: new Uint32Array(buf, offsets.u, Math.max(chunk, N)),
      surv: new Int32Array(buf, offsets.surv, chunk),
      cmax: new Float32Array(buf, offsets.cmax, N),
      ref: new Float32Array(buf, offsets.ref, N),
      acc: new Float64Array(buf, offsets.acc, N),
      skip: new Int32Array(buf, offsets.skip, N),
      A: new Float32Array(buf, offsets.A, N),
      Bb: new Float32Array(buf, offsets.Bb, N),
      thr: new Float32Array(buf, offsets.thr, N),
      blockSum: new Float64Array(buf, offsets.blockSum, blocks * N),
      blockRef: new Float32Array(buf, offsets.blockRef, blocks * N),
      mtState: new Int32Array(buf, offsets.mtState, MT_SAVED_LENGTH),
    };
  }

  const p = (a: ArrayBufferView | null): number => (a === null ? 0 : a.byteOffset);
  return {
    workspace(shape) {
      const same =
        ws !== null && wsShape !== null && wsBuffer === k.memory.buffer &&
        wsShape.N === shape.N && wsShape.rows === shape.rows && wsShape.blocks === shape.blocks;
      if (!same) {
        ws = allocate(shape);
        wsShape = { ...shape };
      }
      return ws as Workspace;
    },
    mtFill: (state, out, count) => k.mtFill(p(state), p(out), count),
    mtFillColumns: (state, out, rows, N, n0, W) => k.mtFillColumns(p(state), p(out), rows, N, n0, W),
    chunkMax: (y, rows, N, out) => k.chunkMax(p(y), rows, N, p(out)),
    raiseRef: (cmax, ref, acc, N) => k.raiseRef(p(cmax), p(ref), p(acc), N),
    expSum: (y, rows, N, ref, acc, block) => k.expSum(p(y), rows, N, p(ref), p(acc), p(block), partOffset),
    screen: (c) => k.screen(p(c.y), p(c.u), c.rows, c.N, p(c.A), p(c.Bb), p(c.thr), p(c.force), c.rowBase, c.slack, p(c.surv)),
  };
}
