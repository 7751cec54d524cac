// AssemblyScript source of the WebAssembly SIMD kernels behind the fused step
// (`src/kernels/primitives.ts` documents each routine; `src/kernels/plainPrimitives.ts` is the plain
// TypeScript version of each, which the tests compare these with). Compiled by `npm run build:wasm`
// into `src/kernels/wasm/kernelsWasm.ts`.
//
// Memory is managed by the caller: every pointer is a byte offset into this module's memory,
// above heapBase(). Per-pixel arrays are indexed by pixel n; chunk arrays by r * N + n.

import { exp4 } from "./exp4";

export function heapBase(): usize {
  return __heap_base;
}

// ---------------------------------------------------------------- MT19937 (state: 624 words, then the index)

const MT_N = 624;
const MT_M = 397;

// @ts-ignore: decorator
@inline function twistWord(s: usize, kk: i32, next: i32, far: i32): void {
  const y = (load<u32>(s + (<usize>kk << 2)) & 0x80000000) | (load<u32>(s + (<usize>next << 2)) & 0x7fffffff);
  store<u32>(s + (<usize>kk << 2), load<u32>(s + (<usize>far << 2)) ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0));
}

// @ts-ignore: decorator
@inline function twistVec(s: usize, kk: i32, far: i32): void {
  const a = v128.load(s + (<usize>kk << 2));
  const b = v128.load(s + (<usize>(kk + 1) << 2));
  const m = v128.load(s + (<usize>far << 2));
  const y = v128.or(v128.and(a, i32x4.splat(0x80000000)), v128.and(b, i32x4.splat(0x7fffffff)));
  const mag = v128.and(i32x4.sub(i32x4.splat(0), v128.and(y, i32x4.splat(1))), i32x4.splat(0x9908b0df));
  v128.store(s + (<usize>kk << 2), v128.xor(v128.xor(m, i32x4.shr_u(y, 1)), mag));
}

function twist(s: usize): void {
  let kk = 0;
  // kk < N - M reads words kk + 1 … kk + 4 and kk + M, all not yet rewritten.
  for (; kk + 4 <= MT_N - MT_M; kk += 4) twistVec(s, kk, kk + MT_M);
  for (; kk < MT_N - MT_M; kk++) twistWord(s, kk, kk + 1, kk + MT_M);
  // kk ≥ N - M reads word kk + M - N, rewritten at least 227 words earlier.
  for (; kk + 4 <= MT_N - 1; kk += 4) twistVec(s, kk, kk + MT_M - MT_N);
  for (; kk < MT_N - 1; kk++) twistWord(s, kk, kk + 1, kk + MT_M - MT_N);
  twistWord(s, MT_N - 1, 0, MT_M - 1);
}

/** Writes the next `count` tempered outputs to out[0 … count). */
export function mtFill(state: usize, out: usize, count: i32): void {
  let idx = load<i32>(state + (MT_N << 2));
  let o = 0;
  while (o < count) {
    if (idx >= MT_N) {
      twist(state);
      idx = 0;
    }
    const n = min(count - o, MT_N - idx);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      let y = v128.load(state + (<usize>(idx + i) << 2));
      y = v128.xor(y, i32x4.shr_u(y, 11));
      y = v128.xor(y, v128.and(i32x4.shl(y, 7), i32x4.splat(0x9d2c5680)));
      y = v128.xor(y, v128.and(i32x4.shl(y, 15), i32x4.splat(0xefc60000)));
      y = v128.xor(y, i32x4.shr_u(y, 18));
      v128.store(out + (<usize>(o + i) << 2), y);
    }
    for (; i < n; i++) {
      let y = load<u32>(state + (<usize>(idx + i) << 2));
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      store<u32>(out + (<usize>(o + i) << 2), y);
    }
    idx += n;
    o += n;
  }
  store<i32>(state + (MT_N << 2), idx);
}

/** Advances the stream in `state` by `count` outputs without producing them (twists only). */
function mtSkip(state: usize, count: i32): void {
  let idx = load<i32>(state + (MT_N << 2));
  while (count > 0) {
    if (idx >= MT_N) {
      twist(state);
      idx = 0;
    }
    const n = min(count, MT_N - idx);
    idx += n;
    count -= n;
  }
  store<i32>(state + (MT_N << 2), idx);
}

/**
 * The columns [n0, n0 + W) of the next `rows` rows of N outputs: out[r * W + j] = output r * N + n0 + j;
 * the stream advances by rows * N (one thread's share of a step split by pixels).
 */
export function mtFillColumns(state: usize, out: usize, rows: i32, N: i32, n0: i32, W: i32): void {
  if (n0 == 0 && W == N) {
    mtFill(state, out, rows * N);
    return;
  }
  for (let r = 0; r < rows; r++) {
    mtSkip(state, n0);
    mtFill(state, out + (<usize>(r * W) << 2), W);
    mtSkip(state, N - n0 - W);
  }
}

// ---------------------------------------------------------------- max and exp-sum passes

/** out[n] = max over rows of y[r * N + n] (NaN propagates). Row by row: every access is sequential. */
export function chunkMax(y: usize, rows: i32, N: i32, out: usize): void {
  const first = N & ~3;
  memory.copy(out, y, <usize>N << 2);
  for (let r = 1; r < rows; r++) {
    const row = y + (<usize>(r * N) << 2);
    for (let n = 0; n < first; n += 4) {
      const o = out + (<usize>n << 2);
      v128.store(o, f32x4.max(v128.load(o), v128.load(row + (<usize>n << 2))));
    }
    for (let n = first; n < N; n++) {
      const o = out + (<usize>n << 2);
      const v = load<f32>(row + (<usize>n << 2));
      const m = load<f32>(o);
      store<f32>(o, v != v || v > m ? v : m);
    }
  }
}

