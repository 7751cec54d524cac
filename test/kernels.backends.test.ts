/**
 * The kernel backends: `setKernelBackend` switches between the WebAssembly SIMD loops and their
 * plain-TypeScript twins, `initKernels` compiles the WASM one, and both backends give the same tokens
 * and leave the generator at the same draw, in reference and fast mode, on the three kinds of
 * tokens of a chain (all masked, two thirds masked, all unmasked).
 */
import { afterEach, describe, expect, it } from "vitest";
import { initKernels, kernelBackend, setKernelBackend, TorchGenerator, VQDiffusionScheduler } from "../src/index.js";

const K = 257;
const N = 96;
const B = 2;

function inputs(kind: "masked" | "mixed" | "unmasked") {
  const g = new TorchGenerator().manualSeed(4);
  const u = g.rand([B * (K - 1) * N]).data;
  const data = new Float32Array(B * (K - 1) * N);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      let m = -Infinity;
      for (let c = 0; c < K - 1; c++) m = Math.max(m, 8 * u[(b * (K - 1) + c) * N + n]);
      let z = 0;
      for (let c = 0; c < K - 1; c++) z += Math.exp(8 * u[(b * (K - 1) + c) * N + n] - m);
      for (let c = 0; c < K - 1; c++) data[(b * (K - 1) + c) * N + n] = 8 * u[(b * (K - 1) + c) * N + n] - m - Math.log(z);
    }
  }
  const tokens = new Int32Array(B * N).map((_, i) =>
    kind === "masked" ? K - 1 : kind === "mixed" ? (i % 3 === 0 ? (i * 7) % (K - 1) : K - 1) : (2654435761 * i) % (K - 1),
  );
  return { modelOutput: { data, dims: [B, K - 1, N] }, sample: { data: tokens, dims: [B, N] } };
}

afterEach(() => setKernelBackend("auto"));

describe("kernel backends", () => {
  it("kernelBackend loads nothing; initKernels compiles WebAssembly here; setKernelBackend switches what kernelBackend reports", async () => {
    expect(kernelBackend()).toBe("unloaded");
    setKernelBackend("js");
    expect(kernelBackend()).toBe("js");
    expect(await initKernels()).toBe("js");
    setKernelBackend("auto");
    expect(kernelBackend()).toBe("wasm");
    expect(await initKernels()).toBe("wasm");
    setKernelBackend("js");
    expect(kernelBackend()).toBe("js");
    setKernelBackend("wasm");
    expect(kernelBackend()).toBe("wasm");
    setKernelBackend("auto");
    expect(kernelBackend()).toBe("wasm");
    expect(() => setKernelBackend("gpu" as never)).toThrow('backend: expected "auto", "wasm" or "js", got "gpu"');
  });

  for (const kind of ["masked", "mixed", "unmasked"] as const) {
    for (const mode of ["reference", "fast"] as const) {
      it(`${mode} mode, ${kind} tokens: WASM and plain TypeScript give the same tokens and the same next draw`, () => {
        const s = new VQDiffusionScheduler({ numVecClasses: K });
        const { modelOutput, sample } = inputs(kind);
        const run = (backend: "wasm" | "js") => {
          setKernelBackend(backend);
          expect(kernelBackend()).toBe(backend);
          const g = new TorchGenerator().manualSeed(11);
          const out = [30, 1, 0].map((t) => Array.from(s.step(modelOutput, t, sample, { generator: g, mode }).prevSample.data));
          return { out, next: g.rand([1]).data[0] };
        };
        const wasm = run("wasm");
        const js = run("js");
        expect(js.out).toEqual(wasm.out);
        expect(js.next).toBe(wasm.next);
      });
    }
  }
});
