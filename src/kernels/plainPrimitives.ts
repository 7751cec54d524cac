/**
 * The step's inner loops in plain TypeScript: the readable specification of each routine of
 * `StepPrimitives`, and the implementation used where WebAssembly SIMD is unavailable.
 */
import { fillColumnsFromSaved, fillFromSaved, MT_SAVED_LENGTH } from "../random/mt19937.js";
import { gumbelBound, type StepPrimitives, type Workspace, type WorkspaceShape } from "./primitives.js";

function allocate(shape: WorkspaceShape): Workspace {
  const { N, rows, blocks } = shape;
  const chunk = rows * N;
  return {
    y: new Float32Array(chunk),
    u: new Uint32Array(Math.max(chunk, N)),
    surv: new Int32Array(chunk),
    cmax: new Float32Array(N),
    ref: new Float32Array(N),
    acc: new Float64Array(N),
    skip: new Int32Array(N),
    A: new Float32Array(N),
    Bb: new Float32Array(N),
    thr: new Float32Array(N),
    blockSum: new Float64Array(blocks * N),
    blockRef: new Float32Array(blocks * N),
    mtState: new Int32Array(MT_SAVED_LENGTH),
  };
}

function fits(ws: Workspace, shape: WorkspaceShape): boolean {
  return (
    ws.y.length >= shape.rows * shape.N && ws.u.length >= shape.N && ws.cmax.length >= shape.N &&
    ws.blockSum.length >= shape.blocks * shape.N
  );
}

/** Creates the plain-TypeScript primitives (each instance keeps its own workspace). */
export function createPlainPrimitives(): StepPrimitives {
  let ws: Workspace | null = null;
  return {
    workspace(shape) {
      if (ws === null || !fits(ws, shape)) ws = allocate(shape);
      return ws;
    },
    mtFill(state, out, count) {
      fillFromSaved(state, out, count);
    },
    mtFillColumns(state, out, rows, N, n0, W) {
      fillColumnsFromSaved(state, out, rows, N, n0, W);
    },
    chunkMax(y, rows, N, out) {
      for (let n = 0; n < N; n++) {
        let m = -Infinity;
        for (let r = 0; r < rows; r++) {
          const v = y[r * N + n];
          if (v > m || v !== v) m = v;
          if (m !== m) break;
        }
        out[n] = m;
      }
    },
    raiseRef(cmax, ref, acc, N) {
      for (let n = 0; n < N; n++) {
        const c = cmax[n];
        if (c > ref[n] || c !== c) {
          if (acc[n] !== 0) acc[n] *= Math.exp(ref[n] - c);
          ref[n] = c;
        }
      }
    },
    expSum(y, rows, N, ref, acc, block) {
      for (let n = 0; n < N; n++) {
        const rf = ref[n];
        let s = 0;
        if (rf > -Infinity) {
          for (let r = 0; r < rows; r++) s += Math.exp(Math.fround(y[r * N + n] - rf));
        }
        acc[n] += s;
        if (block) block[n] = s;
      }
    },
    screen({ y, u, rows, N, A, Bb, thr, force, rowBase, slack, surv }) {
      let count = 0;
      for (let r = 0; r < rows; r++) {
        for (let n = 0; n < N; n++) {
          const i = r * N + n;
          const yA = y[i] + A[n];
          const ub = (yA > Bb[n] ? yA : Bb[n]) + slack + gumbelBound(u[i]);
          if (ub >= thr[n] || rowBase + r === force[n]) surv[count++] = i;
        }
      }
      return count;
    },
  };
}
