/**
 * Fast mode draws from the exact posterior (or softmax of the model output at t = 0): chi-square
 * goodness of fit, many pixels sharing one distribution, fixed seeds, both kernel backends.
 */
import { describe, expect, it } from "vitest";
import { TorchGenerator, VQDiffusionScheduler } from "../src/index.js";
import { fastCategoricalStep } from "../src/kernels/fastStep.js";
import { createPlainPrimitives } from "../src/kernels/plainPrimitives.js";
import type { StepPrimitives } from "../src/kernels/primitives.js";
import { createWasmPrimitives, kernelBytes } from "../src/kernels/wasm/wasmPrimitives.js";
import { posteriorPlain } from "../src/oracles/posteriorPlain.js";
import { stepProblem } from "./helpers/stepProblem.js";
import { computeLogSchedule } from "../src/schedule/logSchedule.js";
import { cumulativeLogs, oneStepLogs } from "../src/transitions/transitionRows.js";
import { chiSquareTest } from "./helpers/chiSquare.mjs";

const backends: [string, StepPrimitives][] = [
  ["wasm", createWasmPrimitives(new WebAssembly.Module(kernelBytes()))],
  ["js", createPlainPrimitives()],
];

/** Exact probabilities of x_{t−1} for one pixel (the plain posterior, softmax-normalised). */
function exactProbabilities(s: VQDiffusionScheduler, column: Float32Array, token: number, t: number): Float64Array {
  const K = s.numEmbed;
  const logits =
    t === 0
      ? Float64Array.from(column)
      : posteriorPlain(column, Int32Array.of(token), 1, K, 1, transitions(s, t));
  let m = -Infinity;
  for (const v of logits) m = Math.max(m, v);
  const p = logits.map((v) => Math.exp(v - m));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / z);
}

function transitions(s: VQDiffusionScheduler, t: number) {
  const schedule = computeLogSchedule(s.config);
  return { cumulativeAtT: cumulativeLogs(schedule, t), cumulativeAtS: cumulativeLogs(schedule, t - 1), stepSToT: oneStepLogs(schedule, t) };
}

const cases = [
  { K: 9, t: 0, token: 0, label: "t = 0 (softmax of the model output)" },
  { K: 9, t: 40, token: 8, label: "t = 40, x_t masked" },
  { K: 9, t: 40, token: 3, label: "t = 40, x_t = 3" },
  { K: 9, t: 99, token: 2, label: "t = 99, x_t = 2" },
  { K: 200, t: 70, token: 199, label: "K = 200 (13 blocks), x_t masked" },
  { K: 200, t: 70, token: 57, label: "K = 200, x_t = 57" },
  { K: 200, t: 1, token: 57, label: "K = 200, t = 1, x_t = 57 (x_t's class dominates)" },
  // A schedule with much uniform replacement (β̄ large), so the β terms carry real mass.
  { K: 9, t: 40, token: 8, label: "heavy-β schedule, x_t masked", replace: true },
  { K: 9, t: 40, token: 3, label: "heavy-β schedule, x_t = 3", replace: true },
  { K: 200, t: 60, token: 57, label: "heavy-β schedule, K = 200, x_t = 57", replace: true },
];
const HEAVY_BETA = { alphaCumStart: 0.9, alphaCumEnd: 0.1, gammaCumStart: 0.01, gammaCumEnd: 0.3 };

describe("fast mode: goodness of fit against the exact posterior", () => {
  for (const [name, prims] of backends) {
    for (const c of cases) {
      it(`${name}: ${c.label}`, () => {
        const N = 20000;
        const s = new VQDiffusionScheduler({ numVecClasses: c.K, ...(c.replace ? HEAVY_BETA : {}) });
        const g = new TorchGenerator().manualSeed(c.K * 1000 + c.t);
        const column = Float32Array.from(g.rand([c.K - 1]).data, (u, i) => (i % 5 === 4 ? -Infinity : u * 6 - 8));
        const logp = new Float32Array((c.K - 1) * N);
        for (let k = 0; k < c.K - 1; k++) logp.fill(column[k], k * N, (k + 1) * N);
        const tokens = new Int32Array(N).fill(c.token);
        const out = fastCategoricalStep(stepProblem(prims, logp, tokens, 1, c.K, N, c.t === 0 ? null : transitions(s, c.t), new TorchGenerator().manualSeed(c.t + 17)))!;
        const counts = new Float64Array(c.t === 0 ? c.K - 1 : c.K);
        for (const v of out) counts[v]++;
        const p = exactProbabilities(s, column, c.token, c.t);
        const test = chiSquareTest(counts, p);
        expect(test.df).toBeGreaterThan(0);
        expect(test.p).toBeGreaterThan(1e-3);
      });
    }
  }

  it("the scheduler's fast mode uses 2 draws per pixel (one 53-bit uniform) and checks its mode option", () => {
    const s = new VQDiffusionScheduler({ numVecClasses: 9 });
    const m = { data: new Float32Array(8 * 10).fill(Math.log(1 / 8)), dims: [1, 8, 10] };
    const x = { data: new Int32Array(10).fill(8), dims: [1, 10] };
    const g = new TorchGenerator().manualSeed(3);
    s.step(m, 50, x, { generator: g, mode: "fast" });
    const h = new TorchGenerator().manualSeed(3);
    h.rand([20]);
    expect(g.rand([3]).data).toEqual(h.rand([3]).data);
    expect(() => s.step(m, 50, x, { generator: g, mode: "quick" as never })).toThrow(
      new Error('options.mode: expected "reference" or "fast", got "quick"'),
    );
  });
});