/** Where cmax[n] > ref[n] (or is NaN): acc[n] *= exp(ref[n] - cmax[n]) (float64), ref[n] = cmax[n]. */
export function raiseRef(cmax: usize, ref: usize, acc: usize, N: i32): void {
  for (let n = 0; n < N; n++) {
    const c = load<f32>(cmax + (<usize>n << 2));
    const r = load<f32>(ref + (<usize>n << 2));
    if (c > r || c != c) {
      const a = load<f64>(acc + (<usize>n << 3));
      store<f64>(acc + (<usize>n << 3), a == 0 ? 0 : a * Math.exp(<f64>r - <f64>c));
      store<f32>(ref + (<usize>n << 2), c);
    }
  }
}

/**
 * acc[n] += Σ_r exp(y[r * N + n] − ref[n]) (entries of −inf contribute 0, and so does a pixel whose
 * ref is −inf). Row by row, the chunk's sums kept in float32 at part[0 … N) (a chunk has few rows),
 * then added to the float64 acc. When block ≠ 0, block[n] receives this chunk's sum.
 */
export function expSum(y: usize, rows: i32, N: i32, ref: usize, acc: usize, block: usize, part: usize): void {
  const first = N & ~3;
  const lowest = f32x4.splat(-3.4028234663852886e38);
  memory.fill(part, 0, <usize>N << 2);
  for (let r = 0; r < rows; r++) {
    const row = y + (<usize>(r * N) << 2);
    for (let n = 0; n < first; n += 4) {
      const shift = f32x4.pmax(v128.load(ref + (<usize>n << 2)), lowest);
      const o = part + (<usize>n << 2);
      v128.store(o, f32x4.add(v128.load(o), exp4(f32x4.sub(v128.load(row + (<usize>n << 2)), shift))));
    }
    for (let n = first; n < N; n++) {
      const shift = max(load<f32>(ref + (<usize>n << 2)), <f32>-3.4028234663852886e38);
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(row + (<usize>n << 2)) - shift)), 0);
      store<f32>(part + (<usize>n << 2), load<f32>(part + (<usize>n << 2)) + e);
    }
  }
  for (let n = 0; n < N; n++) {
    const s = <f64>load<f32>(part + (<usize>n << 2));
    store<f64>(acc + (<usize>n << 3), load<f64>(acc + (<usize>n << 3)) + s);
    if (block) store<f64>(block + (<usize>n << 3), s);
  }
}

// ---------------------------------------------------------------- Gumbel screen

/**
 * Marks the candidates that may beat thr[n]: with m = u & 0xFFFFFF and e = ⌊log2(2^24 − m)⌋ − 24,
 *   ub = max(y + A[n], Bb[n]) + slack − e·ln2  ≥  the candidate's noised logit,
 * because g(u) = −log(−log u) ≤ −log(1 − u) ≤ −e·ln2. Rows equal to force[n] always pass. Writes the
 * flat indices r * N + n of the passing candidates to surv and returns their count.
 */
export function screen(
  y: usize, u: usize, rows: i32, N: i32, A: usize, Bb: usize, thr: usize, force: usize, rowBase: i32, slack: f32, surv: usize,
): i32 {
  let count = 0;
  const ln2 = f32x4.splat(-0.6931471805599453);
  const sl = f32x4.splat(slack);
  for (let r = 0; r < rows; r++) {
    const row = i32x4.splat(rowBase + r);
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      const i = r * N + n;
      const m = v128.and(v128.load(u + (<usize>i << 2)), i32x4.splat(0xffffff));
      const f = f32x4.convert_i32x4_s(i32x4.sub(i32x4.splat(0x1000000), m));
      const e = i32x4.sub(i32x4.shr_u(f, 23), i32x4.splat(151));
      const g = f32x4.mul(f32x4.convert_i32x4_s(e), ln2);
      const v = f32x4.add(f32x4.add(f32x4.pmax(f32x4.add(v128.load(y + (<usize>i << 2)), v128.load(A + (<usize>n << 2))), v128.load(Bb + (<usize>n << 2))), sl), g);
      const pass = v128.or(f32x4.ge(v, v128.load(thr + (<usize>n << 2))), i32x4.eq(row, v128.load(force + (<usize>n << 2))));
      if (v128.any_true(pass)) {
        if (i32x4.extract_lane(pass, 0)) { store<i32>(surv + (<usize>count << 2), i); count++; }
        if (i32x4.extract_lane(pass, 1)) { store<i32>(surv + (<usize>count << 2), i + 1); count++; }
        if (i32x4.extract_lane(pass, 2)) { store<i32>(surv + (<usize>count << 2), i + 2); count++; }
        if (i32x4.extract_lane(pass, 3)) { store<i32>(surv + (<usize>count << 2), i + 3); count++; }
      }
    }
    for (; n < N; n++) {
      const i = r * N + n;
      const m = load<u32>(u + (<usize>i << 2)) & 0xffffff;
      const f = <f32>(<u32>0x1000000 - m);
      const e = <i32>(reinterpret<u32>(f) >>> 23) - 151;
      const yA = load<f32>(y + (<usize>i << 2)) + load<f32>(A + (<usize>n << 2));
      const b = load<f32>(Bb + (<usize>n << 2));
      const v = (yA > b ? yA : b) + slack + <f32>e * <f32>-0.6931471805599453;
      if (v >= load<f32>(thr + (<usize>n << 2)) || rowBase + r == load<i32>(force + (<usize>n << 2))) {
        store<i32>(surv + (<usize>count << 2), i);
        count++;
      }
    }
  }
  return count;
}
